//! Tollgate: a stateless gRPC policy decision point for subscription billing
//! and payment flows. Tollgate decides; the caller executes.
//!
//! Dependencies point one way:
//! `main → app → {config, grpc, reload, telemetry, decision_log} → live → engine → bundle → domain`,
//! with the exact edges (the few between the middle modules included) in
//! `tests/architecture/modules.rs`, which fails on any other. The load
//! generator is a binary of its own (`src/bin/tollgate-bench`) on top of
//! this library.

pub mod app;
pub mod bundle;
pub mod config;
pub mod debounce;
pub mod decision_log;
pub mod domain;
pub mod engine;
pub mod grpc;
pub mod live;
pub mod reload;
pub mod telemetry;
