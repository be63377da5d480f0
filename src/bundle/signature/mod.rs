//! Signed bundles, in OPA's bundle signature format so that its tooling and
//! habits carry over: a `.signatures.json` beside the bundle's files holding
//! `{"signatures": ["<JWS compact>"]}`, one JWS whose payload lists every
//! file with its hash, `{"files": [{"name", "hash", "algorithm":
//! "SHA-256"}], "keyid", "scope"}`, signed with RS256, ES256 or EdDSA.
//!
//! A file's hash is SHA-256 over its bytes, hex. OPA hashes the same way
//! every file except four it treats as structured data (`data.json`,
//! `data.yaml`, `.manifest`, `.signatures.json`), which it hashes in a
//! canonical JSON form; none of those is a Tollgate bundle file but
//! `data.yaml`, so `opa sign` output verifies here unless the bundle has a
//! file named `data.yaml`. The signature covers the files the bundle is
//! made of (its YAML files); names the bundle would never read (a
//! `README.md`, `.manifest`) may be listed and are not checked.
//!
//! Pure: bytes in, a verdict out. Reading key files is the caller's job.

mod keys;
mod verify;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use keys::{KeyError, SigningKey, VerificationKey};
pub use verify::{TrustedKeys, Verified};

use super::{BundleFiles, is_yaml};

/// The signature file's name, in a bundle directory or an archive.
pub const SIGNATURES_FILE: &str = ".signatures.json";

/// The one hash algorithm files are signed with.
const SHA_256: &str = "SHA-256";

/// `.signatures.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SignaturesFile {
    signatures: Vec<String>,
}

/// The JWS payload: the files and their hashes, and OPA's optional claims.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    files: Vec<FileHash>,
    /// OPA's deprecated key id claim; the header's `kid` comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyid: Option<String>,
    /// OPA's scope claim: verified against an empty scope, as OPA does when
    /// none is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// One file of the payload.
#[derive(Debug, Serialize, Deserialize)]
struct FileHash {
    name: String,
    hash: String,
    algorithm: String,
}

/// Signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The JWS could not be made.
    #[error("cannot sign: {0}")]
    Jws(jsonwebtoken::errors::Error),
    /// The bundle has no file to sign.
    #[error("the bundle has no YAML file to sign")]
    Empty,
}

/// The content of `.signatures.json` for `files`, signed with `key`; with
/// `key_id`, the JWS header's `kid` (and OPA's `keyid` claim) name it.
pub fn sign(
    files: &BundleFiles,
    key: &SigningKey,
    key_id: Option<&str>,
) -> Result<String, SignError> {
    let files: Vec<FileHash> = signed_files(files)
        .map(|(name, content)| FileHash {
            name: name.to_owned(),
            hash: sha256_hex(content),
            algorithm: SHA_256.to_owned(),
        })
        .collect();
    if files.is_empty() {
        return Err(SignError::Empty);
    }
    let payload = Payload {
        files,
        keyid: key_id.map(ToOwned::to_owned),
        scope: None,
    };
    let token = key.sign(&payload, key_id).map_err(SignError::Jws)?;
    let file = SignaturesFile {
        signatures: vec![token],
    };
    // Serialising a struct of strings cannot fail.
    Ok(serde_json::to_string_pretty(&file).unwrap_or_default() + "\n")
}

/// The files a signature covers: those the bundle is made of.
fn signed_files(files: &BundleFiles) -> impl Iterator<Item = (&str, &[u8])> {
    files.iter().filter(|(name, _)| reads(name))
}

/// Whether the bundle reads a file of this name (so a signature must cover
/// it): YAML, and not hidden.
fn reads(name: &str) -> bool {
    is_yaml(name) && !name.starts_with('.')
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
