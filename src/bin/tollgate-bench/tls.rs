//! `tollgate-bench` over TLS and mutual TLS: the flags, and the checked
//! client configuration every connection of a run is made from.
//!
//! The scheme of `--target` says whether a run speaks TLS: `https://` needs
//! `--tls-ca` and `http://` refuses it, so a run never falls back to
//! plaintext (tonic sends plaintext to an `http://` URL even with a TLS
//! configuration) and never trusts the platform's roots by surprise.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// The TLS flags of `tollgate-bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchTlsArgs {
    /// Speak TLS, trusting the server certificates this PEM CA file signed
    /// (the target must be `https://`).
    #[arg(long, value_name = "PATH")]
    pub tls_ca: Option<PathBuf>,
    /// Mutual TLS: present this PEM client certificate chain, leaf first
    /// (needs --tls-key and --tls-ca).
    #[arg(long, value_name = "PATH", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's PEM private key (needs --tls-cert).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name the server certificate must carry (default: the target's
    /// host).
    #[arg(long, value_name = "NAME", requires = "tls_ca")]
    pub tls_server_name: Option<String>,
}

impl BenchTlsArgs {
    /// The client configuration for `target`, `None` for plaintext; reads
    /// and checks every file, so a bad one fails before any connection.
    pub fn config(&self, target: &str) -> anyhow::Result<Option<ClientTlsConfig>> {
        let https = target
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        let Some(ca_path) = &self.tls_ca else {
            anyhow::ensure!(!https, "an `https://` target needs --tls-ca");
            return Ok(None);
        };
        anyhow::ensure!(https, "--tls-ca needs an `https://` target, not `{target}`");
        let ca = read("--tls-ca", ca_path)?;
        check_certificates("--tls-ca", ca_path, &ca)?;
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some(name) = &self.tls_server_name {
            config = config.domain_name(name.clone());
        }
        if let (Some(cert_path), Some(key_path)) = (&self.tls_cert, &self.tls_key) {
            let cert = read("--tls-cert", cert_path)?;
            check_certificates("--tls-cert", cert_path, &cert)?;
            let key = read("--tls-key", key_path)?;
            PrivateKeyDer::from_pem_slice(&key).map_err(|e| {
                anyhow::anyhow!(
                    "--tls-key `{}`: no usable private key: {e}",
                    key_path.display()
                )
            })?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        Ok(Some(config))
    }
}

fn read(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag} `{}`: cannot read", path.display()))
}

/// At least one certificate, and nothing in the file that is not one.
fn check_certificates(flag: &str, path: &Path, pem: &[u8]) -> anyhow::Result<()> {
    let shown = path.display();
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{flag} `{shown}`: not a PEM certificate file: {e}"))?;
    anyhow::ensure!(!certs.is_empty(), "{flag} `{shown}`: no certificate");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::args::BenchArgs;

    fn bench(flags: &[&str]) -> Result<BenchArgs, clap::Error> {
        BenchArgs::try_parse_from(["tollgate-bench"].iter().chain(flags))
    }

    #[test]
    fn the_scheme_and_the_flags_agree_or_the_run_is_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let ca = dir.path().join("ca.crt");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(&ca, made.cert.pem()).unwrap();
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, "hello").unwrap();
        let (ca, garbage) = (ca.display().to_string(), garbage.display().to_string());

        let plain = bench(&["--target", "http://127.0.0.1:1"]).unwrap();
        assert!(plain.tls.config(&plain.target).unwrap().is_none());
        let tls = bench(&["--target", "https://127.0.0.1:1", "--tls-ca", &ca]).unwrap();
        assert!(tls.tls.config(&tls.target).unwrap().is_some());

        for (flags, want) in [
            (
                &["--target", "https://h:1"][..],
                "needs --tls-ca".to_owned(),
            ),
            (
                &["--target", "http://h:1", "--tls-ca", &ca],
                "needs an `https://` target".to_owned(),
            ),
            (
                &["--target", "https://h:1", "--tls-ca", &garbage],
                format!("--tls-ca `{garbage}`: no certificate"),
            ),
            (
                &[
                    "--target",
                    "https://h:1",
                    "--tls-ca",
                    &ca,
                    "--tls-cert",
                    &ca,
                    "--tls-key",
                    &garbage,
                ],
                format!("--tls-key `{garbage}`: no usable private key"),
            ),
        ] {
            let args = bench(flags).unwrap();
            let err = args.tls.config(&args.target).unwrap_err().to_string();
            assert!(err.contains(&want), "{flags:?}: `{err}` lacks `{want}`");
        }
        // A key without a certificate, or a client certificate without a CA.
        assert!(bench(&["--tls-key", &ca]).is_err());
        assert!(bench(&["--tls-cert", &ca, "--tls-key", &ca]).is_err());
    }
}
