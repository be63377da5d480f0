//! The active bundle and the reload status. Requests take one snapshot
//! (`Arc<Active>`) and never see a half-loaded bundle; a reload verifies a
//! new bundle completely before the atomic swap, and keeps the last good one
//! when anything fails.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use arc_swap::ArcSwapOption;
use jiff::Timestamp;
use tokio::sync::watch;

use super::BundleSource;
use crate::{
    bundle::{BundleFiles, CompiledBundle},
    engine,
};

/// A bundle that passed every check, with where and when it was loaded.
pub struct Active {
    /// The compiled bundle.
    pub bundle: CompiledBundle,
    /// When it became active.
    pub loaded_at: Timestamp,
    /// The same moment on the monotonic clock, for ages that a wall-clock
    /// step cannot bend (readiness, `/metrics`).
    pub loaded: Instant,
    /// Where it was read from.
    pub source: String,
    /// Number of bundle tests it passed.
    pub test_count: usize,
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Why the last attempt failed; empty when it succeeded.
    pub last_error: String,
    /// When the last attempt was made.
    pub last_attempt_at: Option<Timestamp>,
    /// The active bundle was read from the local cache of a remote source,
    /// and the source has not confirmed it since (it may be out of date).
    pub from_cache: bool,
    /// When the source last confirmed the active bundle current: it was
    /// activated from the source, re-read unchanged, or answered "not
    /// modified". `None` while a cached bundle is unconfirmed.
    pub confirmed: Option<Instant>,
}

/// Where the files of a reload come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The source itself: the path, the embedded bundle, a download.
    Source,
    /// The local copy of the last good download (`--bundle-cache`).
    Cache,
}

/// How many reloads were attempted and how many failed, since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadCounts {
    /// Every call of [`BundleStore::reload`], whatever came of it.
    pub attempts: u64,
    /// Attempts that kept the previous bundle because the new one was bad.
    pub failures: u64,
}

/// Holds the active bundle for every request and reloads it from its source.
pub struct BundleStore {
    source: BundleSource,
    active: ArcSwapOption<Active>,
    status: Mutex<ReloadStatus>,
    // Counted here, the one place every reload (watcher, poll, SIGHUP,
    // start-up) goes through; `/metrics` reads them at scrape time.
    attempts: AtomicU64,
    failures: AtomicU64,
    // Held for the whole of a reload: at most one runs at a time.
    reloading: Mutex<()>,
    ready: watch::Sender<Option<String>>,
}

impl BundleStore {
    /// A store with no bundle yet; call [`BundleStore::reload`] to load one.
    pub fn new(source: BundleSource) -> Self {
        Self {
            source,
            active: ArcSwapOption::empty(),
            status: Mutex::new(ReloadStatus::default()),
            attempts: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            reloading: Mutex::new(()),
            ready: watch::Sender::new(None),
        }
    }

    /// The bundle to decide with: take it once per request.
    pub fn snapshot(&self) -> Option<Arc<Active>> {
        self.active.load_full()
    }

    /// The last reload attempt's outcome.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads attempted and failed so far.
    pub fn reload_counts(&self) -> ReloadCounts {
        ReloadCounts {
            attempts: self.attempts.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Where bundles come from.
    pub fn source(&self) -> &BundleSource {
        &self.source
    }

    /// Follows the active revision (`None` until a bundle is active); also
    /// marked changed when the source confirms the active bundle, since
    /// readiness with a maximum bundle age depends on that too.
    pub fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.ready.subscribe()
    }

    /// Reads, compiles and tests the bundle at the source, and swaps it in
    /// when it passes. Blocking: run it off the async runtime. Returns
    /// whether a new bundle was activated (an unchanged digest is not).
    pub fn reload(&self) -> Result<bool, String> {
        self.reload_from(Origin::Source, || {
            self.source.read().map_err(|e| e.to_string())
        })
    }

    /// [`BundleStore::reload`] with files obtained elsewhere (a download,
    /// the cache): the same verification, swap and status. An error from
    /// `read` (a failed download) is recorded like any failed reload.
    pub fn reload_from(
        &self,
        origin: Origin,
        read: impl FnOnce() -> Result<BundleFiles, String>,
    ) -> Result<bool, String> {
        let _single_flight = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let attempt_at = Timestamp::now();
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let result = read().and_then(|files| self.load(&files));
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.last_attempt_at = Some(attempt_at);
        match result {
            Ok(Some(active)) => {
                status.last_error.clear();
                status.from_cache = origin == Origin::Cache;
                status.confirmed = (origin == Origin::Source).then(Instant::now);
                let revision = active.bundle.revision.clone();
                tracing::info!(
                    bundle = %active.bundle.name,
                    revision = %revision,
                    digest = %active.bundle.digest,
                    rules = active.bundle.rule_count(),
                    tests = active.test_count,
                    source = %active.source,
                    from_cache = status.from_cache,
                    "bundle activated"
                );
                self.active.store(Some(Arc::new(active)));
                self.ready.send_replace(Some(revision.to_string()));
                Ok(true)
            }
            Ok(None) => {
                status.last_error.clear();
                status.from_cache &= origin == Origin::Cache;
                if origin == Origin::Source {
                    self.confirmed(&mut status);
                }
                tracing::debug!(source = %self.source, "bundle unchanged");
                Ok(false)
            }
            Err(e) => {
                tracing::error!(source = %self.source, error = %e, "bundle rejected; the active bundle keeps serving");
                self.failures.fetch_add(1, Ordering::Relaxed);
                status.last_error = e.clone();
                Err(e)
            }
        }
    }

    /// Records that the source answered "not modified" (HTTP 304): the
    /// active bundle is current, so the last error is cleared and a bundle
    /// from the cache counts as confirmed. Nothing is read or compiled.
    pub fn confirm(&self) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.last_attempt_at = Some(Timestamp::now());
        status.last_error.clear();
        status.from_cache = false;
        self.confirmed(&mut status);
        tracing::debug!(source = %self.source, "bundle not modified");
    }

    /// Records that the source confirmed the active bundle current, and
    /// wakes whoever follows readiness (a stale bundle may be fresh again).
    fn confirmed(&self, status: &mut ReloadStatus) {
        status.confirmed = Some(Instant::now());
        self.ready.send_modify(|_| {});
    }

    fn load(&self, files: &BundleFiles) -> Result<Option<Active>, String> {
        if let Some(current) = self.active.load().as_ref()
            && *current.bundle.digest == *files.digest()
        {
            return Ok(None);
        }
        let (bundle, report) = engine::verify(files).map_err(|e| e.to_string())?;
        Ok(Some(Active {
            bundle,
            loaded_at: Timestamp::now(),
            loaded: Instant::now(),
            source: self.source.to_string(),
            test_count: report.outcomes.len(),
        }))
    }
}
