//! The TLS flags: certificate, key, client CA and the caller policy. Every
//! file is read and checked here, before anything binds.

use std::path::PathBuf;

use crate::grpc::{TlsFiles, TlsSettings, callers::CallerPolicy};

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Serve gRPC over TLS with this PEM certificate chain, leaf first
    /// (needs --tls-key). Re-read when it changes; open connections stay.
    #[arg(long, value_name = "PATH", env = "TOLLGATE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH", env = "TOLLGATE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate signed by a CA
    /// in this PEM file (needs --tls-cert and --tls-key). Re-read when it
    /// changes.
    #[arg(long, value_name = "PATH", env = "TOLLGATE_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// A YAML file mapping client-certificate identities (SAN URI or DNS
    /// name) to the RPCs they may call (needs --client-ca). Without it,
    /// every client with a valid certificate may call every RPC.
    #[arg(long, value_name = "PATH", env = "TOLLGATE_CALLER_POLICY")]
    pub caller_policy: Option<PathBuf>,
    /// The policy written inline under `callers:` in the config file; a
    /// `--caller-policy` file takes its place.
    #[arg(skip)]
    pub inline_policy: Option<CallerPolicy>,
}

impl TlsArgs {
    /// The TLS settings, `None` when serving plaintext; reads and checks
    /// every file, so a missing or bad one fails start-up naming its flag.
    pub fn settings(&self) -> anyhow::Result<Option<TlsSettings>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            // Checked here rather than with clap's `requires`, which does
            // not see values set in the config file.
            anyhow::ensure!(
                self.tls_cert.is_none() && self.tls_key.is_none(),
                "--tls-cert and --tls-key go together"
            );
            anyhow::ensure!(
                self.client_ca.is_none(),
                "--client-ca needs --tls-cert and --tls-key"
            );
            anyhow::ensure!(
                self.caller_policy.is_none() && self.inline_policy.is_none(),
                "a caller policy needs --client-ca"
            );
            return Ok(None);
        };
        anyhow::ensure!(
            self.client_ca.is_some()
                || (self.caller_policy.is_none() && self.inline_policy.is_none()),
            "a caller policy needs --client-ca"
        );
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: self.client_ca.clone(),
        };
        Ok(Some(TlsSettings::load(files, self.caller_policy()?)?))
    }

    /// The caller policy file, parsed and checked, else the config file's
    /// inline policy; `None` without either.
    pub fn caller_policy(&self) -> anyhow::Result<Option<CallerPolicy>> {
        let Some(path) = &self.caller_policy else {
            return Ok(self.inline_policy.clone());
        };
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--caller-policy `{shown}`: cannot read: {e}"))?;
        let policy = CallerPolicy::parse(&text, &shown.to_string())
            .map_err(|e| anyhow::anyhow!("--caller-policy `{shown}`:\n{e}"))?;
        Ok(Some(policy))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::config::{Cli, Command};

    fn serve(flags: &[&str]) -> Result<super::TlsArgs, clap::Error> {
        let args = ["tollgate", "serve"].iter().chain(flags);
        match Cli::try_parse_from(args)?.command {
            Command::Serve(serve) => Ok(serve.tls),
            _ => unreachable!("a serve command"),
        }
    }

    fn settings(flags: &[&str]) -> anyhow::Result<Option<crate::grpc::TlsSettings>> {
        serve(flags)?.settings()
    }

    #[test]
    fn flags_that_need_others_are_refused() {
        for flags in [
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"],
            &["--client-ca", "ca.pem"],
            &[
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--caller-policy",
                "p.yaml",
            ],
        ] {
            let refused = settings(flags).err().map(|e| e.to_string());
            assert!(
                refused.as_deref().is_some_and(|e| e.contains("go together")
                    || e.contains("needs --tls-cert")
                    || e.contains("needs --client-ca")),
                "{flags:?}: {refused:?}"
            );
        }
        let plain = serve(&[]).unwrap();
        assert!(plain.settings().unwrap().is_none());
    }

    #[test]
    fn unreadable_and_unparseable_files_name_their_flag_and_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(path("tls.crt"), made.cert.pem()).unwrap();
        std::fs::write(path("tls.key"), made.signing_key.serialize_pem()).unwrap();
        std::fs::write(path("garbage"), "hello").unwrap();
        std::fs::write(path("ca.crt"), made.cert.pem()).unwrap();
        std::fs::write(
            path("p.yaml"),
            "callers:\n  - identity: a\n    rpcs: [\"x/y\"]\n",
        )
        .unwrap();
        let (cert, key, ca, bad) = (
            path("tls.crt"),
            path("tls.key"),
            path("ca.crt"),
            path("garbage"),
        );
        let missing = path("missing.pem");
        let cases: [(&[&str], String); 5] = [
            (
                &["--tls-cert", &missing, "--tls-key", &key],
                format!("--tls-cert `{missing}`: cannot read"),
            ),
            (
                &["--tls-cert", &cert, "--tls-key", &bad],
                format!("--tls-key `{bad}`: no usable private key"),
            ),
            (
                &["--tls-cert", &bad, "--tls-key", &key],
                format!("--tls-cert `{bad}`: no certificate"),
            ),
            (
                &["--tls-cert", &cert, "--tls-key", &key, "--client-ca", &bad],
                format!("--client-ca `{bad}`: no certificate"),
            ),
            (
                &[
                    "--tls-cert",
                    &cert,
                    "--tls-key",
                    &key,
                    "--client-ca",
                    &ca,
                    "--caller-policy",
                    &path("p.yaml"),
                ],
                format!(
                    "{}:3:12: identity `a`: rpc `x/y`: unknown service `x`",
                    path("p.yaml")
                ),
            ),
        ];
        for (flags, want) in cases {
            let e = serve(flags).unwrap().settings().unwrap_err().to_string();
            assert!(e.contains(&want), "{flags:?}: `{e}` lacks `{want}`");
        }
        let good = ["--tls-cert", &cert, "--tls-key", &key, "--client-ca", &ca];
        assert!(serve(&good).unwrap().settings().unwrap().is_some());
    }
}
