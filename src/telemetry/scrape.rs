//! The `/metrics` exposition: the request-path [`Metrics`] plus what is read
//! from live state at scrape time (the active bundle and its age, reload
//! counts, decision-log counters), so nothing on the request or reload path
//! keeps a second copy of those numbers.

use std::{fmt, sync::Arc};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _, prometheus_protobuf, text},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};

use super::{classic, metrics::Metrics};
use crate::{decision_log::DecisionLog, live::LiveBundle};

/// The content type of the OpenMetrics exposition, served only to a scraper
/// whose `Accept` header names `application/openmetrics-text`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0.
    OpenMetrics,
    /// The Prometheus text format 0.0.4: every other `Accept`, none
    /// included, as Prometheus's own client libraries negotiate.
    Text,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics only when it
    /// names `application/openmetrics-text` with a non-zero `q`.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let asks = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if asks { Self::OpenMetrics } else { Self::Text }
    }

    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS,
            Self::Text => classic::CONTENT_TYPE,
        }
    }
}

/// Everything `/metrics` shows.
#[derive(Debug)]
pub struct Exposition {
    metrics: Metrics,
    state: Registry,
}

impl Exposition {
    /// The exposition of `metrics` and of the live state of `live` and `log`.
    pub fn new(metrics: Metrics, live: Arc<dyn LiveBundle>, log: DecisionLog) -> Self {
        let mut state = Registry::default();
        state.register_collector(Box::new(State { live, log }));
        Self { metrics, state }
    }

    /// The exposition in `format`.
    pub fn render(&self, format: Format) -> Result<String, fmt::Error> {
        let mut out = String::new();
        let registries = [self.metrics.registry(), &self.state];
        match format {
            Format::OpenMetrics => {
                for registry in registries {
                    text::encode_registry(&mut out, registry)?;
                }
                text::encode_eof(&mut out)?;
            }
            Format::Text => {
                for registry in registries {
                    classic::write(&mut out, &prometheus_protobuf::encode(registry)?)?;
                }
            }
        }
        Ok(out)
    }
}

/// Reads the live bundle and the decision log at each scrape.
struct State {
    live: Arc<dyn LiveBundle>,
    log: DecisionLog,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BundleLabels {
    revision: String,
    digest: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

impl Collector for State {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let reloads = self.live.reload_counts();
        counter(
            &mut encoder,
            "tollgate_bundle_reloads",
            "Bundle reloads attempted (start-up, file changes, polling, SIGHUP).",
            reloads.attempts,
        )?;
        {
            let mut failures = encoder.encode_descriptor(
                "tollgate_bundle_reload_failures",
                "Bundle reloads that failed, by kind: fetch (reading or downloading), parse, compile or test; the previous bundle kept serving.",
                None,
                MetricType::Counter,
            )?;
            // Every kind, zeros too, so each series exists from the start.
            for (kind, n) in reloads.failures {
                let labels = KindLabels {
                    kind: kind.as_str(),
                };
                ConstCounter::new(n).encode(failures.encode_family(&labels)?)?;
            }
        }

        // No bundle, no series: `absent()` or `/readyz` tell that case.
        if let Some(active) = self.live.snapshot() {
            let labels = BundleLabels {
                revision: active.bundle.revision.to_string(),
                digest: active.bundle.digest.to_string(),
                name: active.bundle.name.to_string(),
            };
            encoder
                .encode_descriptor(
                    "tollgate_bundle",
                    "The active bundle (always 1).",
                    None,
                    MetricType::Info,
                )?
                .encode_info(&labels)?;
            let age = ConstGauge::new(active.loaded.elapsed().as_secs_f64());
            age.encode(encoder.encode_descriptor(
                "tollgate_bundle_age",
                "Time since the active bundle was loaded.",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?)?;
        }

        let log = self.log.stats();
        let mut events = encoder.encode_descriptor(
            "tollgate_decision_log_events",
            "Decision-log events by result: written, dropped (queue full), failed (I/O), sampled_out.",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [
            ("written", log.written),
            ("dropped", log.dropped),
            ("failed", log.failed),
            ("sampled_out", log.sampled_out),
        ] {
            ConstCounter::new(n).encode(events.encode_family(&ResultLabels { result })?)?;
        }
        Ok(())
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), fmt::Error> {
    ConstCounter::new(value).encode(encoder.encode_descriptor(
        name,
        help,
        None,
        MetricType::Counter,
    )?)
}
