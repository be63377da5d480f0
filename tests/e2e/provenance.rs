//! What every decision carries besides its verdict: a fresh id, the bundle's
//! provenance, the evaluation instant, and the rule trace when asked.

use tollgate::grpc::pb::{self, EffectiveTiming, RequesterRole};

use crate::support::{
    AS_OF, DEMO_REVISION, DEMO_RULES, Server, assert_deny, metrics, request, requester, rfc3339, ts,
};

#[tokio::test]
async fn decisions_carry_a_fresh_id_and_the_bundle_provenance() {
    let server = Server::embedded().await;
    let status = server.status().await;
    let first = server.decide(request("free", "standard")).await;
    let second = server.decide(request("free", "standard")).await;
    let (a, b) = (first.meta.expect("meta"), second.meta.expect("meta"));

    assert!(!a.decision_id.is_empty());
    assert_ne!(a.decision_id, b.decision_id);
    let id = uuid::Uuid::parse_str(&a.decision_id).expect("decision_id is a UUID");
    assert_eq!(id.get_version_num(), 7, "decision_id is a UUIDv7");

    for meta in [&a, &b] {
        assert_eq!(meta.bundle_revision, DEMO_REVISION);
        assert_eq!(meta.bundle_name, "demo");
        assert!(!meta.bundle_digest.is_empty());
        assert_eq!(meta.bundle_digest, status.digest);
        assert_eq!(rfc3339(meta.evaluated_at.as_ref()), AS_OF);
    }
}

#[tokio::test]
async fn bundle_status_describes_the_embedded_demo_bundle() {
    let server = Server::embedded().await;
    let status = server.status().await;
    assert_eq!(status.name, "demo");
    assert_eq!(status.revision, DEMO_REVISION);
    assert_eq!(status.source, "embedded:demo");
    assert_eq!(status.rule_count, 22);
    assert_eq!(status.test_count, 31);
    assert_eq!(status.digest.len(), 64, "sha256 hex: {status:?}");
    assert!(status.loaded_at.is_some());
    assert!(status.last_reload_attempt_at.is_some());
    assert_eq!(status.last_reload_error, "");
}

#[tokio::test]
async fn explain_traces_every_rule_in_bundle_order() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.explain = true;
    let d = server.decide(req).await;
    let trace = d.meta.expect("meta").trace;
    let ids: Vec<&str> = trace.iter().map(|t| t.rule_id.as_str()).collect();
    assert_eq!(ids, DEMO_RULES);

    let effects: Vec<&str> = trace.iter().map(|t| t.effect.as_str()).collect();
    assert_eq!(
        effects,
        [
            "deny", "deny", "deny", "deny", "deny", "deny", "allow", "allow", "allow", "allow"
        ]
    );
    // Only the upgrade rule matched and decided; later allow rules were skipped.
    for t in &trace {
        let decided = t.rule_id == "upgrade-immediate";
        assert_eq!(t.matched, decided, "{t:?}");
        assert_eq!(t.decisive, decided, "{t:?}");
    }
    for t in &trace[7..] {
        assert!(!t.note.is_empty(), "a skipped rule says why: {t:?}");
    }
}

#[tokio::test]
async fn explain_marks_every_matching_deny_as_decisive() {
    let server = Server::embedded().await;
    // A reseller downgrading from a contract-only plan, over one limit of the
    // target and without reporting the other: three deny rules match.
    let mut req = request("enterprise", "standard");
    req.requester = requester(RequesterRole::Reseller);
    req.usage = metrics(&[("users", 120.0)]);
    req.explain = true;
    let d = server.decide(req).await;
    assert_deny(
        &d,
        &[
            "RESELLER_NOT_PERMITTED",
            "USAGE_EXCEEDS_TARGET_LIMIT",
            "USAGE_NOT_REPORTED",
        ],
    );
    let trace = d.meta.expect("meta").trace;
    assert_eq!(trace.len(), DEMO_RULES.len());
    let decisive: Vec<&str> = trace
        .iter()
        .filter(|t| t.decisive)
        .map(|t| t.rule_id.as_str())
        .collect();
    assert_eq!(
        decisive,
        [
            "reseller-contract-only",
            "usage-within-target-limits",
            "downgrade-usage-reported"
        ]
    );
    for t in trace.iter().filter(|t| t.effect == "allow") {
        assert!(!t.matched && !t.note.is_empty(), "{t:?}");
    }
}

#[tokio::test]
async fn without_explain_the_trace_is_empty() {
    let server = Server::embedded().await;
    for (from, to) in [("free", "standard"), ("standard", "standard")] {
        let d = server.decide(request(from, to)).await;
        assert_eq!(d.meta.expect("meta").trace, []);
    }
}

#[tokio::test]
async fn missing_as_of_uses_the_server_clock() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.as_of = None;
    let before = jiff::Timestamp::now();
    let d = server.decide(req).await;
    let after = jiff::Timestamp::now();

    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(d.timing(), EffectiveTiming::Immediate);
    let at = d.effective_at.expect("effective_at");
    let at = jiff::Timestamp::new(at.seconds, at.nanos).expect("valid instant");
    // Bracketed by our own clock readings, with a little slack for rounding.
    let slack = jiff::SignedDuration::from_secs(2);
    assert!(
        before - slack <= at && at <= after + slack,
        "{before} <= {at} <= {after}"
    );
    assert_eq!(
        d.meta.expect("meta").evaluated_at,
        d.effective_at,
        "the instant used is reported"
    );
}

#[tokio::test]
async fn instants_before_1970_are_encoded_with_non_negative_nanos() {
    let server = Server::embedded().await;
    // 1969-12-31T23:59:59.5Z: google.protobuf.Timestamp counts the fraction
    // forward from the whole second below, so nanos is never negative.
    let as_of = prost_types::Timestamp {
        seconds: -1,
        nanos: 500_000_000,
    };
    assert_eq!(ts("1969-12-31T23:59:59.5Z"), as_of);
    let mut req = request("free", "standard");
    req.as_of = Some(as_of);
    let d = server.decide(req).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(d.effective_at, Some(as_of), "effective_at");
    assert_eq!(
        d.meta.expect("meta").evaluated_at,
        Some(as_of),
        "evaluated_at"
    );
}
