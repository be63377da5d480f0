//! Tollgate: a stateless gRPC policy decision point for subscription billing
//! and payment flows. Tollgate decides; the caller executes.
//!
//! Dependencies point one way:
//! `main → app → {grpc, decision_log, reload, config, telemetry} → engine → bundle → domain`.
//! The load generator is a binary of its own (`src/bin/tollgate-bench`) on
//! top of this library.

pub mod app;
pub mod bundle;
pub mod config;
pub mod decision_log;
pub mod domain;
pub mod engine;
pub mod grpc;
pub mod reload;
pub mod telemetry;
