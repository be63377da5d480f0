//! `DecidePlanChanges`: many plan-change questions on one stream, one result
//! per request in order; a malformed request gets its own error and does
//! not end the stream.

use tollgate::grpc::pb::{self, plan_change_result::Result as Outcome};

use crate::support::{Server, codes, metrics, request};

#[tokio::test]
async fn a_stream_answers_every_request_in_order_like_unary_calls() {
    let server = Server::embedded().await;
    let mut requests = Vec::new();
    for (from, to) in [
        ("free", "standard"),
        ("standard", "standard"),
        ("premium", "platinum"),
    ] {
        requests.push(request(from, to));
    }
    let mut fits = request("standard", "free");
    fits.usage = metrics(&[("users", 2.0), ("storage_gb", 0.5)]);
    requests.push(fits);
    // 200 more, so the stream is more than a handful of messages.
    for i in 0..200 {
        let mut r = request("premium", "standard");
        r.usage = metrics(&[("users", f64::from(i)), ("storage_gb", 10.0)]);
        requests.push(r);
    }

    let response = server
        .decisions()
        .decide_plan_changes(tokio_stream::iter(requests.clone()))
        .await
        .expect("the stream opens");
    let mut results = response.into_inner();
    let mut got = Vec::new();
    while let Some(result) = results.message().await.expect("no transport error") {
        got.push(result);
    }
    assert_eq!(got.len(), requests.len());
    for (i, (result, req)) in got.iter().zip(&requests).enumerate() {
        assert_eq!(result.index, i as u64);
        let Some(Outcome::Decision(d)) = &result.result else {
            panic!("request {i} got no decision: {result:?}");
        };
        let unary = server.decide(req.clone()).await;
        assert_eq!(d.verdict, unary.verdict, "request {i}");
        assert_eq!(d.timing, unary.timing, "request {i}");
        assert_eq!(d.effective_at, unary.effective_at, "request {i}");
        assert_eq!(codes(d), codes(&unary), "request {i}");
        let (a, b) = (
            d.meta.as_ref().expect("meta"),
            unary.meta.as_ref().expect("meta"),
        );
        assert_ne!(
            a.decision_id, b.decision_id,
            "every decision has its own id"
        );
    }
    let first = match &got[0].result {
        Some(Outcome::Decision(d)) => codes(d),
        _ => Vec::new(),
    };
    assert_eq!(first, ["UPGRADE"]);
}

#[tokio::test]
async fn a_malformed_request_gets_its_own_error_and_the_stream_goes_on() {
    let server = Server::embedded().await;
    let good = request("free", "standard");
    let mut bad = request("", "standard");
    bad.usage = metrics(&[("users", -3.0)]);
    let requests = vec![good.clone(), bad, good];

    let mut results = server
        .decisions()
        .decide_plan_changes(tokio_stream::iter(requests))
        .await
        .expect("the stream opens")
        .into_inner();
    let mut got: Vec<pb::PlanChangeResult> = Vec::new();
    while let Some(r) = results.message().await.expect("no transport error") {
        got.push(r);
    }
    assert_eq!(got.len(), 3);
    assert!(matches!(&got[0].result, Some(Outcome::Decision(_))));
    assert!(matches!(&got[2].result, Some(Outcome::Decision(_))));
    let Some(Outcome::Error(e)) = &got[1].result else {
        panic!("the malformed request got no error: {:?}", got[1]);
    };
    assert_eq!(got[1].index, 1);
    assert_eq!(e.code, "INVALID_ARGUMENT");
    let fields: Vec<&str> = e
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["from_plan", "usage[\"users\"]"], "{e:?}");
}

#[tokio::test]
async fn an_empty_stream_gets_no_results() {
    let server = Server::embedded().await;
    let mut results = server
        .decisions()
        .decide_plan_changes(tokio_stream::iter(Vec::<pb::PlanChangeRequest>::new()))
        .await
        .expect("the stream opens")
        .into_inner();
    assert!(
        results
            .message()
            .await
            .expect("no transport error")
            .is_none()
    );
}
