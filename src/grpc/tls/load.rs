//! Reading the certificate, key and client CA from PEM files into a rustls
//! `ServerConfig` (ring provider, TLS 1.2 and 1.3, ALPN `h2`). Every error
//! names the flag and the file, so start-up and reload failures say where
//! to look.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
    server::WebPkiClientVerifier,
};
use sha2::{Digest as _, Sha256};

/// The files TLS is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first (`--tls-cert`).
    pub cert: PathBuf,
    /// The certificate's private key (`--tls-key`).
    pub key: PathBuf,
    /// The CA that signs client certificates; `Some` turns on mutual TLS
    /// (`--client-ca`).
    pub client_ca: Option<PathBuf>,
}

/// Why TLS could not be set up from the files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{flag} `{}`: cannot read: {error}", path.display())]
    Read {
        /// The flag that named the file.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said (in the message, not as a source, so it is
        /// not printed twice).
        error: io::Error,
    },
    /// A file was read but holds nothing usable.
    #[error("{flag} `{}`: {why}", path.display())]
    Content {
        /// The flag that named the file.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The certificate and key do not make a server identity (the key does
    /// not match the certificate, or is of an unsupported kind).
    #[error("--tls-cert `{}` with --tls-key `{}`: {why}", cert.display(), key.display())]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        why: String,
    },
    /// A caller policy was given without client certificates to match.
    #[error(
        "a caller policy needs --client-ca: without client certificates no caller has an identity"
    )]
    PolicyWithoutClientCa,
}

/// The raw contents of the files, compared to tell a real change from a
/// touched file.
pub(super) struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Contents {
    /// Reads every file.
    pub(super) fn read(files: &TlsFiles) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read("--tls-cert", &files.cert)?,
            key: read("--tls-key", &files.key)?,
            client_ca: files
                .client_ca
                .as_deref()
                .map(|p| read("--client-ca", p))
                .transpose()?,
        })
    }

    /// A digest of every file, in order.
    pub(super) fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()] {
            // Length-prefixed, so moving bytes between files changes the digest.
            let bytes = part.map_or(&[][..], Vec::as_slice);
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        }
        hash.finalize().into()
    }

    /// The rustls configuration the files describe, and the leaf
    /// certificate (for logging its expiry).
    pub(super) fn server_config(
        &self,
        files: &TlsFiles,
    ) -> Result<(Arc<ServerConfig>, CertificateDer<'static>), TlsError> {
        let content = |flag, path: &Path, why: String| TlsError::Content {
            flag,
            path: path.to_path_buf(),
            why,
        };
        let chain =
            certificates(&self.cert).map_err(|why| content("--tls-cert", &files.cert, why))?;
        let leaf = chain.first().cloned().ok_or_else(|| {
            content(
                "--tls-cert",
                &files.cert,
                "no certificate in the file".into(),
            )
        })?;
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| {
            content(
                "--tls-key",
                &files.key,
                format!("no usable private key: {e}"),
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| pair(files, &e))?;
        let builder = match (&self.client_ca, &files.client_ca) {
            (Some(pem), Some(path)) => {
                let mut roots = RootCertStore::empty();
                for ca in certificates(pem).map_err(|why| content("--client-ca", path, why))? {
                    roots.add(ca).map_err(|e| {
                        content("--client-ca", path, format!("not a CA certificate: {e}"))
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| content("--client-ca", path, format!("{e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| pair(files, &e))?;
        // gRPC is HTTP/2 only; clients (tonic's among them) insist on it.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok((Arc::new(config), leaf))
    }
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        flag,
        path: path.to_path_buf(),
        error,
    })
}

/// Every certificate of a PEM file; at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the file".to_owned());
    }
    Ok(certs)
}

fn pair(files: &TlsFiles, e: &rustls::Error) -> TlsError {
    TlsError::Pair {
        cert: files.cert.clone(),
        key: files.key.clone(),
        why: e.to_string(),
    }
}

/// When a DER certificate stops being valid, for the log.
pub(super) fn not_after(der: &[u8]) -> Option<jiff::Timestamp> {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    jiff::Timestamp::from_second(cert.validity().not_after.timestamp()).ok()
}
