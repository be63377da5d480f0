//! The live bundle as the serving side sees it: the active bundle, how the
//! last reload went, and readiness. `reload` keeps it current and
//! implements [`LiveBundle`]; `grpc` and `telemetry` only read it, through
//! that trait, so neither depends on how bundles arrive.

mod ready;

use std::{error::Error, sync::Arc, time::Instant};

use jiff::Timestamp;
use tokio::sync::watch;

pub use ready::Readiness;

use crate::bundle::{BundleErrors, CompiledBundle, Phase};

/// The live bundle: what every request decides with, and its status.
pub trait LiveBundle: Send + Sync {
    /// The bundle to decide with, `None` until one is active: take it once
    /// per request.
    fn snapshot(&self) -> Option<Arc<Active>>;

    /// The last reload attempt's outcome.
    fn status(&self) -> ReloadStatus;

    /// Reloads attempted and failed so far.
    fn reload_counts(&self) -> ReloadCounts;

    /// Follows the active revision (`None` until a bundle is active); also
    /// marked changed when the source confirms the active bundle, since
    /// readiness with a maximum bundle age depends on that too.
    fn subscribe(&self) -> watch::Receiver<Option<String>>;
}

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
    /// The id of the key that verified its signature; `None` when no
    /// verification keys are set.
    pub verified_by: Option<String>,
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Why the last attempt failed; `None` when it succeeded.
    pub last_error: Option<ReloadError>,
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

/// Why a reload kept the previous bundle.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReloadError {
    /// The bundle could not be read or downloaded. The error is the
    /// source's own (`reload::SourceError`), shared so the status can be
    /// cloned.
    #[error(transparent)]
    Fetch(Arc<dyn Error + Send + Sync>),
    /// The bundle was read but is invalid or fails its own tests: every
    /// problem, by file and line.
    #[error(transparent)]
    Bundle(BundleErrors),
}

impl ReloadError {
    /// Which step failed.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Fetch(_) => FailureKind::Fetch,
            Self::Bundle(errors) => match errors.phase() {
                Phase::Parse => FailureKind::Parse,
                Phase::Compile => FailureKind::Compile,
                Phase::Test => FailureKind::Test,
                Phase::Signature => FailureKind::Signature,
            },
        }
    }
}

/// Which step of a reload failed: the label of the reload-failure metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// Reading or downloading the bundle.
    Fetch,
    /// A file is not valid YAML.
    Parse,
    /// It does not validate or compile.
    Compile,
    /// Its own tests failed.
    Test,
    /// Verification keys are set and it is unsigned, signed by an unknown
    /// key, or its files do not match their signed hashes.
    Signature,
}

impl FailureKind {
    /// Every kind, in label order.
    pub const ALL: [Self; 5] = [
        Self::Fetch,
        Self::Parse,
        Self::Compile,
        Self::Test,
        Self::Signature,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fetch => "fetch",
            Self::Parse => "parse",
            Self::Compile => "compile",
            Self::Test => "test",
            Self::Signature => "signature",
        }
    }
}

/// How many reloads were attempted and how many failed, since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadCounts {
    /// Every reload attempt, whatever came of it.
    pub attempts: u64,
    /// Attempts that kept the previous bundle, by the step that failed:
    /// every kind, in [`FailureKind::ALL`] order.
    pub failures: [(FailureKind, u64); FailureKind::ALL.len()],
}
