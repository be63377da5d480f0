//! Assertions on what crosses the wire: decisions of each type, their
//! reasons, traces and provenance, stream results, and refusals.

use tollgate::grpc::pb;
use tonic_types::StatusExt as _;

use super::rfc3339;

/// A decision of any type: it has reasons and provenance.
pub trait Decision: std::fmt::Debug {
    /// Its reasons, in order.
    fn reasons(&self) -> &[pb::Reason];
    /// Its provenance.
    fn meta(&self) -> Option<&pb::DecisionMeta>;
}

macro_rules! decision {
    ($($t:ty),*) => {$(
        impl Decision for $t {
            fn reasons(&self) -> &[pb::Reason] {
                &self.reasons
            }
            fn meta(&self) -> Option<&pb::DecisionMeta> {
                self.meta.as_ref()
            }
        }
    )*};
}

decision!(
    pb::PlanChangeDecision,
    pb::PaymentLinkDecision,
    pb::ChargeFundingDecision
);

/// The reason codes of a decision, in order.
pub fn codes(d: &(impl Decision + ?Sized)) -> Vec<&str> {
    d.reasons().iter().map(|r| r.code.as_str()).collect()
}

/// A reason as the server sends it; an empty `rule_id` marks the engine's
/// own reasons.
pub fn reason(code: &str, rule_id: &str, message: &str, details: &[(&str, &str)]) -> pb::Reason {
    pb::Reason {
        code: code.to_owned(),
        message: message.to_owned(),
        rule_id: rule_id.to_owned(),
        details: details
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The note of a rule not evaluated because an earlier allow rule decided.
pub const AFTER_ALLOW: &str = "not evaluated: an earlier allow rule decided";

/// The note of a rule not evaluated because a deny rule matched.
pub const AFTER_DENY: &str = "not evaluated: a deny rule already matched";

/// The note of a rule whose scope does not cover the request.
pub const OUT_OF_SCOPE: &str = "not applicable: outside the rule's scope";

/// One entry of an explain trace: `(rule_id, effect, matched, decisive,
/// note)`.
pub type TraceRow<'a> = (&'a str, &'a str, bool, bool, &'a str);

/// The rule trace of a decision, in order.
pub fn trace(d: &(impl Decision + ?Sized)) -> Vec<TraceRow<'_>> {
    let meta = d.meta().unwrap_or_else(|| panic!("no meta: {d:#?}"));
    meta.trace
        .iter()
        .map(|t| (&*t.rule_id, &*t.effect, t.matched, t.decisive, &*t.note))
        .collect()
}

/// Asserts that `d` was decided at `as_of` by the bundle `status` describes,
/// under a UUIDv7 decision id, and returns its provenance.
pub fn assert_provenance<'d>(
    d: &'d (impl Decision + ?Sized),
    status: &pb::BundleStatus,
    as_of: &str,
) -> &'d pb::DecisionMeta {
    let meta = d.meta().unwrap_or_else(|| panic!("no meta: {d:#?}"));
    let id = uuid::Uuid::parse_str(&meta.decision_id).expect("decision_id is a UUID");
    assert_eq!(id.get_version_num(), 7, "decision_id is a UUIDv7: {meta:?}");
    let bundle = (
        &*meta.bundle_name,
        &*meta.bundle_revision,
        &*meta.bundle_digest,
    );
    assert_eq!(bundle, (&*status.name, &*status.revision, &*status.digest));
    assert_eq!(rfc3339(meta.evaluated_at.as_ref()), as_of, "{meta:?}");
    meta
}

/// Asserts a link decision: outcome, actions in order, reason codes in order.
pub fn assert_link(
    d: &pb::PaymentLinkDecision,
    outcome: pb::LinkOutcome,
    actions: &[pb::RequiredAction],
    want: &[&str],
) {
    assert_eq!(d.outcome(), outcome, "{d:#?}");
    assert_eq!(d.required_actions().collect::<Vec<_>>(), actions, "{d:#?}");
    assert_eq!(codes(d), want, "{d:#?}");
}

/// A funding step as `(source, method_id, amount_minor)`.
pub type Step<'a> = (pb::FundingSource, &'a str, i64);

/// Asserts a funding decision in yen: outcome, every step in order, reason
/// codes in order.
pub fn assert_funding(
    d: &pb::ChargeFundingDecision,
    outcome: pb::FundingOutcome,
    want_steps: &[Step<'_>],
    want: &[&str],
) {
    let steps: Vec<Step<'_>> = d
        .steps
        .iter()
        .map(|s| (s.source(), s.method_id.as_str(), s.amount_minor))
        .collect();
    assert_eq!(d.outcome(), outcome, "{d:#?}");
    assert_eq!(steps, want_steps, "{d:#?}");
    assert_eq!(codes(d), want, "{d:#?}");
    assert_eq!(d.currency, "JPY", "{d:#?}");
}

/// Asserts `INVALID_ARGUMENT` and returns the `BadRequest` field names, in
/// the order sent, checking each has a description the message repeats.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let bad = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest detail in {status:?}"));
    for v in &bad.field_violations {
        assert!(!v.description.is_empty(), "{v:?}");
        let line = format!("{}: {}", v.field, v.description);
        assert!(status.message().contains(&line), "`{line}` in {status:?}");
    }
    bad.field_violations.into_iter().map(|v| v.field).collect()
}

/// The decision of one result of a `DecidePlanChanges` stream; the test
/// fails when it is an error.
pub fn streamed(result: pb::PlanChangeResult) -> pb::PlanChangeDecision {
    match result.result {
        Some(pb::plan_change_result::Result::Decision(d)) => d,
        other => panic!("result {} is not a decision: {other:?}", result.index),
    }
}

/// The error of one result of a `DecidePlanChanges` stream; the test fails
/// when it is a decision.
pub fn stream_error(result: pb::PlanChangeResult) -> pb::RequestError {
    match result.result {
        Some(pb::plan_change_result::Result::Error(e)) => e,
        other => panic!("result {} is not an error: {other:?}", result.index),
    }
}
