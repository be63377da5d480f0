//! Readiness: the one rule that `/readyz` and gRPC health both follow.
//! Ready means a bundle is active and, when a maximum age is set, its source
//! confirmed it current no longer ago than that (it was activated, re-read
//! unchanged, or a remote source answered "not modified"; a bundle from the
//! cache counts from when it was loaded). So a replica cut off from its
//! source goes unready, while an unchanging bundle that is still re-read
//! stays ready. A stale bundle keeps answering (failing
//! closed would turn a stuck bundle source into an outage); readiness only
//! tells the load balancer and the operator.

use std::{fmt, time::Duration};

use super::LiveBundle;

/// Whether the server should receive traffic, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A bundle is active and fresh enough.
    Ready {
        /// How long until it turns stale; `None` without a maximum age.
        stale_in: Option<Duration>,
    },
    /// No bundle has loaded yet.
    NoBundle,
    /// The source last confirmed the active bundle longer ago than the
    /// maximum age.
    Stale {
        /// Since the source last confirmed the active bundle.
        age: Duration,
        /// `--max-bundle-age`.
        max: Duration,
    },
}

impl Readiness {
    /// The readiness of `live` now, with an optional maximum bundle age.
    pub fn of(live: &dyn LiveBundle, max_age: Option<Duration>) -> Self {
        let Some(active) = live.snapshot() else {
            return Self::NoBundle;
        };
        let age = live
            .status()
            .confirmed
            .map_or_else(|| active.loaded.elapsed(), |at| at.elapsed());
        match max_age {
            None => Self::Ready { stale_in: None },
            Some(max) if age > max => Self::Stale { age, max },
            Some(max) => Self::Ready {
                stale_in: Some(max.saturating_sub(age)),
            },
        }
    }

    /// Whether traffic should come.
    pub fn is_ready(self) -> bool {
        matches!(self, Self::Ready { .. })
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready { .. } => f.write_str("ready"),
            Self::NoBundle => f.write_str("not ready: no bundle is active"),
            Self::Stale { age, max } => write!(
                f,
                "not ready: the bundle source last confirmed the active bundle {:.1}s ago, longer than --max-bundle-age {max:?}",
                age.as_secs_f64()
            ),
        }
    }
}
