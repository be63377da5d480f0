//! The admin HTTP port's flags: metrics, health and readiness.

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AdminArgs {}
