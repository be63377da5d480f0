//! The TLS flags: certificate, key, client CA and the caller policy. Every
//! file is read and checked here, before anything binds.

use std::path::PathBuf;

use crate::grpc::{TlsFiles, TlsSettings, callers::CallerPolicy};

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Serve gRPC over TLS with this PEM certificate chain, leaf first
    /// (needs --tls-key). Re-read when it changes; open connections stay.
    #[arg(
        long,
        value_name = "PATH",
        requires = "tls_key",
        env = "TOLLGATE_TLS_CERT"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        value_name = "PATH",
        requires = "tls_cert",
        env = "TOLLGATE_TLS_KEY"
    )]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate signed by a CA
    /// in this PEM file (needs --tls-cert and --tls-key). Re-read when it
    /// changes.
    #[arg(
        long,
        value_name = "PATH",
        requires = "tls_cert",
        env = "TOLLGATE_CLIENT_CA"
    )]
    pub client_ca: Option<PathBuf>,
    /// A YAML file mapping client-certificate identities (SAN URI or DNS
    /// name) to the RPCs they may call (needs --client-ca). Without it,
    /// every client with a valid certificate may call every RPC.
    #[arg(
        long,
        value_name = "PATH",
        requires = "client_ca",
        env = "TOLLGATE_CALLER_POLICY"
    )]
    pub caller_policy: Option<PathBuf>,
}

impl TlsArgs {
    /// The TLS settings, `None` when serving plaintext; reads and checks
    /// every file, so a missing or bad one fails start-up naming its flag.
    pub fn settings(&self) -> anyhow::Result<Option<TlsSettings>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            // clap enforces both or neither; a config file might not.
            anyhow::ensure!(
                self.tls_cert.is_none() && self.tls_key.is_none(),
                "--tls-cert and --tls-key go together"
            );
            anyhow::ensure!(
                self.client_ca.is_none(),
                "--client-ca needs --tls-cert and --tls-key"
            );
            anyhow::ensure!(
                self.caller_policy.is_none(),
                "--caller-policy needs --client-ca"
            );
            return Ok(None);
        };
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: self.client_ca.clone(),
        };
        Ok(Some(TlsSettings::load(files, self.caller_policy()?)?))
    }

    /// The caller policy file, parsed and checked; `None` without the flag.
    pub fn caller_policy(&self) -> anyhow::Result<Option<CallerPolicy>> {
        let Some(path) = &self.caller_policy else {
            return Ok(None);
        };
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--caller-policy `{shown}`: cannot read: {e}"))?;
        let policy = CallerPolicy::parse(&text, &shown.to_string())
            .map_err(|e| anyhow::anyhow!("--caller-policy `{shown}`:\n{e}"))?;
        Ok(Some(policy))
    }
}
