//! Masking for the decision log: personal and payment ids become keyed
//! hashes (joinable, not readable) and configured fields are erased.

use std::{cell::RefCell, collections::HashMap};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::json::JsonWriter;

/// How many bytes of the HMAC-SHA256 tag are kept (hex-encoded: twice as
/// many characters). 128 bits keep collisions out of reach.
pub const HASH_BYTES: usize = 16;

/// How many ids the hash cache holds; when full it starts over. Tenants,
/// users and methods recur, so a few thousand spare most HMACs; a bound keeps
/// a flood of unique ids from growing it.
pub const CACHED_IDS: usize = 4096;

/// An id's logged form: [`HASH_BYTES`] in hex.
type Hashed = [u8; 2 * HASH_BYTES];

/// Replaces ids with `HMAC-SHA256(key, id)`, hex, truncated to
/// [`HASH_BYTES`]; or leaves them in clear when masking is off. Owned by one
/// line encoder, used by one thread at a time: the cache of recent hashes
/// needs no lock.
#[derive(Clone)]
pub struct Masker {
    mac: Option<Hmac<Sha256>>,
    cache: RefCell<HashMap<Box<str>, Hashed>>,
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
            cache: RefCell::default(),
        }
    }

    /// Leaves every id in clear.
    pub fn clear() -> Self {
        Self {
            mac: None,
            cache: RefCell::default(),
        }
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

impl Masker {
    /// Writes the logged form of `value` as a JSON string; a recent id's
    /// hash comes from the cache.
    pub fn write_id(&self, w: &mut JsonWriter<'_>, value: &str) {
        let Some(mac) = self.mac.as_ref().filter(|_| !value.is_empty()) else {
            w.str(value);
            return;
        };
        let mut cache = self.cache.borrow_mut();
        if let Some(hashed) = cache.get(value) {
            w.ascii(hashed);
            return;
        }
        let mut mac = mac.clone();
        mac.update(value.as_bytes());
        let mut hashed = [0u8; 2 * HASH_BYTES];
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let tag = mac.finalize().into_bytes();
        for (pair, b) in hashed.chunks_exact_mut(2).zip(tag.iter()) {
            if let [hi, lo] = pair {
                *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
            }
        }
        w.ascii(&hashed);
        if cache.len() >= CACHED_IDS {
            cache.clear();
        }
        cache.insert(value.into(), hashed);
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
/// `input.attributes.email`: proto JSON field names (`input.autoCharge`)
/// or proto field names (`input.auto_charge`), then map keys as they are.
/// A segment that meets an array applies to every element
/// (`input.methods.type`). The log's version 1 spelling of the payment
/// requests (`input.wallet.…`, `input.amount.minor`) is still accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasePath(Vec<String>);

impl ErasePath {
    /// Parses `input.a.b`; the `input.` prefix is required.
    pub fn parse(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("input.")
            .ok_or_else(|| format!("`{s}`: an erased field starts with `input.`"))?;
        let mut segments: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("`{s}`: empty path segment"));
        }
        // Version 1 nested the payment requests' own fields under `wallet`
        // and named the charge `amount.minor`.
        if segments.len() > 1 && segments.first().is_some_and(|f| f == "wallet") {
            segments.remove(0);
        }
        if segments == ["amount", "minor"] {
            segments = vec!["amount".to_owned(), "amountMinor".to_owned()];
        }
        Ok(Self(segments))
    }

    /// The path's segments after `input`.
    pub fn segments(&self) -> &[String] {
        &self.0
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
    fn cached_hashes_are_the_hashes_and_the_cache_is_bounded() {
        let masker = Masker::keyed(b"k1");
        let written = |id: &str| {
            let mut out = Vec::new();
            masker.write_id(&mut JsonWriter::new(&mut out, &[]), id);
            String::from_utf8(out).unwrap_or_default()
        };
        for round in 0..2 {
            for i in 0..CACHED_IDS + 10 {
                let id = format!("id-{i}");
                assert_eq!(
                    written(&id),
                    format!("\"{}\"", masker.id(&id)),
                    "round {round}"
                );
            }
            assert!(masker.cache.borrow().len() <= CACHED_IDS);
        }
        assert_eq!(written(""), "\"\"");
        assert_eq!(written("a\"b"), format!("\"{}\"", masker.id("a\"b")));
    }

    #[test]
    fn erase_paths_need_the_input_prefix_and_keep_the_old_spelling() {
        let segments = |p: &str| ErasePath::parse(p).map(|p| p.segments().join("."));
        assert_eq!(
            segments("input.attributes.email").as_deref(),
            Ok("attributes.email")
        );
        assert_eq!(
            segments("input.wallet.methods.type").as_deref(),
            Ok("methods.type")
        );
        assert_eq!(
            segments("input.amount.minor").as_deref(),
            Ok("amount.amountMinor")
        );
        assert!(ErasePath::parse("attributes.email").is_err());
        assert!(ErasePath::parse("input..x").is_err());
    }
}
