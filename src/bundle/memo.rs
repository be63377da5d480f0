//! A bounded memo: an answer worked out once per key and kept behind a
//! read-write lock. The locale pick keeps its answers here, and so do the
//! metrics' reason series (`telemetry` may import `bundle`). Callers
//! choose the keys (a request's languages, a bundle's reason codes), so it
//! keeps at most a fixed number; past that, answers are worked out each
//! time and not kept.

use std::{collections::HashMap, hash::Hash, sync::RwLock};

/// Answers by key, at most `most` of them.
#[derive(Debug)]
pub struct Memo<K, V> {
    kept: RwLock<HashMap<K, V, foldhash::fast::RandomState>>,
    most: usize,
}

impl<K: Eq + Hash + Clone, V> Memo<K, V> {
    /// An empty memo that keeps at most `most` answers.
    pub fn new(most: usize) -> Self {
        Self {
            kept: RwLock::default(),
            most,
        }
    }

    /// `read` of `key`'s answer: the kept one, else `make`'s, kept when
    /// there is room. A poisoned lock only means nothing is kept.
    pub fn with<R>(&self, key: &K, make: impl FnOnce() -> V, read: impl FnOnce(&V) -> R) -> R {
        if let Ok(kept) = self.kept.read()
            && let Some(answer) = kept.get(key)
        {
            return read(answer);
        }
        let answer = make();
        let r = read(&answer);
        if let Ok(mut kept) = self.kept.write()
            && kept.len() < self.most
        {
            kept.insert(key.clone(), answer);
        }
        r
    }

    /// How many answers are kept.
    pub fn kept(&self) -> usize {
        self.kept.read().map_or(0, |kept| kept.len())
    }
}
