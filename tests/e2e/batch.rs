//! `DecidePlanChanges`: many plan-change questions on one stream, one result
//! per request in order, each decision as a unary call would answer it; a
//! malformed request gets its own error and does not end the stream.

use crate::support::{Server, bad_fields, metrics, request, stream_error, streamed};

#[tokio::test]
async fn a_stream_answers_every_request_in_order_as_unary_calls_do() {
    let server = Server::embedded().await;
    let mut requests = vec![
        request("free", "standard"),
        request("standard", "standard"),
        request("premium", "platinum"),
    ];
    let mut fits = request("standard", "free");
    fits.usage = metrics(&[("users", 2.0), ("storage_gb", 0.5)]);
    fits.explain = true;
    requests.push(fits);
    // 200 more, so the stream is more than a handful of messages.
    for i in 0..200 {
        let mut r = request("premium", "standard");
        r.usage = metrics(&[("users", f64::from(i)), ("storage_gb", 10.0)]);
        requests.push(r);
    }

    let results = server.decide_stream(requests.clone()).await;
    assert_eq!(results.len(), requests.len());
    for (i, (result, req)) in results.into_iter().zip(requests).enumerate() {
        assert_eq!(result.index, i as u64);
        let mut streamed = streamed(result);
        let mut unary = server.decide(req).await;
        // Every decision has its own id; everything else is the same.
        let (a, b) = (streamed.meta.as_mut(), unary.meta.as_mut());
        let (a, b) = (a.expect("meta"), b.expect("meta"));
        assert_ne!(a.decision_id, b.decision_id, "request {i}");
        a.decision_id = b.decision_id.clone();
        assert_eq!(streamed, unary, "request {i}");
    }
}

#[tokio::test]
async fn a_malformed_request_gets_its_own_error_and_the_stream_goes_on() {
    let server = Server::embedded().await;
    let good = request("free", "standard");
    let mut bad = request("", "standard");
    bad.usage = metrics(&[("users", -3.0)]);
    let unary = bad_fields(&server.decide_err(bad.clone()).await);

    let results = server.decide_stream(vec![good.clone(), bad, good]).await;
    let [first, second, third] = <[_; 3]>::try_from(results).expect("three results");
    streamed(first);
    streamed(third);
    assert_eq!(second.index, 1);
    let error = stream_error(second);
    assert_eq!(error.code, "INVALID_ARGUMENT");
    // The same violations as a unary call's `BadRequest`.
    let fields: Vec<&str> = error.field_violations.iter().map(|v| &*v.field).collect();
    assert_eq!(fields, ["from_plan", "usage[\"users\"]"], "{error:?}");
    assert_eq!(fields, unary);
}

#[tokio::test]
async fn an_empty_stream_gets_no_results() {
    let server = Server::embedded().await;
    assert_eq!(server.decide_stream(Vec::new()).await, []);
}
