//! End-to-end tests of the transport: each test starts the real server
//! (`app::serve_with`) on 127.0.0.1 port 0 and talks to it with real tonic
//! clients: request conversion, each decision arriving intact, status codes
//! and error details, streaming, reflection, health, reload, TLS, limits,
//! metrics, the decision log and provenance. What a bundle decides is tested
//! by its own tests and `tests/cases/`, not here.

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
mod connections;
mod conversion;
mod decision_log;
mod declared_metrics;
mod deployments;
mod health;
mod http;
mod invalid;
mod limits;
mod locale;
mod merchants;
mod metrics;
mod payment_link;
mod pki;
mod plan_change;
mod precondition;
mod provenance;
mod readiness;
mod reflection;
mod reload;
mod shadow;
mod signing;
mod support;
mod tls;
mod tls_serve;
