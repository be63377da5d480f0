//! The load generator against the real server and against the floor: a
//! bounded number of calls, every one answered OK, and a report with every
//! field; and `tollgate bench` as a process over TLS and mutual TLS, with
//! the certificates `examples/gen-certs.rs` makes for `scripts/bench.sh`.
//! Nothing here measures speed (that is `scripts/bench.sh`'s job).

#![allow(clippy::expect_used, clippy::panic, reason = "test code")]

#[path = "../benches/floor/server.rs"]
mod floor;
// Only its certificate writer is used here, not its `main`.
#[path = "../examples/gen-certs.rs"]
#[allow(dead_code, reason = "the example's `main`")]
mod gen_certs;
#[path = "loadgen/tls.rs"]
mod tls;

use std::{net::SocketAddr, process::Command, time::Duration};

use prost::Message as _;
use tokio::{net::TcpListener, sync::oneshot};
use tollgate::{
    grpc::pb,
    loadgen::{self, Mix, Report, Settings, Stop, Target},
    reload::BundleSource,
};

/// A server on 127.0.0.1 port 0, stopped when the sender is dropped.
async fn listen() -> (
    TcpListener,
    SocketAddr,
    oneshot::Sender<()>,
    oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    let (tx, rx) = oneshot::channel();
    (listener, addr, tx, rx)
}

async fn tollgate() -> (SocketAddr, oneshot::Sender<()>) {
    let (listener, addr, tx, rx) = listen().await;
    // `serve_on` loads the bundle before it serves, so the first call
    // already finds it: no waiting for readiness.
    tokio::spawn(tollgate::app::serve_on(
        listener,
        BundleSource::Embedded,
        None,
        async move {
            let _ = rx.await;
        },
    ));
    (addr, tx)
}

async fn the_floor() -> (SocketAddr, oneshot::Sender<()>) {
    let (listener, addr, tx, rx) = listen().await;
    tokio::spawn(floor::serve(listener, true, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

fn settings(addr: SocketAddr, mix: &str, rpc: Target, requests: u64) -> Settings {
    Settings {
        target: format!("http://{addr}"),
        connections: 2,
        concurrency: 8,
        stop: Stop::Count(requests),
        warmup: Duration::ZERO,
        mix: mix.parse::<Mix>().expect("mix"),
        rpc,
        server_pid: Some(std::process::id()),
        tls: None,
    }
}

/// Runs, with a bound on time against a hang (not a speed requirement).
async fn run(settings: &Settings) -> anyhow::Result<Report> {
    tokio::time::timeout(Duration::from_secs(60), loadgen::run(settings))
        .await
        .expect("the run ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_every_decision_rpc_without_an_error() {
    let (addr, _stop) = tollgate().await;
    let mix = "plan_change=2,payment_link=1,charge_funding=1";
    let report = run(&settings(addr, mix, Target::Decision, 500))
        .await
        .expect("run");
    assert_eq!(report.requests, 500, "{report}");
    assert_eq!(report.ok, 500, "{report}");
    assert_eq!(report.failed(), 0, "{report}");
    assert!(report.errors.is_empty(), "{report}");

    let json: serde_json::Value = serde_json::from_str(&report.to_json().expect("JSON"))
        .expect("the report is one JSON object");
    for field in [
        "target",
        "rpc",
        "mix",
        "connections",
        "concurrency",
        "warmup_secs",
        "elapsed_secs",
        "requests",
        "ok",
        "errors",
        "throughput",
        "latency_us",
        "request_bytes_mean",
        "response_bytes_mean",
        "server_cpu",
        "client_cpu",
    ] {
        assert!(json.get(field).is_some(), "no `{field}` in {json}");
    }
    for p in ["p50", "p90", "p99", "p999", "max", "mean"] {
        assert!(
            json["latency_us"][p].is_number(),
            "no latency `{p}` in {json}"
        );
    }
    assert_eq!(json["requests"], 500);
    assert_eq!(json["mix"], mix);
    assert_eq!(json["errors"], serde_json::json!({}));
    // The server runs in this process, so its CPU is this process's.
    assert!(json["server_cpu"]["us_per_call"].is_number(), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_answers_with_messages_the_size_of_decisions() {
    let (tollgate, _stop_tollgate) = tollgate().await;
    let (floor, _stop_floor) = the_floor().await;
    let real = run(&settings(tollgate, "plan_change", Target::Decision, 300))
        .await
        .expect("run against Tollgate");
    let echo = run(&settings(floor, "plan_change", Target::Floor, 300))
        .await
        .expect("run against the floor");
    assert_eq!((echo.ok, echo.failed()), (300, 0), "{echo}");
    assert_eq!(echo.rpc, "floor");
    // Same schedule, echo requests padded to the same sizes.
    assert!(
        (echo.request_bytes_mean - real.request_bytes_mean).abs() < 1.0,
        "floor {echo}\ntollgate {real}"
    );
    // Decisions vary by a byte or two (timestamps); the floor's answers are
    // sized from the same decisions made locally.
    let ratio = echo.response_bytes_mean / real.response_bytes_mean;
    assert!(
        (0.95..1.05).contains(&ratio),
        "floor {echo}\ntollgate {real}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_is_an_error_not_a_report() {
    let (listener, addr, _tx, _rx) = listen().await;
    drop(listener);
    let err = run(&settings(addr, "plan_change", Target::Decision, 10))
        .await
        .expect_err("nothing listens");
    assert!(format!("{err:#}").contains("cannot connect"), "{err:#}");
}

#[test]
fn writes_a_length_prefixed_grpc_request_for_h2load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("body.bin");
    let status = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["bench", "--mix", "plan_change", "--write-grpc-body"])
        .arg(&path)
        .status()
        .expect("run tollgate");
    assert!(status.success());
    let data = std::fs::read(&path).expect("read the body");
    let message = loadgen::unframe(&data).expect("one gRPC message");
    assert_eq!(data.first(), Some(&0), "not compressed");
    let request = pb::PlanChangeRequest::decode(message).expect("a PlanChangeRequest");
    assert_eq!(
        (request.from_plan.as_str(), request.to_plan.as_str()),
        ("premium", "standard")
    );
}
