//! The Prometheus metrics of the request path: decisions, their reasons and
//! latency, calls in flight and calls refused. [`Metrics`] is a cheap handle
//! (an `Arc`) that the gRPC layers count into; the labels of the fixed
//! decision types and outcomes are resolved once, at start, so counting a
//! decision takes no lock and allocates nothing. What is read at scrape time
//! (bundle, reloads, decision log) is in [`super::scrape`].

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};

pub use crate::domain::{Answer, DecisionKind};
use crate::{bundle::Memo, domain::ReasonCode};

/// Upper bounds of the decision latency buckets, in seconds: a decision
/// takes microseconds, so the buckets run from 5 µs to 100 ms.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.05, 0.1,
];

/// Distinct `rpc` labels of `tollgate_calls_denied_total` before further
/// ones are counted as `other`: a bound on what a caller can make us store.
const MAX_DENIED_RPCS: usize = 64;

/// Why the limits layer refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The concurrency limit was reached (`RESOURCE_EXHAUSTED`).
    Concurrency,
    /// No answer within the deadline (`DEADLINE_EXCEEDED`).
    Deadline,
    /// The request message was too large (`RESOURCE_EXHAUSTED`).
    MessageSize,
}

/// Why the server closed a connection it had accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No TLS handshake or HTTP/2 preface within the handshake timeout.
    Handshake,
    /// No call within the idle timeout.
    Idle,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    decision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    decision: &'static str,
    code: Code,
}

/// A reason code as a label value: shares the bundle's string, so counting
/// a known code allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Code(ReasonCode);

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.0.as_str(), encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PreconditionLabels {
    decision: &'static str,
    subject: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RejectionLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ShadowLabels {
    decision: &'static str,
    agreement: &'static str,
}

/// How the shadow bundle's decision compares with the one answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The same outcome, details and reason codes.
    Same,
    /// Another outcome, details or reason codes.
    Differs,
    /// The shadow bundle gave no decision (the request lacks a fact its
    /// deciding rule needs, or its declarations refuse it).
    Error,
}

impl Agreement {
    /// Every value, in label order.
    pub const ALL: [Self; 3] = [Self::Same, Self::Differs, Self::Error];

    /// The `agreement` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::Differs => "differs",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RpcLabels {
    rpc: String,
}

type Histograms = Family<KindLabels, Histogram, fn() -> Histogram>;

/// The request-path metrics; cheap to clone, all clones count into the same
/// series.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    /// One entry per decision type, by [`DecisionKind::index`].
    by_kind: Vec<ByKind>,
    decisions: Family<DecisionLabels, Counter>,
    reasons: Family<ReasonLabels, Counter>,
    preconditions: Family<PreconditionLabels, Counter>,
    in_flight: Gauge,
    concurrency: Counter,
    deadline: Counter,
    message_size: Counter,
    denied: Family<RpcLabels, Counter>,
    denied_rpcs: AtomicUsize,
    internal: Counter,
    connections_open: Gauge,
    connections_refused: Counter,
    closed_handshake: Counter,
    closed_idle: Counter,
    shadow: Family<ShadowLabels, Counter>,
    shadow_dropped: Counter,
}

/// One decision type's series, resolved at start, and its reason series
/// as they are first counted.
#[derive(Debug)]
struct ByKind {
    outcomes: Vec<(&'static str, Counter)>,
    latency: Histogram,
    /// The reason series counted so far, keyed by code alone and hashed
    /// with foldhash: the family behind them hashes both labels with
    /// SipHash on every look-up, and a decision counts two or three.
    reasons: Memo<ReasonCode, Counter>,
}

/// Reason series kept per decision type in [`ByKind::reasons`]; codes past
/// it (a bundle's codes are a few dozen) are counted through the family.
const MAX_CACHED_REASONS: usize = 512;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, every fixed series at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "tollgate_decisions",
            "Decisions answered, by decision type and outcome",
            decisions.clone(),
        );
        let reasons = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tollgate_decision_reasons",
            "Reasons given in answered decisions, by decision type and reason code",
            reasons.clone(),
        );
        let preconditions = Family::<PreconditionLabels, Counter>::default();
        registry.register(
            "tollgate_decision_precondition_failures",
            "Requests answered FAILED_PRECONDITION instead of a decision (the deciding rule needs a fact the request lacks), by decision type and missing field",
            preconditions.clone(),
        );
        let latency: Histograms = Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register_with_unit(
            "tollgate_decision_duration",
            "Time to evaluate one decision against the bundle (policy evaluation, not transport)",
            Unit::Seconds,
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "tollgate_requests_in_flight",
            "gRPC calls being served (an open stream counts until it ends)",
            in_flight.clone(),
        );
        let rejected = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "tollgate_requests_rejected",
            "gRPC calls refused by the request limits, by reason",
            rejected.clone(),
        );
        let denied = Family::<RpcLabels, Counter>::default();
        registry.register(
            "tollgate_calls_denied",
            "gRPC calls refused by the caller policy (PERMISSION_DENIED), by RPC",
            denied.clone(),
        );
        let internal = Counter::default();
        registry.register(
            "tollgate_internal_errors",
            "gRPC calls answered INTERNAL: a Tollgate bug, never the caller's error; alert on any",
            internal.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "tollgate_connections_open",
            "gRPC connections open (TLS handshakes in progress included)",
            connections_open.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "tollgate_connections_refused",
            "gRPC connections closed as soon as accepted: the connection limit was reached",
            connections_refused.clone(),
        );
        let closed = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "tollgate_connections_closed",
            "gRPC connections the server closed, by reason (handshake_timeout, idle_timeout)",
            closed.clone(),
        );
        let shadow = Family::<ShadowLabels, Counter>::default();
        registry.register(
            "tollgate_shadow_decisions",
            "Decisions also evaluated with the shadow bundle (--shadow-bundle), by decision type and agreement with the answer (same, differs, error)",
            shadow.clone(),
        );
        let shadow_dropped = Counter::default();
        registry.register(
            "tollgate_shadow_dropped",
            "Decisions not evaluated with the shadow bundle because its queue was full",
            shadow_dropped.clone(),
        );
        let closing = |reason| closed.get_or_create_owned(&RejectionLabels { reason });
        let by_kind = |kind: DecisionKind| ByKind {
            outcomes: kind
                .outcomes()
                .iter()
                .map(|&outcome| {
                    let labels = DecisionLabels {
                        decision: kind.label(),
                        outcome,
                    };
                    (outcome, decisions.get_or_create_owned(&labels))
                })
                .collect(),
            latency: latency.get_or_create_owned(&KindLabels {
                decision: kind.label(),
            }),
            reasons: Memo::new(MAX_CACHED_REASONS),
        };
        let rejection = |reason| rejected.get_or_create_owned(&RejectionLabels { reason });
        Self {
            inner: Arc::new(Inner {
                by_kind: DecisionKind::ALL.into_iter().map(by_kind).collect(),
                concurrency: rejection("concurrency"),
                deadline: rejection("deadline"),
                message_size: rejection("message_size"),
                registry,
                decisions,
                reasons,
                preconditions,
                in_flight,
                denied,
                denied_rpcs: AtomicUsize::new(0),
                internal,
                connections_open,
                connections_refused,
                closed_handshake: closing("handshake_timeout"),
                closed_idle: closing("idle_timeout"),
                shadow,
                shadow_dropped,
            }),
        }
    }

    /// Counts one answered decision that took `took` to evaluate: its
    /// outcome, each of its reason codes, and its latency.
    pub fn decided<D: Answer>(&self, decision: &D, took: Duration) {
        let kind = D::KIND;
        let series = self.inner.by_kind.get(kind.index());
        let outcome = decision.outcome_label();
        let counter = series.and_then(|s| s.outcomes.iter().find(|(o, _)| *o == outcome));
        match counter {
            Some((_, counter)) => {
                counter.inc();
            }
            // Only if `outcomes()` missed one: still counted, just slower.
            None => {
                let labels = DecisionLabels {
                    decision: kind.label(),
                    outcome,
                };
                self.inner.decisions.get_or_create(&labels).inc();
            }
        }
        if let Some(series) = series {
            series.latency.observe(took.as_secs_f64());
        }
        for reason in decision.reasons() {
            let series_of = || {
                self.inner.reasons.get_or_create_owned(&ReasonLabels {
                    decision: kind.label(),
                    code: Code(reason.code.clone()),
                })
            };
            match series {
                Some(s) => s.reasons.with(&reason.code, series_of, Counter::inc),
                None => series_of().inc(),
            };
        }
    }

    /// Counts a request of `kind` that got no decision because it lacks
    /// `subject` (`billing.current_period_end`), a field the deciding rule
    /// needs. Not a decision: `tollgate_decisions_total` does not count it.
    pub fn precondition_failed(&self, kind: DecisionKind, subject: &'static str) {
        let labels = PreconditionLabels {
            decision: kind.label(),
            subject,
        };
        self.inner.preconditions.get_or_create(&labels).inc();
    }

    /// Counts a decision of `kind` evaluated with the shadow bundle.
    pub fn shadowed(&self, kind: DecisionKind, agreement: Agreement) {
        let labels = ShadowLabels {
            decision: kind.label(),
            agreement: agreement.label(),
        };
        self.inner.shadow.get_or_create(&labels).inc();
    }

    /// Counts a decision the shadow queue had no room for.
    pub fn shadow_dropped(&self) {
        self.inner.shadow_dropped.inc();
    }

    /// Shadow decisions so far by agreement (in [`Agreement::ALL`] order,
    /// all decision types together), and those dropped.
    pub fn shadow_counts(&self) -> ([u64; 3], u64) {
        let counts = Agreement::ALL.map(|agreement| {
            DecisionKind::ALL
                .iter()
                .map(|kind| {
                    let labels = ShadowLabels {
                        decision: kind.label(),
                        agreement: agreement.label(),
                    };
                    self.inner.shadow.get_or_create(&labels).get()
                })
                .sum()
        });
        (counts, self.inner.shadow_dropped.get())
    }

    /// Creates the shadow series at zero, so a scrape shows them from the
    /// start when a shadow bundle is configured.
    pub fn shadow_on(&self) {
        for kind in DecisionKind::ALL {
            for agreement in Agreement::ALL {
                let labels = ShadowLabels {
                    decision: kind.label(),
                    agreement: agreement.label(),
                };
                let _created = self.inner.shadow.get_or_create(&labels);
            }
        }
    }

    /// Counts a call as in flight until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.inner.in_flight.inc();
        InFlight(self.clone())
    }

    /// Counts a call the limits layer refused.
    pub fn rejected(&self, why: Rejection) {
        let counter = match why {
            Rejection::Concurrency => &self.inner.concurrency,
            Rejection::Deadline => &self.inner.deadline,
            Rejection::MessageSize => &self.inner.message_size,
        };
        counter.inc();
    }

    /// Counts a call answered INTERNAL.
    pub fn internal_error(&self) {
        self.inner.internal.inc();
    }

    /// Counts an open connection until the returned guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection {
        self.inner.connections_open.inc();
        OpenConnection(self.clone())
    }

    /// Counts a connection closed at once: too many were open.
    pub fn connection_refused(&self) {
        self.inner.connections_refused.inc();
    }

    /// Counts a connection the server closed, and why.
    pub fn connection_closed(&self, why: Closed) {
        match why {
            Closed::Handshake => &self.inner.closed_handshake,
            Closed::Idle => &self.inner.closed_idle,
        }
        .inc();
    }

    /// Counts a call that the caller policy refused with PERMISSION_DENIED.
    ///
    /// For the caller-authorization layer: call it once per refused call
    /// with the RPC as `package.Service/Method`
    /// (`tollgate.v1.DecisionService/DecidePlanChange`). Only the RPCs the
    /// server serves should be passed; past 64 distinct values the rest are
    /// counted as `other`, so a caller probing made-up paths cannot grow
    /// the series without bound.
    pub fn caller_denied(&self, rpc: &str) {
        let denied = &self.inner.denied;
        let mut labels = RpcLabels {
            rpc: rpc.to_owned(),
        };
        if let Some(counter) = denied.get(&labels) {
            counter.inc();
            return;
        }
        // Two first denials of one RPC at once may count it twice here,
        // which only reaches the bound a little early.
        if self.inner.denied_rpcs.fetch_add(1, Ordering::Relaxed) >= MAX_DENIED_RPCS {
            "other".clone_into(&mut labels.rpc);
        }
        denied.get_or_create(&labels).inc();
    }

    /// The registry of these metrics, for the exposition.
    pub(super) fn registry(&self) -> &Registry {
        &self.inner.registry
    }
}

/// A call in flight; counted down when dropped.
#[derive(Debug)]
pub struct InFlight(Metrics);

impl InFlight {
    /// The metrics it counts in, for the rest of the call's bookkeeping.
    pub fn metrics(&self) -> &Metrics {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inner.in_flight.dec();
    }
}

/// An open connection; counted down when dropped.
#[derive(Debug)]
pub struct OpenConnection(Metrics);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.inner.connections_open.dec();
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, sync::Arc};

    use prometheus_client::encoding::text;

    use super::*;
    use crate::domain::{DecisionId, DecisionMeta, PlanChangeDecision, Reason, Verdict};

    fn plan_change(verdict: Verdict, codes: &[&str]) -> PlanChangeDecision {
        PlanChangeDecision {
            verdict,
            timing: None,
            effective_at: None,
            reasons: codes
                .iter()
                .map(|c| Reason {
                    code: ReasonCode::parse(c).expect("a code"),
                    message: String::new(),
                    rule_id: None,
                    details: BTreeMap::new(),
                })
                .collect(),
            meta: DecisionMeta {
                decision_id: DecisionId::generate(),
                bundle_name: Arc::from("demo"),
                bundle_revision: Arc::from("1"),
                bundle_digest: Arc::from("d"),
                evaluated_at: jiff::Timestamp::UNIX_EPOCH,
                trace: Vec::new(),
                locale: Arc::from("en"),
            },
            unknown_metrics: Vec::new(),
        }
    }

    fn exposition(metrics: &Metrics) -> String {
        let mut out = String::new();
        text::encode(&mut out, metrics.registry()).expect("encode");
        out
    }

    #[test]
    fn counting_a_decision_allocates_nothing_once_its_codes_were_seen() {
        let metrics = Metrics::new();
        let decision = plan_change(Verdict::Deny, &["SAME_PLAN", "UNKNOWN_PLAN"]);
        metrics.decided(&decision, Duration::from_micros(3));
        let took = Duration::from_micros(4);
        let allocations =
            allocation_counter::measure(|| metrics.decided(&decision, took)).count_total;
        assert_eq!(allocations, 0);
        let text = exposition(&metrics);
        let series = r#"tollgate_decisions_total{decision="plan_change",outcome="deny"} 2"#;
        assert!(text.contains(series), "{text}");
        let code = r#"tollgate_decision_reasons_total{decision="plan_change",code="SAME_PLAN"} 2"#;
        assert!(text.contains(code), "{text}");
        // The counting allocator does count: a new code makes a new series.
        let fresh = plan_change(Verdict::Deny, &["NEW_CODE"]);
        let first = allocation_counter::measure(|| metrics.decided(&fresh, took)).count_total;
        assert!(first > 0, "the counter counts: a new code makes a series");
    }

    #[test]
    fn every_outcome_a_decision_can_have_is_a_known_series() {
        let metrics = Metrics::new();
        for verdict in [Verdict::Allow, Verdict::Deny] {
            let outcome = plan_change(verdict, &[]).outcome_label();
            assert!(DecisionKind::PlanChange.outcomes().contains(&outcome));
        }
        let text = exposition(&metrics);
        for kind in [
            DecisionKind::PlanChange,
            DecisionKind::PaymentLink,
            DecisionKind::ChargeFunding,
        ] {
            for outcome in kind.outcomes() {
                let series = format!(
                    r#"tollgate_decisions_total{{decision="{}",outcome="{outcome}"}} 0"#,
                    kind.label()
                );
                assert!(text.contains(&series), "{series} in {text}");
            }
        }
    }

    #[test]
    fn denied_rpcs_are_bounded() {
        let metrics = Metrics::new();
        for i in 0..100 {
            metrics.caller_denied(&format!("made.up/Rpc{i}"));
        }
        metrics.caller_denied("made.up/Rpc0");
        let text = exposition(&metrics);
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("tollgate_calls_denied_total{"))
            .collect();
        assert_eq!(series.len(), MAX_DENIED_RPCS + 1, "{text}");
        assert!(
            text.contains(r#"tollgate_calls_denied_total{rpc="made.up/Rpc0"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"tollgate_calls_denied_total{rpc="other"} 36"#),
            "{text}"
        );
    }
}
