//! Tollgate: a stateless gRPC policy decision point for subscription billing
//! and payment flows. Tollgate decides; the caller executes.
//!
//! Dependencies point one way:
//! `main → app → {config, grpc, reload, telemetry, decision_log} → live → engine → bundle → domain`,
//! with the exact edges (the few between the middle modules included) in
//! `tests/architecture.rs`, which fails on any other.

pub mod app;
pub mod bundle;
pub mod config;
pub mod debounce;
pub mod decision_log;
pub mod domain;
pub mod engine;
pub mod grpc;
pub mod live;
pub mod loadgen;
pub mod reload;
pub mod telemetry;
