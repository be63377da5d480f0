//! Masking for the decision log: personal and payment ids become keyed
//! hashes (joinable, not readable) and configured fields are erased.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How many bytes of the HMAC-SHA256 tag are kept (hex-encoded: twice as
/// many characters). 128 bits keep collisions out of reach.
pub const HASH_BYTES: usize = 16;

/// Replaces ids with `HMAC-SHA256(key, id)`, hex, truncated to
/// [`HASH_BYTES`]; or leaves them in clear when masking is off.
#[derive(Clone)]
pub struct Masker {
    mac: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Masker")
            .field("masking", &self.mac.is_some())
            .finish()
    }
}

impl Masker {
    /// Masks with `key`.
    pub fn keyed(key: &[u8]) -> Self {
        // HMAC accepts keys of any length; the error case cannot happen.
        Self {
            mac: Hmac::<Sha256>::new_from_slice(key).ok(),
        }
    }

    /// Leaves every id in clear.
    pub fn clear() -> Self {
        Self { mac: None }
    }

    /// The logged form of a personal or payment id; empty stays empty.
    pub fn id(&self, value: &str) -> String {
        match &self.mac {
            Some(mac) if !value.is_empty() => {
                let mut mac = mac.clone();
                mac.update(value.as_bytes());
                hex(mac.finalize().into_bytes().iter().take(HASH_BYTES))
            }
            _ => value.to_owned(),
        }
    }
}

/// A random key for this process only: hashes will not join across restarts.
pub fn random_key() -> anyhow::Result<Vec<u8>> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("cannot draw a random hash key: {e}"))?;
    Ok(key)
}

/// Lower-case hex.
pub fn hex<'a>(bytes: impl IntoIterator<Item = &'a u8>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A dotted path inside the event's `input` to remove, such as
/// `input.attributes.email`. A segment that meets an array applies to
/// every element (`input.wallet.methods.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasePath(Vec<String>);

impl ErasePath {
    /// Parses `input.a.b`; the `input.` prefix is required.
    pub fn parse(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("input.")
            .ok_or_else(|| format!("`{s}`: an erased field starts with `input.`"))?;
        let segments: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("`{s}`: empty path segment"));
        }
        Ok(Self(segments))
    }

    /// Removes the field from `input` (the event's `input` object).
    pub fn erase(&self, input: &mut serde_json::Value) {
        erase(input, &self.0);
    }
}

fn erase(value: &mut serde_json::Value, path: &[String]) {
    use serde_json::Value;
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| erase(v, path)),
        Value::Object(map) if rest.is_empty() => {
            map.remove(first);
        }
        Value::Object(map) => {
            if let Some(inner) = map.get_mut(first) {
                erase(inner, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_stable_and_truncated() {
        let a = Masker::keyed(b"k1");
        let b = Masker::keyed(b"k2");
        assert_eq!(a.id("tenant-1"), a.id("tenant-1"));
        assert_ne!(a.id("tenant-1"), b.id("tenant-1"));
        assert_eq!(a.id("tenant-1").len(), 2 * HASH_BYTES);
        assert_eq!(a.id(""), "");
        assert_eq!(Masker::clear().id("tenant-1"), "tenant-1");
    }

    #[test]
    fn erase_follows_objects_and_arrays() {
        let mut v = serde_json::json!({
            "attributes": {"email": "a@b", "plan": "x"},
            "wallet": {"methods": [{"id": "1", "type": "CARD"}, {"id": "2", "type": "BANK"}]}
        });
        ErasePath::parse("input.attributes.email")
            .map(|p| p.erase(&mut v))
            .ok();
        ErasePath::parse("input.wallet.methods.type")
            .map(|p| p.erase(&mut v))
            .ok();
        assert_eq!(
            v,
            serde_json::json!({
                "attributes": {"plan": "x"},
                "wallet": {"methods": [{"id": "1"}, {"id": "2"}]}
            })
        );
        assert!(ErasePath::parse("attributes.email").is_err());
        assert!(ErasePath::parse("input..x").is_err());
    }
}
