//! Dependencies point one way. Two checks, each naming the file and line of
//! every breach:
//!
//! - `crates`: the pure core (`domain/`, `bundle/`, `engine/`) uses no
//!   transport, runtime or watcher crate;
//! - `modules`: each top-level module under `src/` imports only the modules
//!   its row of `modules::ALLOWED` lists, so
//!   `main → app → {config, grpc, reload, telemetry, decision_log} → live →
//!   engine → bundle → domain` holds, with the few edges between the middle
//!   modules written down and explained.

// Test code fails by panicking, helpers outside `#[test]` functions included
// (clippy.toml only exempts the functions themselves). An `allow`, not an
// `expect`: which of these a helper needs changes with every edit.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod crates;
mod modules;
mod source;
