//! Reasons in the caller's language: the request's `locale` field, else the
//! call's `accept-language` metadata, picks the demo bundle's best-matching
//! locale (`en` or `ja`), else its default (`en`); `meta.locale` says which
//! answered, the decision log records it, and codes and details never
//! change with it. A malformed `locale` is INVALID_ARGUMENT naming it; a
//! malformed header is ignored.

use tokio_stream::StreamExt as _;
use tollgate::grpc::pb;

use crate::{
    decision_log::Logged,
    support::{
        Server, auto_charge, bad_fields, balance_method, bank, funding_request, link_request,
        metrics, request, stream_error, streamed,
    },
};

/// A downgrade the demo denies: 10 users over `free`'s limit of 3.
fn over_the_limit() -> pb::PlanChangeRequest {
    let mut r = request("premium", "free");
    r.usage = metrics(&[("users", 10.0), ("storage_gb", 0.5)]);
    r.period_usage = metrics(&[("api_calls", 10.0)]);
    r
}

/// `req` with the call metadata `accept-language: accept`.
fn with_accept<T>(req: T, accept: &str) -> tonic::Request<T> {
    let mut call = tonic::Request::new(req);
    call.metadata_mut()
        .insert("accept-language", accept.parse().expect("ASCII metadata"));
    call
}

/// Decides a plan change sent with `accept-language: accept`.
async fn decide_accepting(
    server: &Server,
    req: pb::PlanChangeRequest,
    accept: &str,
) -> pb::PlanChangeDecision {
    server
        .decisions()
        .decide_plan_change(with_accept(req, accept))
        .await
        .unwrap_or_else(|s| panic!("DecidePlanChange failed: {s:?}"))
        .into_inner()
}

/// The locale a decision says its messages are in, and its one message.
fn answered_in(d: &pb::PlanChangeDecision) -> (&str, &str) {
    let meta = d.meta.as_ref().expect("meta");
    assert_eq!(d.reasons.len(), 1, "{d:#?}");
    (&meta.locale, &d.reasons[0].message)
}

const JA: &str = "users は 10 で、`free` プランの上限 3 を超えています";
const EN: &str = "users is 10, over the `free` limit of 3";

#[tokio::test]
async fn the_locale_field_gives_japanese_and_only_the_messages_change() {
    let server = Server::embedded().await;
    let mut ja = over_the_limit();
    ja.locale = "ja-JP".to_owned();
    let ja = server.decide(ja).await;
    let en = server.decide(over_the_limit()).await;
    assert_eq!(answered_in(&ja), ("ja", JA));
    assert_eq!(answered_in(&en), ("en", EN));
    // Everything but the message and the per-call provenance is the same.
    let strip = |d: &pb::PlanChangeDecision| {
        let mut d = d.clone();
        d.meta = None;
        for r in &mut d.reasons {
            r.message.clear();
        }
        d
    };
    assert_eq!(strip(&ja), strip(&en));
    assert_eq!(
        ja.reasons[0].details,
        [("metric", "users"), ("current", "10"), ("limit", "3")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
    );
}

#[tokio::test]
async fn accept_language_picks_when_the_field_is_empty_and_the_field_wins() {
    let server = Server::embedded().await;
    for (accept, locale, want) in [
        ("ja;q=0.9, en;q=0.8", "", ("ja", JA)),
        ("en;q=0.8, ja-JP;q=0.9", "", ("ja", JA)),
        ("en-GB, ja;q=0.5", "", ("en", EN)),
        // The request's own field wins over the call's header.
        ("ja;q=0.9, en;q=0.8", "en-US", ("en", EN)),
        ("en", "ja", ("ja", JA)),
        // A language the bundle does not write: the default.
        ("fr-FR, de;q=0.7", "", ("en", EN)),
        ("", "fr", ("en", EN)),
        // A malformed header is ignored, not refused.
        ("ja;q=2", "", ("en", EN)),
        ("ja;level=1", "", ("en", EN)),
    ] {
        let mut req = over_the_limit();
        req.locale = locale.to_owned();
        let d = decide_accepting(&server, req, accept).await;
        assert_eq!(
            answered_in(&d),
            want,
            "accept-language `{accept}`, locale `{locale}`"
        );
    }
}

#[tokio::test]
async fn a_malformed_locale_is_invalid_argument_naming_it_on_every_rpc() {
    let server = Server::embedded().await;
    for bad in ["ja--JP", "not a tag", "x"] {
        let mut plan = request("free", "standard");
        plan.locale = bad.to_owned();
        let status = server.decide_err(plan).await;
        assert_eq!(bad_fields(&status), ["locale"], "{bad}");
        assert!(status.message().contains(&format!("`{bad}`")), "{status:?}");

        let mut link = link_request("video-stream", 80, vec![bank("bank-1", 0)]);
        link.locale = bad.to_owned();
        assert_eq!(bad_fields(&server.decide_err(link).await), ["locale"]);

        let mut funding = funding_request("video-stream", 3000, 5000, vec![balance_method()]);
        funding.locale = bad.to_owned();
        assert_eq!(bad_fields(&server.decide_err(funding).await), ["locale"]);
    }
}

#[tokio::test]
async fn the_stream_honours_the_header_and_each_request_s_field() {
    let server = Server::embedded().await;
    let mut english = over_the_limit();
    english.locale = "en".to_owned();
    let mut malformed = over_the_limit();
    malformed.locale = "ja_JP_".to_owned();
    let requests = vec![over_the_limit(), english, malformed];
    let call = with_accept(tokio_stream::iter(requests), "ja");
    let mut results = server
        .decisions()
        .decide_plan_changes(call)
        .await
        .expect("DecidePlanChanges answers")
        .into_inner();
    let mut got = Vec::new();
    while let Some(result) = results.next().await {
        got.push(result.expect("no transport error"));
    }
    let [header, field, bad] = <[_; 3]>::try_from(got).expect("three results");
    assert_eq!(answered_in(&streamed(header)), ("ja", JA));
    assert_eq!(answered_in(&streamed(field)), ("en", EN));
    let error = stream_error(bad);
    assert_eq!(error.code, "INVALID_ARGUMENT");
    let fields: Vec<&str> = error.field_violations.iter().map(|v| &*v.field).collect();
    assert_eq!(fields, ["locale"], "{error:?}");
}

#[tokio::test]
async fn japanese_messages_write_amounts_as_japanese_does() {
    let server = Server::embedded().await;
    let mut covered = funding_request("video-stream", 3000, 5000, vec![balance_method()]);
    covered.locale = "ja-JP".to_owned();
    let d = server.decide(covered.clone()).await;
    assert_eq!(
        d.reasons[0].message,
        "残高 ¥5,000 で請求額 ¥3,000 を支払えます"
    );
    assert_eq!(d.meta.as_ref().map(|m| &*m.locale), Some("ja"));
    covered.locale = String::new();
    let d = server.decide(covered).await;
    assert_eq!(
        d.reasons[0].message,
        "the balance of JPY 5,000 covers the charge of JPY 3,000"
    );

    let link = link_request("ride-share", 80, vec![bank("bank-1", 0)]);
    let mut link = pb::PaymentLinkRequest {
        auto_charge: auto_charge("bank-1", 12_000),
        ..link
    };
    link.locale = "ja".to_owned();
    let d = server.decide(link).await;
    assert_eq!(
        d.reasons[0].message,
        "`bank-1` からの ¥12,000 の自動チャージは、`ride-share` の最低額 ¥3,000 を満たしています"
    );
}

#[tokio::test]
async fn the_decision_log_records_the_locale_that_answered() {
    let logged = Logged::start(|s| s).await;
    let mut ja = over_the_limit();
    ja.locale = "ja-JP".to_owned();
    logged.server.decide(ja).await;
    decide_accepting(&logged.server, over_the_limit(), "fr, en-GB;q=0.5").await;
    let events = logged.events().await;
    let locales: Vec<&str> = events.iter().filter_map(|e| e["locale"].as_str()).collect();
    assert_eq!(locales, ["ja", "en"]);
}
