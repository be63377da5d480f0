//! The decision log's counters, readable while it runs (a later `/metrics`
//! reads them here).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the decision log, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    pub(super) written: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) sampled_out: AtomicU64,
}

/// A reading of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Lines written and flushed.
    pub written: u64,
    /// Events dropped because the queue was full (or closed).
    pub dropped: u64,
    /// Events lost to I/O or encoding errors.
    pub failed: u64,
    /// Decisions not logged because of sampling.
    pub sampled_out: u64,
}

impl Stats {
    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            sampled_out: self.sampled_out.load(Ordering::Relaxed),
        }
    }
}
