//! `tollgate serve` as a process and its tracing: with `--otlp-endpoint`,
//! each call's span reaches a real OTLP/gRPC receiver (a collector's
//! `TraceService`, run by the test) as a child of the caller's
//! `traceparent`, carrying the decision; spans still pending at SIGTERM are
//! flushed before exit. `--log-format json` writes JSON lines on stderr.
//! (A process per test: the subscriber is process-wide.)

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::{
    io::BufRead as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use tollgate::grpc::pb::{self, decision_service_client::DecisionServiceClient};
use tonic::{Request, transport::Channel};

mod receiver;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
#[path = "../support/mod.rs"]
mod support;

use receiver::{Receiver, int, start_receiver, string};

use support::{Serve, free_port};

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(25);

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn start(port: u16, otlp: &str) -> Serve {
    start_with(port, otlp, &[])
}

fn start_with(port: u16, otlp: &str, args: &[&std::ffi::OsStr]) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "off"])
        .args(["--otlp-endpoint", otlp])
        .args(args)
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate serve");
    Serve(child)
}

async fn connect(port: u16) -> DecisionServiceClient<Channel> {
    DecisionServiceClient::new(support::connect(port).await)
}

fn plan_change() -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: "free".to_owned(),
        to_plan: "standard".to_owned(),
        requester: Some(pb::Requester {
            role: pb::RequesterRole::Tenant.into(),
            id: String::new(),
        }),
        ..Default::default()
    }
}

/// `message` with the caller's W3C trace context (sampled).
fn traced<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    request.metadata_mut().insert(
        "traceparent",
        traceparent.parse().expect("a metadata value"),
    );
    request
}

/// Sends SIGTERM and waits for exit 0: the exporter flushes on the way out.
async fn terminate(server: &mut Serve) {
    let sent = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM");
    let give_up = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < give_up, "the server did not exit");
        tokio::time::sleep(POLL_EVERY).await;
    };
    assert_eq!(status.code(), Some(0));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verdict(d: &pb::PlanChangeDecision) -> &'static str {
    match d.verdict() {
        pb::Verdict::Allow => "ALLOW",
        pb::Verdict::Deny => "DENY",
        pb::Verdict::Unspecified => "UNSPECIFIED",
    }
}

/// The spans received so far whose name is `name`.
fn named(receiver: &Receiver, name: &str) -> Vec<(String, Span)> {
    let spans = receiver.spans.lock().expect("lock");
    spans
        .iter()
        .filter(|(_, s)| s.name == name)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_calls_span_continues_the_callers_trace_and_carries_the_decision() {
    let (receiver, otlp) = start_receiver().await;
    let port = free_port();
    let mut server = start(port, &otlp);
    let mut client = connect(port).await;

    let decision = client
        .decide_plan_change(traced(plan_change()))
        .await
        .expect("decided")
        .into_inner();
    let meta = decision.meta.clone().expect("meta");
    // The batch processor exports every few seconds; the span of a call
    // just made is still pending when the signal comes, so it arrives only
    // if the shutdown flushes it.
    terminate(&mut server).await;

    let spans = named(&receiver, "tollgate.v1.DecisionService/DecidePlanChange");
    assert_eq!(spans.len(), 1, "one span for the one call: {spans:?}");
    let (service, span) = &spans[0];
    assert_eq!(service, "tollgate");
    assert_eq!(hex(&span.trace_id), TRACE_ID);
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert_eq!(span.kind(), SpanKind::Server);
    let attr = |key| string(&span.attributes, key);
    assert_eq!(attr("decision_id"), Some(meta.decision_id));
    assert_eq!(attr("decision_type").as_deref(), Some("plan_change"));
    assert_eq!(attr("outcome").as_deref(), Some(verdict(&decision)));
    assert_eq!(attr("bundle_revision"), Some(meta.bundle_revision));
    assert_eq!(attr("rpc.method").as_deref(), Some("DecidePlanChange"));
    assert_eq!(
        attr("rpc.service").as_deref(),
        Some("tollgate.v1.DecisionService")
    );
}

#[tokio::test]
async fn a_stream_has_one_child_span_per_decision() {
    let (receiver, otlp) = start_receiver().await;
    let port = free_port();
    let mut server = start(port, &otlp);
    let mut client = connect(port).await;

    let requests = tokio_stream::iter([plan_change(), plan_change()]);
    let mut results = client
        .decide_plan_changes(traced(requests))
        .await
        .expect("stream opens")
        .into_inner();
    let mut decisions = Vec::new();
    while let Some(result) = results.message().await.expect("a result") {
        match result.result {
            Some(pb::plan_change_result::Result::Decision(d)) => decisions.push(d),
            other => panic!("not a decision: {other:?}"),
        }
    }
    assert_eq!(decisions.len(), 2);
    terminate(&mut server).await;

    let calls = named(&receiver, "tollgate.v1.DecisionService/DecidePlanChanges");
    assert_eq!(calls.len(), 1, "one span for the one call: {calls:?}");
    let call = &calls[0].1;
    assert_eq!(hex(&call.trace_id), TRACE_ID);
    assert_eq!(hex(&call.parent_span_id), PARENT_ID);

    let mut items = named(&receiver, "decision");
    items.sort_by_key(|(_, s)| int(&s.attributes, "batch.index"));
    assert_eq!(items.len(), 2, "{items:?}");
    for (index, ((_, item), decision)) in items.iter().zip(&decisions).enumerate() {
        assert_eq!(item.trace_id, call.trace_id);
        assert_eq!(item.parent_span_id, call.span_id);
        assert_eq!(int(&item.attributes, "batch.index"), Some(index as i64));
        let meta = decision.meta.clone().expect("meta");
        let attr = |key| string(&item.attributes, key);
        assert_eq!(attr("decision_id"), Some(meta.decision_id));
        assert_eq!(attr("decision_type").as_deref(), Some("plan_change"));
        assert_eq!(attr("outcome").as_deref(), Some(verdict(decision)));
        assert_eq!(attr("bundle_revision"), Some(meta.bundle_revision));
    }
}

/// A stream's span covers the whole stream, up to its last response: a
/// client that waits between its requests makes a call span at least that
/// long, and every item's span lies inside it.
#[tokio::test]
async fn a_streams_span_lasts_until_its_last_response_and_holds_its_items() {
    let (receiver, otlp) = start_receiver().await;
    let port = free_port();
    let mut server = start(port, &otlp);
    let mut client = connect(port).await;

    // The client's own pacing, not a wait for the server.
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(400);
    let (send, requests) = tokio::sync::mpsc::channel(1);
    send.send(plan_change()).await.expect("first request");
    let mut results = client
        .decide_plan_changes(traced(tokio_stream::wrappers::ReceiverStream::new(
            requests,
        )))
        .await
        .expect("stream opens")
        .into_inner();
    results
        .message()
        .await
        .expect("a result")
        .expect("the first");
    tokio::time::sleep(PAUSE).await;
    send.send(plan_change()).await.expect("second request");
    results
        .message()
        .await
        .expect("a result")
        .expect("the second");
    drop(send);
    assert!(results.message().await.expect("the end").is_none());
    terminate(&mut server).await;

    let calls = named(&receiver, "tollgate.v1.DecisionService/DecidePlanChanges");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0].1;
    let lasted = call.end_time_unix_nano - call.start_time_unix_nano;
    assert!(
        lasted >= PAUSE.as_nanos() as u64,
        "the call's span lasted {lasted} ns, less than the {PAUSE:?} between its items"
    );
    let items = named(&receiver, "decision");
    assert_eq!(items.len(), 2, "{items:?}");
    for (_, item) in &items {
        assert_eq!(item.parent_span_id, call.span_id);
        assert!(
            call.start_time_unix_nano <= item.start_time_unix_nano
                && item.end_time_unix_nano <= call.end_time_unix_nano,
            "an item's span [{}, {}] outside the call's [{}, {}]",
            item.start_time_unix_nano,
            item.end_time_unix_nano,
            call.start_time_unix_nano,
            call.end_time_unix_nano
        );
    }
}

#[tokio::test]
async fn a_failed_calls_span_carries_its_status() {
    // An empty bundle directory: no bundle, so every decision is UNAVAILABLE.
    let empty = tempfile::TempDir::new().expect("temp dir");
    let (receiver, otlp) = start_receiver().await;
    let port = free_port();
    let args = [std::ffi::OsStr::new("--bundle"), empty.path().as_os_str()];
    let mut server = start_with(port, &otlp, &args);
    let status = connect(port)
        .await
        .decide_plan_change(traced(plan_change()))
        .await
        .expect_err("no bundle, no decision");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    terminate(&mut server).await;

    let spans = named(&receiver, "tollgate.v1.DecisionService/DecidePlanChange");
    assert_eq!(spans.len(), 1, "one span for the one call: {spans:?}");
    let span = &spans[0].1;
    assert_eq!(hex(&span.trace_id), TRACE_ID);
    assert_eq!(
        int(&span.attributes, "rpc.grpc.status_code"),
        Some(tonic::Code::Unavailable as i64)
    );
    let otel_status = span.status.as_ref().map(|s| s.code());
    assert_eq!(otel_status, Some(StatusCode::Error));
    assert_eq!(string(&span.attributes, "decision_id"), None);
}

#[tokio::test]
async fn log_format_json_writes_json_lines_on_stderr() {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["--log-format", "json", "serve"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "off"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tollgate serve");
    let mut server = Serve(child);
    let stderr = server.0.stderr.take().expect("stderr");
    // Lines are read on a thread, so a silent server fails the test at the
    // deadline instead of hanging it.
    let (lines, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    // A call answered means the server is past installing its signal
    // handler, which a bare TCP connect does not.
    connect(port)
        .await
        .decide_plan_change(plan_change())
        .await
        .expect("decided");
    terminate(&mut server).await;

    let lines: Vec<String> = read.iter().collect();
    assert!(!lines.is_empty(), "nothing logged");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let serving = events
        .iter()
        .find(|e| e["fields"]["message"] == "serving gRPC")
        .unwrap_or_else(|| panic!("no `serving gRPC` event: {lines:?}"));
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["fields"]["addr"], format!("127.0.0.1:{port}"));
    assert!(serving["timestamp"].is_string());
}
