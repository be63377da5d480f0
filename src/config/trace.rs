//! The tracing flags: span export over OTLP.

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TraceArgs {}
