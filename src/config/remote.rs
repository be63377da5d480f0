//! The flags of a remote (HTTP) bundle source: polling, token, size limit, cache.

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RemoteArgs {}
