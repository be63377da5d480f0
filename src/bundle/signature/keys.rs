//! Keys in PEM: a private key to sign with, public keys to verify with. The
//! algorithm follows from the key: RSA signs RS256, an EC P-256 key ES256,
//! an Ed25519 key EdDSA.

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde::Serialize;

/// A key that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM private key of a supported kind.
    #[error(
        "not a PEM private key of a supported kind (RSA for RS256, EC P-256 in PKCS#8 for ES256, Ed25519 for EdDSA)"
    )]
    NotAPrivateKey,
    /// Not a PEM public key of a supported kind.
    #[error(
        "not a PEM public key of a supported kind (RSA for RS256, EC P-256 for ES256, Ed25519 for EdDSA)"
    )]
    NotAPublicKey,
    /// The key id is empty.
    #[error("the key id is empty")]
    EmptyId,
}

/// A private key and the algorithm it signs with.
pub struct SigningKey {
    key: EncodingKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        write!(f, "SigningKey({:?})", self.algorithm)
    }
}

impl SigningKey {
    /// A private key from PEM (PKCS#8, or PKCS#1 for RSA).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let (key, algorithm) = if let Ok(key) = EncodingKey::from_ed_pem(pem) {
            (key, Algorithm::EdDSA)
        } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
            (key, Algorithm::ES256)
        } else if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            (key, Algorithm::RS256)
        } else {
            return Err(KeyError::NotAPrivateKey);
        };
        Ok(Self { key, algorithm })
    }

    /// The JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A compact JWS of `payload`, with `kid` in its header when given.
    pub(super) fn sign(
        &self,
        payload: &impl Serialize,
        kid: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = kid.map(ToOwned::to_owned);
        jsonwebtoken::encode(&header, payload, &self.key)
    }
}

/// A public key that may verify bundle signatures, under its id.
pub struct VerificationKey {
    pub(super) id: String,
    pub(super) key: DecodingKey,
    pub(super) family: AlgorithmFamily,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerificationKey({:?}, {:?})", self.id, self.family)
    }
}

impl VerificationKey {
    /// A public key from PEM (`PUBLIC KEY`, or `RSA PUBLIC KEY`), known as
    /// `id`: the name a signature's `kid` selects it by.
    pub fn from_pem(id: &str, pem: &[u8]) -> Result<Self, KeyError> {
        if id.is_empty() {
            return Err(KeyError::EmptyId);
        }
        let (key, family) = if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            (key, AlgorithmFamily::Ed)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (key, AlgorithmFamily::Ec)
        } else if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (key, AlgorithmFamily::Rsa)
        } else {
            return Err(KeyError::NotAPublicKey);
        };
        Ok(Self {
            id: id.to_owned(),
            key,
            family,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}
