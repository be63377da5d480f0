//! What every decision carries besides its outcome: a fresh id, the
//! bundle's provenance, the instant it was evaluated at (the request's, or
//! the server clock's), and no trace unless asked; and the bundle status.

use tollgate::grpc::pb::{self, EffectiveTiming};

use crate::support::{
    AS_OF, DEMO_REVISION, Decision, Server, assert_provenance, card, demo_counts, funding_request,
    link_request, request, ts,
};

#[tokio::test]
async fn every_decision_carries_a_fresh_id_and_the_bundle_provenance() {
    let server = Server::embedded().await;
    let status = server.status().await;
    let plan = request("free", "standard");
    let link = link_request("video-stream", 80, vec![card("card-1", 0)]);
    let funding = funding_request("video-stream", 3000, 5000, vec![]);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let decisions: [Box<dyn Decision>; 3] = [
            Box::new(server.decide(plan.clone()).await),
            Box::new(server.decide(link.clone()).await),
            Box::new(server.decide(funding.clone()).await),
        ];
        for d in &decisions {
            let meta = assert_provenance(d.as_ref(), &status, AS_OF);
            assert_eq!(meta.trace, [], "no trace without explain: {d:#?}");
            ids.push(meta.decision_id.clone());
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "every decision has its own id");
}

#[tokio::test]
async fn bundle_status_describes_the_embedded_demo_bundle() {
    let server = Server::embedded().await;
    let status = server.status().await;
    assert_eq!(status.name, "demo");
    assert_eq!(status.revision, DEMO_REVISION);
    assert_eq!(status.source, "embedded:demo");
    assert_eq!((status.rule_count, status.test_count), demo_counts(&[]));
    assert_eq!(status.digest.len(), 64, "sha256 hex: {status:?}");
    assert!(status.loaded_at.is_some());
    assert!(status.last_reload_attempt_at.is_some());
    assert_eq!(status.last_reload_error, "");
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
