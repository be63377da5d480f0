//! What the bundle declares of metrics and resellers, over the wire: a
//! declared metric sent in the wrong map is `INVALID_ARGUMENT` with a
//! `google.rpc.BadRequest` naming the field, unary and as a stream item's
//! own error; undeclared metrics arrive as `unknown_metrics` and reach the
//! decision log; `requester.id` reaches the reseller facts. What the demo
//! decides with them is its own tests' and `tests/cases/`'s business.

use tollgate::grpc::pb::{self, RequesterRole, Verdict};
use tonic_types::StatusExt as _;

use crate::{
    decision_log::Logged,
    support::{Server, codes, metrics, request, stream_error, streamed},
};

const API_CALLS_IN_USAGE: &str = "api_calls is counted per period; send it in period_usage";

/// An upgrade sending the period metric `api_calls` as a stock.
fn api_calls_in_usage() -> pb::PlanChangeRequest {
    let mut req = request("free", "standard");
    req.usage = metrics(&[("users", 3.0), ("api_calls", 900.0)]);
    req
}

/// The one violation `api_calls_in_usage` is refused for.
fn api_calls_refused() -> Vec<(String, String)> {
    vec![(
        "usage[\"api_calls\"]".to_owned(),
        API_CALLS_IN_USAGE.to_owned(),
    )]
}

/// An upgrade reporting `user` (a typo) and `api_cals` besides `users`.
fn with_typos() -> pb::PlanChangeRequest {
    let mut req = request("free", "standard");
    req.usage = metrics(&[("users", 3.0), ("user", 3.0)]);
    req.period_usage = metrics(&[("api_cals", 10.0)]);
    req
}

#[tokio::test]
async fn a_metric_in_the_wrong_map_is_invalid_argument_naming_the_field() {
    let server = Server::embedded().await;
    let status = server.decide_err(api_calls_in_usage()).await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let bad = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest detail in {status:?}"));
    let got = bad
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()));
    assert_eq!(got.collect::<Vec<_>>(), api_calls_refused());
    assert_eq!(
        status.message(),
        format!("invalid request: usage[\"api_calls\"]: {API_CALLS_IN_USAGE}")
    );

    // A stock metric in period_usage, the other way round.
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("storage_gb", 20.0)]);
    req.period_usage = metrics(&[("users", 10.0), ("api_calls", 10.0)]);
    let status = server.decide_err(req).await;
    let bad = status.get_details_bad_request().expect("a BadRequest");
    let fields: Vec<&str> = bad.field_violations.iter().map(|v| &*v.field).collect();
    assert_eq!(fields, ["period_usage[\"users\"]"], "{status:?}");
}

#[tokio::test]
async fn a_streamed_metric_in_the_wrong_map_gets_its_own_error_and_the_stream_goes_on() {
    let server = Server::embedded().await;
    let good = request("free", "standard");
    let results = server
        .decide_stream(vec![good.clone(), api_calls_in_usage(), with_typos(), good])
        .await;
    let [first, second, third, fourth] = <[_; 4]>::try_from(results).expect("four results");
    streamed(first);
    streamed(fourth);
    assert_eq!(second.index, 1);
    let error = stream_error(second);
    assert_eq!(error.code, "INVALID_ARGUMENT", "{error:?}");
    assert!(error.precondition_violations.is_empty(), "{error:?}");
    let got = error
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()));
    assert_eq!(got.collect::<Vec<_>>(), api_calls_refused(), "as unary");
    let typos = streamed(third);
    assert_eq!(typos.unknown_metrics, ["api_cals", "user"], "{typos:#?}");
}

#[tokio::test]
async fn undeclared_metrics_arrive_and_are_logged_but_a_refused_request_is_not() {
    let logged = Logged::start(|s| s).await;
    let d = logged.server.decide(with_typos()).await;
    assert_eq!(d.verdict(), Verdict::Allow, "{d:#?}");
    assert_eq!(d.unknown_metrics, ["api_cals", "user"], "{d:#?}");
    let clean = logged.server.decide(request("free", "standard")).await;
    assert!(clean.unknown_metrics.is_empty(), "{clean:#?}");
    logged.server.decide_err(api_calls_in_usage()).await;

    let events = logged.events().await;
    let unknown: Vec<&serde_json::Value> = events.iter().map(|e| &e["unknownMetrics"]).collect();
    assert_eq!(
        unknown,
        [
            &serde_json::json!(["api_cals", "user"]),
            // An empty list is left out, as proto3 JSON leaves it out.
            &serde_json::Value::Null
        ],
        "two decisions logged, the refused request not: {events:?}"
    );
}

#[tokio::test]
async fn the_requester_id_reaches_the_reseller_terms() {
    let server = Server::embedded().await;
    let as_reseller = |id: &str| {
        let mut req = request("free", "standard");
        req.requester = Some(pb::Requester {
            role: RequesterRole::Reseller.into(),
            id: id.to_owned(),
        });
        req
    };
    let known = server.decide(as_reseller("reseller-7")).await;
    assert_eq!(codes(&known), ["UPGRADE"], "{known:#?}");
    let unknown = server.decide(as_reseller("reseller-404")).await;
    assert_eq!(codes(&unknown), ["UNKNOWN_RESELLER"], "{unknown:#?}");
    let details: Vec<(&str, &str)> = unknown.reasons[0]
        .details
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(details, [("reseller_id", "reseller-404")]);
}
