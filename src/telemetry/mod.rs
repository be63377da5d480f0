//! What the running server tells its operators: metrics and the admin HTTP
//! port (with the playground), and tracing (spans, W3C trace context, OTLP export).

pub mod admin;
pub mod classic;
pub mod metrics;
pub mod playground;
pub mod scrape;
pub mod trace;
