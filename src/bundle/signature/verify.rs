//! Verifying a bundle's `.signatures.json` against the trusted keys: the
//! one JWS must verify with a trusted key (the one its `kid` names, or any
//! when it names none), and every file the bundle reads must be listed with
//! its hash, none changed, none added, none removed.

use std::collections::BTreeMap;

use jsonwebtoken::{Validation, errors::ErrorKind};

use super::{
    FileHash, Payload, SHA_256, SIGNATURES_FILE, SignaturesFile, VerificationKey, reads,
    sha256_hex, signed_files,
};
use crate::bundle::{BundleError, BundleErrors, BundleFiles, Phase};

/// The keys a bundle must be signed with, by id.
#[derive(Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<VerificationKey>,
}

/// A bundle whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The id of the key that verified it.
    pub key_id: String,
}

impl TrustedKeys {
    /// The keys given; two with one id are refused by the caller.
    pub fn new(keys: Vec<VerificationKey>) -> Self {
        Self { keys }
    }

    /// The key ids, in the order given.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Verifies `files` against their `.signatures.json`: every problem,
    /// each naming the file, in the `signature` phase.
    pub fn verify(&self, files: &BundleFiles) -> Result<Verified, BundleErrors> {
        let fail = |message: String| {
            let mut errors = BundleErrors::in_phase(Phase::Signature);
            errors.push(BundleError::whole(SIGNATURES_FILE, message));
            errors
        };
        let Some(raw) = files.signatures() else {
            let mut errors = BundleErrors::in_phase(Phase::Signature);
            errors.push(BundleError::whole(
                "",
                format!("not signed: it has no `{SIGNATURES_FILE}`, and verification keys are set"),
            ));
            return Err(errors);
        };
        let file: SignaturesFile =
            serde_json::from_slice(raw).map_err(|e| fail(format!("not a signatures file: {e}")))?;
        let [token] = file.signatures.as_slice() else {
            return Err(fail(format!(
                "holds {} signatures: exactly one is expected",
                file.signatures.len()
            )));
        };
        let (payload, key_id) = self.verify_token(token).map_err(fail)?;
        if let Some(scope) = payload.scope.as_deref().filter(|s| !s.is_empty()) {
            return Err(fail(format!(
                "the signature's scope `{scope}` is not accepted: signatures are verified without a scope"
            )));
        }
        check_files(files, &payload.files)?;
        Ok(Verified { key_id })
    }

    /// The verified payload and the id of the key that verified it, or why
    /// not.
    fn verify_token(&self, token: &str) -> Result<(Payload, String), String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| format!("the signature is not a JWS: {e}"))?;
        // The header's `kid`, else OPA's deprecated `keyid` claim, selects
        // the key; without either every key is tried.
        let named = header.kid.clone().or_else(|| {
            jsonwebtoken::dangerous::insecure_decode_claims::<Payload>(token)
                .ok()
                .and_then(|p| p.keyid)
        });
        let candidates: Vec<&VerificationKey> = match &named {
            Some(id) => self.keys.iter().filter(|k| k.id == *id).collect(),
            None => self.keys.iter().collect(),
        };
        let known = || self.ids().map(|id| format!("`{id}`")).collect::<Vec<_>>();
        if candidates.is_empty() {
            return Err(format!(
                "signed by an unknown key `{}`: the verification keys are {}",
                named.unwrap_or_default(),
                known().join(", ")
            ));
        }
        let mut last = None;
        for key in candidates {
            let mut validation = Validation::new_for_family(key.family);
            // A bundle signature is not a session token: OPA's payload has
            // no expiry or audience.
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            validation.validate_aud = false;
            match jsonwebtoken::decode::<Payload>(token, &key.key, &validation) {
                Ok(data) => return Ok((data.claims, key.id.clone())),
                Err(e) => last = Some(e),
            }
        }
        Err(match named {
            Some(id) => match last.as_ref().map(|e| e.kind()) {
                Some(ErrorKind::InvalidAlgorithm) => format!(
                    "signed as key `{id}` with `{:?}`, which that key does not sign",
                    header.alg
                ),
                Some(ErrorKind::InvalidSignature) | None => {
                    format!("signed as key `{id}`, but the signature does not verify with that key")
                }
                Some(_) => format!(
                    "signed as key `{id}`, but it does not verify with that key: {}",
                    last.map(|e| e.to_string()).unwrap_or_default()
                ),
            },
            None => format!(
                "signed by an unknown key: it verifies with none of the verification keys ({})",
                known().join(", ")
            ),
        })
    }
}

/// Every file the bundle reads is listed with its SHA-256, and every listed
/// file the bundle would read is there.
fn check_files(files: &BundleFiles, listed: &[FileHash]) -> Result<(), BundleErrors> {
    let mut errors = BundleErrors::in_phase(Phase::Signature);
    let mut by_name: BTreeMap<&str, &FileHash> = BTreeMap::new();
    for entry in listed {
        // OPA names files by their path in the bundle; Tollgate reads each
        // by its base name (an archive's `b/plans.yaml` is `plans.yaml`).
        let name = entry.name.rsplit('/').next().unwrap_or_default();
        if by_name.insert(name, entry).is_some() {
            errors.push(BundleError::whole(
                SIGNATURES_FILE,
                format!("lists `{name}` twice"),
            ));
        }
    }
    for (name, content) in signed_files(files) {
        let Some(entry) = by_name.remove(name) else {
            errors.push(BundleError::whole(
                name,
                format!("not listed in `{SIGNATURES_FILE}`: added after the bundle was signed"),
            ));
            continue;
        };
        if entry.algorithm != SHA_256 {
            errors.push(BundleError::whole(
                name,
                format!(
                    "signed with hash algorithm `{}`: only `{SHA_256}` is supported",
                    entry.algorithm
                ),
            ));
        } else if !entry.hash.eq_ignore_ascii_case(&sha256_hex(content)) {
            errors.push(BundleError::whole(
                name,
                format!(
                    "does not match its hash in `{SIGNATURES_FILE}`: changed after the bundle was signed"
                ),
            ));
        }
    }
    for name in by_name.keys().filter(|name| reads(name)) {
        errors.push(BundleError::whole(
            SIGNATURES_FILE,
            format!("lists `{name}`, which the bundle does not have: removed after it was signed"),
        ));
    }
    errors.into_result(())
}

#[cfg(test)]
mod tests;
