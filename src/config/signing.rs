//! The flags of signed bundles: the keys a bundle must be signed with
//! (`serve`, `check`, `test`) and `tollgate sign`'s own.

use std::path::PathBuf;

use crate::{
    bundle::signature::{TrustedKeys, VerificationKey},
    reload::BundleSource,
};

/// One `--verification-key`: a public key file and the id a signature's
/// `kid` names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyArg {
    /// The key id: given as `ID=PATH`, else the file name without its
    /// extensions (`release-2026.pub.pem` is `release-2026`).
    pub id: String,
    /// The PEM file.
    pub path: PathBuf,
}

/// Parses `[ID=]PATH`; an `ID` is letters, digits, `.`, `_` and `-`.
pub fn key_arg(s: &str) -> Result<KeyArg, String> {
    if let Some((id, path)) = s.split_once('=')
        && !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        if path.is_empty() {
            return Err(format!("`{s}`: no key file after `=`"));
        }
        return Ok(KeyArg {
            id: id.to_owned(),
            path: PathBuf::from(path),
        });
    }
    let path = PathBuf::from(s);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = name.split('.').next().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(format!(
            "`{s}`: cannot name the key from its file name: give it as `ID={s}`"
        ));
    }
    Ok(KeyArg { id, path })
}

/// `--verification-key`, for `serve`, `check` and `test`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyArgs {
    /// A PEM public key (RSA, EC P-256 or Ed25519) that bundles must be
    /// signed with, as `PATH` or `ID=PATH` (the id a signature's `kid`
    /// names; by default the file name up to its first `.`). Repeatable;
    /// with any key given, a bundle that is unsigned, signed by another
    /// key, or whose files do not match their signed hashes is refused.
    #[arg(long = "verification-key", value_name = "[ID=]PUB.pem", value_parser = key_arg,
          value_delimiter = ',', env = "TOLLGATE_VERIFICATION_KEYS")]
    pub verification_key: Vec<KeyArg>,
}

impl VerifyArgs {
    /// The trusted keys, read from their files; `None` when none is given.
    /// The embedded demo bundle is not signed, so it cannot be served or
    /// checked with keys set.
    pub fn keys(&self, source: &BundleSource) -> anyhow::Result<Option<TrustedKeys>> {
        if self.verification_key.is_empty() {
            return Ok(None);
        }
        anyhow::ensure!(
            *source != BundleSource::Embedded,
            "--verification-key: the embedded demo bundle is not signed; give a signed bundle (`--bundle` for serve, a path for check and test), or no verification key"
        );
        let mut keys: Vec<VerificationKey> = Vec::new();
        for arg in &self.verification_key {
            let shown = arg.path.display();
            anyhow::ensure!(
                keys.iter().all(|k| k.id() != arg.id),
                "--verification-key `{shown}`: a second key with id `{}`",
                arg.id
            );
            let pem = std::fs::read(&arg.path)
                .map_err(|e| anyhow::anyhow!("--verification-key `{shown}`: {e}"))?;
            let key = VerificationKey::from_pem(&arg.id, &pem)
                .map_err(|e| anyhow::anyhow!("--verification-key `{shown}`: {e}"))?;
            keys.push(key);
        }
        Ok(Some(TrustedKeys::new(keys)))
    }
}

/// `tollgate sign`.
#[derive(Debug, Clone, clap::Args)]
pub struct SignArgs {
    /// The bundle directory to sign: `.signatures.json` is written into it.
    /// An archive is refused: sign the directory, then pack it.
    pub path: PathBuf,
    /// The PEM private key to sign with: RSA (RS256), EC P-256 in PKCS#8
    /// (ES256) or Ed25519 (EdDSA).
    #[arg(long, value_name = "KEY.pem")]
    pub signing_key: PathBuf,
    /// The key id written as the signature's `kid`, which selects the
    /// verifying key by its id; without it every verification key is tried.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_from_the_argument_or_the_file_name() {
        let arg = key_arg("release=/keys/a.pem").unwrap();
        assert_eq!(
            (arg.id.as_str(), arg.path),
            ("release", "/keys/a.pem".into())
        );
        let arg = key_arg("/keys/release-2026.pub.pem").unwrap();
        assert_eq!(arg.id, "release-2026");
        // An `=` in a path that is not an id prefix stays in the path.
        let arg = key_arg("/keys/a=b/k.pem").unwrap();
        assert_eq!((arg.id.as_str(), arg.path), ("k", "/keys/a=b/k.pem".into()));
        assert!(key_arg("/keys/.pem").is_err());
        assert!(key_arg("k=").is_err());
    }
}
