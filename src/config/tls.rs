//! The TLS flags: certificate, key, client CA and the caller policy.

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {}
