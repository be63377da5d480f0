//! Rules indexed by their structural scope, so a request looks only at the
//! rules that can apply to it: a bundle of thousands of rules scoped to
//! other plans or merchants costs a request next to nothing.

use super::model::IdMap;

/// Rule positions by scope key (source plan, or merchant), in rule order.
#[derive(Debug, Default)]
pub struct ScopeIndex {
    /// Rules without a keyed scope: candidates for every request.
    any: Vec<u32>,
    /// Rules scoped to a key.
    by_key: IdMap<Vec<u32>>,
}

impl ScopeIndex {
    /// Indexes rules given each rule's scope keys (empty: any request).
    pub fn build<'a>(scopes: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut index = Self::default();
        for (i, keys) in scopes.into_iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if keys.is_empty() {
                index.any.push(i);
            }
            for key in keys {
                index.by_key.entry(key.clone()).or_default().push(i);
            }
        }
        index
    }

    /// Positions of the rules that may apply to `key`, in rule order.
    pub fn candidates<'s>(&'s self, key: &str) -> Candidates<'s> {
        let keyed = self.by_key.get(key).map_or(&[][..], Vec::as_slice);
        Candidates {
            any: &self.any,
            keyed,
        }
    }
}

/// A merge of the unscoped and the keyed rule positions, in rule order.
pub struct Candidates<'s> {
    any: &'s [u32],
    keyed: &'s [u32],
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let next = match (self.any.split_first(), self.keyed.split_first()) {
            (Some((a, rest)), Some((k, _))) if a < k => {
                self.any = rest;
                *a
            }
            (Some((a, rest)), None) => {
                self.any = rest;
                *a
            }
            (_, Some((k, rest))) => {
                self.keyed = rest;
                *k
            }
            (None, None) => return None,
        };
        usize::try_from(next).ok()
    }
}
