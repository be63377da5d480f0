//! `/metrics`, scraped over real HTTP while real gRPC calls run: decision,
//! reason and latency counts, calls in flight and refused by the limits,
//! reloads and the active bundle, decision-log counters.

use std::{collections::BTreeMap, time::Duration};

use tempfile::TempDir;
use tollgate::{
    app::ServeOptions,
    decision_log::{DecisionLog, Settings, Target},
    grpc::{ServerOptions, pb},
    reload::BundleSource,
};
use tonic::Code;

use crate::{
    http::value,
    limits::stalled_unary_call,
    support::{
        BundleDir, DEMO_REVISION, Server, card, codes, demo_file, eventually, funding_request,
        link_request, request, streamed, wait_for_reload_error, wait_for_revision,
    },
};

fn decisions(text: &str, decision: &str, outcome: &str) -> Option<f64> {
    let labels = [("decision", decision), ("outcome", outcome)];
    value(text, "tollgate_decisions_total", &labels)
}

fn reasons(text: &str, decision: &str, code: &str) -> Option<f64> {
    let labels = [("decision", decision), ("code", code)];
    value(text, "tollgate_decision_reasons_total", &labels)
}

pub(crate) fn reload_failures(text: &str, kind: &str) -> Option<f64> {
    value(
        text,
        "tollgate_bundle_reload_failures_total",
        &[("kind", kind)],
    )
}

fn rejected(text: &str, reason: &str) -> Option<f64> {
    value(
        text,
        "tollgate_requests_rejected_total",
        &[("reason", reason)],
    )
}

fn counter(text: &str, name: &str) -> f64 {
    value(text, name, &[]).unwrap_or_else(|| panic!("no `{name}` in:\n{text}"))
}

/// Counts each code of each reply, as `tollgate_decision_reasons_total`
/// should.
fn tally<'a>(codes: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'a str, f64> {
    let mut out = BTreeMap::new();
    for code in codes {
        *out.entry(code).or_insert(0.0) += 1.0;
    }
    out
}

#[tokio::test]
async fn every_decision_is_counted_by_type_outcome_reason_and_latency() {
    let server = Server::with_admin(BundleSource::Embedded, ServeOptions::default()).await;
    let before = server.scrape().await;
    // The fixed series are there from the start, at zero.
    for (decision, outcome) in [
        ("plan_change", "allow"),
        ("plan_change", "deny"),
        ("payment_link", "link"),
        ("payment_link", "require_action"),
        ("payment_link", "deny"),
        ("charge_funding", "approve"),
        ("charge_funding", "decline"),
    ] {
        assert_eq!(decisions(&before, decision, outcome), Some(0.0), "{before}");
    }

    let allow = server.decide(request("free", "standard")).await;
    let deny = server.decide(request("free", "free")).await;
    let link = server
        .decide(link_request("video-stream", 40, vec![card("card-1", 0)]))
        .await;
    let unknown = server
        .decide(link_request("bookshop", 100, vec![card("card-1", 1)]))
        .await;
    let funded = server
        .decide(funding_request("video-stream", 3000, 5000, vec![]))
        .await;
    // A decision in a batch stream is counted like a unary one; a request
    // that is invalid is not a decision.
    let mut results = server
        .decide_stream(vec![request("free", "standard")])
        .await;
    let batched = streamed(results.remove(0));
    let mut invalid = request("free", "standard");
    invalid.tenant_id.clear();
    let err = server.decide_err(invalid).await;
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    assert_eq!(allow.verdict(), pb::Verdict::Allow);
    assert_eq!(deny.verdict(), pb::Verdict::Deny);
    assert_eq!(batched.verdict(), pb::Verdict::Allow);
    assert_eq!(link.outcome(), pb::LinkOutcome::Link);
    assert_eq!(unknown.outcome(), pb::LinkOutcome::Deny);
    assert_eq!(funded.outcome(), pb::FundingOutcome::Approve);

    let after = server.scrape().await;
    let want = [
        ("plan_change", "allow", 2.0),
        ("plan_change", "deny", 1.0),
        ("payment_link", "link", 1.0),
        ("payment_link", "require_action", 0.0),
        ("payment_link", "deny", 1.0),
        ("charge_funding", "approve", 1.0),
        ("charge_funding", "decline", 0.0),
    ];
    for (decision, outcome, n) in want {
        assert_eq!(
            decisions(&after, decision, outcome),
            Some(n),
            "{decision} {outcome}:\n{after}"
        );
    }
    let plan_codes = [&allow, &deny, &batched].into_iter().flat_map(codes);
    for (code, n) in tally(plan_codes) {
        assert_eq!(
            reasons(&after, "plan_change", code),
            Some(n),
            "{code}:\n{after}"
        );
    }
    for (code, n) in tally([&link, &unknown].into_iter().flat_map(codes)) {
        assert_eq!(
            reasons(&after, "payment_link", code),
            Some(n),
            "{code}:\n{after}"
        );
    }
    for code in codes(&funded) {
        assert_eq!(
            reasons(&after, "charge_funding", code),
            Some(1.0),
            "{code}:\n{after}"
        );
    }
    assert_eq!(reasons(&after, "plan_change", "UNKNOWN_MERCHANT"), None);

    for (decision, n) in [
        ("plan_change", 3.0),
        ("payment_link", 2.0),
        ("charge_funding", 1.0),
    ] {
        let labels = [("decision", decision)];
        let count = value(&after, "tollgate_decision_duration_seconds_count", &labels);
        assert_eq!(count, Some(n), "{decision}:\n{after}");
        let inf = [("decision", decision), ("le", "+Inf")];
        let all = value(&after, "tollgate_decision_duration_seconds_bucket", &inf);
        assert_eq!(all, Some(n), "{decision}:\n{after}");
    }
}

#[tokio::test]
async fn calls_in_flight_and_calls_refused_by_the_limits_are_counted() {
    let server = Server::with_admin(
        BundleSource::Embedded,
        ServeOptions {
            server: ServerOptions {
                max_concurrent_requests: 1,
                max_message_bytes: 1024,
                ..ServerOptions::default()
            },
            ..ServeOptions::default()
        },
    )
    .await;
    let text = server.scrape().await;
    for reason in ["concurrency", "deadline", "message_size"] {
        assert_eq!(rejected(&text, reason), Some(0.0), "{reason}:\n{text}");
    }

    // An open stream holds the only permit, and is in flight until it ends.
    let (requests, mut results) = server.stream_holding_a_permit().await;
    let in_flight = value(&server.scrape().await, "tollgate_requests_in_flight", &[]);
    assert_eq!(in_flight, Some(1.0));
    let err = server.decide_err(request("free", "standard")).await;
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(rejected(&server.scrape().await, "concurrency"), Some(1.0));

    drop(requests);
    assert!(results.message().await.expect("end").is_none());
    eventually("no call in flight", async || {
        let text = server.scrape().await;
        match value(&text, "tollgate_requests_in_flight", &[]) {
            Some(0.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let mut big = request("free", "standard");
    big.attributes.insert("note".to_owned(), "x".repeat(2048));
    let err = eventually("an oversized call past the freed permit", async || {
        let status = server.decide_err(big.clone()).await;
        match status.code() {
            Code::ResourceExhausted if !status.message().contains("in flight") => Ok(status),
            _ => Err(format!("{status:?}")),
        }
    })
    .await;
    assert!(err.message().contains("too large"), "{err:?}");
    assert_eq!(rejected(&server.scrape().await, "message_size"), Some(1.0));
}

#[tokio::test]
async fn a_call_past_its_deadline_is_counted() {
    let server = Server::with_admin(
        BundleSource::Embedded,
        ServeOptions {
            server: ServerOptions {
                request_timeout: Duration::from_millis(100),
                ..ServerOptions::default()
            },
            ..ServeOptions::default()
        },
    )
    .await;
    let status = stalled_unary_call(&server, &[]).await;
    assert_eq!(status, (Code::DeadlineExceeded as i32).to_string());
    assert_eq!(rejected(&server.scrape().await, "deadline"), Some(1.0));
}

#[tokio::test]
async fn reloads_failures_and_the_active_revision_are_reported() {
    let dir = BundleDir::demo();
    let server = Server::with_admin(
        BundleSource::Path(dir.path().to_path_buf()),
        ServeOptions::default(),
    )
    .await;
    let status = server.status().await;
    let text = server.scrape().await;
    assert_eq!(
        counter(&text, "tollgate_bundle_reloads_total"),
        1.0,
        "{text}"
    );
    for kind in ["fetch", "parse", "compile", "test", "signature"] {
        assert_eq!(reload_failures(&text, kind), Some(0.0), "{kind}: {text}");
    }
    let info = [
        ("revision", DEMO_REVISION),
        ("digest", status.digest.as_str()),
        ("name", status.name.as_str()),
    ];
    assert_eq!(
        value(&text, "tollgate_bundle_info", &info),
        Some(1.0),
        "{text}"
    );
    assert!(counter(&text, "tollgate_bundle_age_seconds") >= 0.0);

    dir.write("plan_change.yaml", "rules: [\n");
    wait_for_reload_error(&server, "plan_change.yaml").await;
    let text = server.scrape().await;
    let attempts = counter(&text, "tollgate_bundle_reloads_total");
    assert!(attempts >= 2.0, "{text}");
    // A file that does not parse: the bundle's fault, not the source's.
    assert!(
        reload_failures(&text, "parse").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(reload_failures(&text, "fetch"), Some(0.0), "{text}");
    // GetBundleStatus says the same, with each problem in place.
    let status = server.status().await;
    assert_eq!(status.last_reload_failure, "parse");
    let problem = status.last_reload_problems.first().expect("a problem");
    assert_eq!(problem.file, "plan_change.yaml");
    assert!(
        problem.line > 0 && !problem.message.is_empty(),
        "{problem:?}"
    );
    // The last good bundle keeps serving, and is still the one reported.
    let revision = [("revision", DEMO_REVISION)];
    assert_eq!(value(&text, "tollgate_bundle_info", &revision), Some(1.0));

    dir.write("plan_change.yaml", &demo_file("plan_change.yaml"));
    dir.set_revision("2026-12-01.1");
    wait_for_revision(&server, "2026-12-01.1").await;
    let text = server.scrape().await;
    assert!(
        counter(&text, "tollgate_bundle_reloads_total") > attempts,
        "{text}"
    );
    let new = [("revision", "2026-12-01.1")];
    assert_eq!(
        value(&text, "tollgate_bundle_info", &new),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "tollgate_bundle_info", &revision),
        None,
        "{text}"
    );
}

#[tokio::test]
async fn decision_log_events_written_are_counted() {
    let dir = TempDir::new().expect("temp dir");
    let settings = Settings {
        hash_key: Some(b"k".to_vec()),
        ..Settings::new(Target::File(dir.path().join("decisions.jsonl")))
    };
    let log = DecisionLog::start(settings).expect("start the decision log");
    let options = ServeOptions {
        decision_log: log,
        ..ServeOptions::default()
    };
    let server = Server::with_admin(BundleSource::Embedded, options).await;
    for _ in 0..3 {
        server.decide(request("free", "standard")).await;
    }
    let events = |text: &str, result: &str| {
        value(
            text,
            "tollgate_decision_log_events_total",
            &[("result", result)],
        )
    };
    eventually("three events written", async || {
        let text = server.scrape().await;
        match events(&text, "written") {
            Some(3.0) => Ok(text),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let text = server.scrape().await;
    assert_eq!(events(&text, "dropped"), Some(0.0), "{text}");
    assert_eq!(server.log_stats().written, 3);
}
