//! A request the deciding rule cannot be decided on (its timing needs a
//! billing date the request did not send): `FAILED_PRECONDITION` with a
//! `google.rpc.PreconditionFailure` naming the field and the rule, unary and
//! in a stream; neither counted as a decision nor logged.

use tollgate::{
    app::ServeOptions,
    grpc::pb::{self, Verdict},
    reload::BundleSource,
};
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::{
    decision_log::Logged,
    http::value,
    support::{Server, metrics, request, stream_error, streamed, ts},
};

/// A downgrade over the target's quota, which the demo makes wait for the
/// next billing cycle, with `billing` as the calendar.
fn over_quota(billing: Option<pb::Billing>) -> pb::PlanChangeRequest {
    let mut req = request("premium", "standard");
    req.usage = metrics(&[("users", 10.0), ("storage_gb", 20.0)]);
    req.period_usage = metrics(&[("api_calls", 250_000.0)]);
    req.billing = billing;
    req
}

const NO_PERIOD_END: &str = "rule `downgrade-over-quota` takes effect at the next billing cycle, \
     which needs `billing.current_period_end` or `billing.anchor_day`";

/// `(type, subject, description)` of each violation of a unary refusal,
/// checking the code and that the message names the field and the rule.
fn violations(status: &tonic::Status) -> Vec<(String, String, String)> {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let failure = status
        .get_details_precondition_failure()
        .unwrap_or_else(|| panic!("no PreconditionFailure detail in {status:?}"));
    assert!(status.get_details_bad_request().is_none(), "{status:?}");
    failure
        .violations
        .into_iter()
        .map(|v| (v.r#type, v.subject, v.description))
        .collect()
}

#[tokio::test]
async fn a_missing_billing_date_is_a_failed_precondition_naming_it_and_the_rule() {
    let server = Server::embedded().await;

    let status = server.decide_err(over_quota(None)).await;
    assert_eq!(
        violations(&status),
        [(
            "MISSING_BILLING_FACT".to_owned(),
            "billing.current_period_end".to_owned(),
            NO_PERIOD_END.to_owned()
        )]
    );
    assert_eq!(
        status.message(),
        format!(
            "failed precondition: the request lacks `billing.current_period_end`: {NO_PERIOD_END}"
        )
    );

    // A period ending exactly at `as_of` and no anchor day: the next
    // boundary needs the anchor day.
    let stale = over_quota(Some(pb::Billing {
        current_period_end: Some(ts(crate::support::AS_OF)),
        time_zone: "Asia/Tokyo".to_owned(),
        ..Default::default()
    }));
    let status = server.decide_err(stale).await;
    let got = violations(&status);
    let subjects: Vec<&str> = got.iter().map(|v| v.1.as_str()).collect();
    assert_eq!(subjects, ["billing.anchor_day"], "{status:?}");
    assert!(got[0].2.contains("`downgrade-over-quota`"), "{status:?}");

    // With the anchor day, the same request is decided.
    let anchored = over_quota(Some(pb::Billing {
        anchor_day: 1,
        time_zone: "Asia/Tokyo".to_owned(),
        ..Default::default()
    }));
    assert_eq!(server.decide(anchored).await.verdict(), Verdict::Allow);
}

#[tokio::test]
async fn a_streamed_request_missing_a_billing_date_gets_the_same_error_and_the_stream_goes_on() {
    let server = Server::embedded().await;
    let unary = violations(&server.decide_err(over_quota(None)).await);

    let good = request("free", "standard");
    let results = server
        .decide_stream(vec![good.clone(), over_quota(None), good])
        .await;
    let [first, second, third] = <[_; 3]>::try_from(results).expect("three results");
    streamed(first);
    streamed(third);
    assert_eq!(second.index, 1);
    let error = stream_error(second);
    assert_eq!(error.code, "FAILED_PRECONDITION", "{error:?}");
    assert!(error.field_violations.is_empty(), "{error:?}");
    let got: Vec<(String, String, String)> = error
        .precondition_violations
        .iter()
        .map(|v| (v.r#type.clone(), v.subject.clone(), v.description.clone()))
        .collect();
    assert_eq!(got, unary, "the same violation as a unary call's");
    assert!(
        error.message.contains("`billing.current_period_end`"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failed_precondition_is_counted_apart_from_decisions() {
    let server = Server::with_admin(BundleSource::Embedded, ServeOptions::default()).await;
    server.decide_err(over_quota(None)).await;
    server.decide_stream(vec![over_quota(None)]).await;
    let text = server.scrape().await;
    let failures = [
        ("decision", "plan_change"),
        ("subject", "billing.current_period_end"),
    ];
    assert_eq!(
        value(
            &text,
            "tollgate_decision_precondition_failures_total",
            &failures
        ),
        Some(2.0),
        "{text}"
    );
    for outcome in ["allow", "deny"] {
        let labels = [("decision", "plan_change"), ("outcome", outcome)];
        assert_eq!(
            value(&text, "tollgate_decisions_total", &labels),
            Some(0.0),
            "no decision was made: {text}"
        );
    }
}

#[tokio::test]
async fn a_failed_precondition_is_not_logged_as_a_decision() {
    let logged = Logged::start(|s| s).await;
    logged.server.decide_err(over_quota(None)).await;
    let good = request("free", "standard");
    logged
        .server
        .decide_stream(vec![good.clone(), over_quota(None), good])
        .await;
    let events = logged.events().await;
    let got: Vec<(&str, Option<u64>)> = events
        .iter()
        .map(|e| {
            (
                e["decision"].as_str().expect("decision"),
                e["batchIndex"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("plan_change_batch", Some(0)),
            ("plan_change_batch", Some(2))
        ]
    );
}
