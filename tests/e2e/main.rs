//! End-to-end tests: each test starts the real server (`app::serve_on`) on
//! 127.0.0.1 port 0 and talks to it with real tonic clients: decisions,
//! effective instants, error details, health, reflection and hot reload.

// clippy.toml allows these inside `#[test]` functions only; the harness's
// helpers fail the test the same way, by panicking.
#![expect(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation is a failed test"
)]

mod batch;
mod charge_funding;
mod decision_log;
mod deployments;
mod health;
mod http;
mod invalid;
mod limits;
mod merchants;
mod metrics;
mod payment_link;
mod pki;
mod plan_change;
mod provenance;
mod readiness;
mod reflection;
mod reload;
mod support;
mod timing;
mod tls;
mod tls_serve;
