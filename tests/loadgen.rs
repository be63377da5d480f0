//! The load generator, `tollgate-bench`, run as a process against the real
//! server and against the floor (each in this process on port 0): a bounded
//! number of calls, every one answered OK, and a report with every field;
//! over TLS and mutual TLS too, with the certificates
//! `examples/gen-certs.rs` makes for `scripts/bench.sh`. And the `tollgate`
//! service binary without it. Nothing here measures speed (that is
//! `scripts/bench.sh`'s job).

#![allow(clippy::expect_used, clippy::panic, reason = "test code")]

#[path = "../benches/floor/server.rs"]
mod floor;
// Only its certificate writer is used here, not its `main`.
#[path = "../examples/gen-certs.rs"]
#[allow(dead_code, reason = "the example's `main`")]
mod gen_certs;
#[path = "loadgen/tls.rs"]
mod tls;

use std::{
    net::SocketAddr,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use prost::Message as _;
use tokio::{net::TcpListener, sync::oneshot};
use tollgate::{grpc::pb, reload::BundleSource};

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

/// Runs `tollgate-bench` with `args` to its end, killed after 60 s against
/// a hang (not a speed requirement).
fn bench_blocking(args: &[String]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate-bench"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tollgate-bench");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("poll tollgate-bench").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill tollgate-bench");
            panic!("tollgate-bench {args:?} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait for tollgate-bench")
}

/// Runs `tollgate-bench` with `args` off the runtime's threads (the server
/// runs on them).
async fn bench(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || bench_blocking(&args))
        .await
        .expect("the bench process ends")
}

/// The JSON report of a run that exited 0.
fn report(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// A bounded run against `addr`, reporting as JSON, with this process (the
/// server's) as `--server-pid`.
fn flags(addr: SocketAddr, mix: &str, rpc: &str, requests: u64) -> Vec<String> {
    [
        "--json",
        "--target",
        &format!("http://{addr}"),
        "--connections",
        "2",
        "--concurrency",
        "8",
        "--requests",
        &requests.to_string(),
        "--warmup",
        "0",
        "--mix",
        mix,
        "--rpc",
        rpc,
        "--server-pid",
        &std::process::id().to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_every_decision_rpc_without_an_error() {
    let (addr, _stop) = tollgate().await;
    let mix = "plan_change=2,payment_link=1,charge_funding=1";
    let json = report(&bench(flags(addr, mix, "decision", 500)).await);
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
        "steal",
    ] {
        assert!(json.get(field).is_some(), "no `{field}` in {json}");
    }
    for p in ["p50", "p90", "p99", "p999", "max", "mean"] {
        assert!(
            json["latency_us"][p].is_number(),
            "no latency `{p}` in {json}"
        );
    }
    assert_eq!(json["requests"], 500, "{json}");
    assert_eq!(json["ok"], 500, "{json}");
    assert_eq!(json["mix"], mix);
    assert_eq!(json["rpc"], "decision");
    assert_eq!(json["errors"], serde_json::json!({}));
    // The server runs in this process: its CPU is this process's.
    let cpu = &json["server_cpu"];
    let per_call = |k: &str| {
        cpu[k]
            .as_f64()
            .unwrap_or_else(|| panic!("no `{k}` in {json}"))
    };
    let (all, user, system) = (
        per_call("us_per_call"),
        per_call("user_us_per_call"),
        per_call("system_us_per_call"),
    );
    // User plus system time is the whole, each part at most the whole.
    assert!((user + system - all).abs() <= 1e-6 * all.max(1.0), "{cpu}");
    assert!(user >= 0.0 && system >= 0.0 && user <= all, "{cpu}");
    // Stolen time: a share of each CPU the machine has, and overall.
    let steal = &json["steal"];
    let cpus = std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    let shares: Vec<f64> = steal["share_by_cpu"]
        .as_array()
        .unwrap_or_else(|| panic!("no `steal.share_by_cpu` in {json}"))
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    assert_eq!(shares.len(), cpus, "one share per CPU: {steal}");
    let share = steal["share"]
        .as_f64()
        .unwrap_or_else(|| panic!("no `steal.share` in {json}"));
    for s in shares.iter().chain([&share]) {
        assert!((0.0..=1.0).contains(s), "{steal}");
    }
    let (lo, hi) = shares
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
    assert!(
        lo <= share && share <= hi,
        "the whole lies among its parts: {steal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_answers_with_messages_the_size_of_decisions() {
    let (tollgate, _stop_tollgate) = tollgate().await;
    let (floor, _stop_floor) = the_floor().await;
    let real = report(&bench(flags(tollgate, "plan_change", "decision", 300)).await);
    let echo = report(&bench(flags(floor, "plan_change", "floor", 300)).await);
    assert_eq!((&echo["requests"], &echo["ok"]), (&300.into(), &300.into()));
    assert_eq!(echo["rpc"], "floor");
    let mean = |json: &serde_json::Value, field: &str| {
        json[field]
            .as_f64()
            .unwrap_or_else(|| panic!("no `{field}` in {json}"))
    };
    // Same schedule, echo requests padded to the same sizes.
    assert!(
        (mean(&echo, "request_bytes_mean") - mean(&real, "request_bytes_mean")).abs() < 1.0,
        "floor {echo}\ntollgate {real}"
    );
    // Decisions vary by a byte or two (timestamps); the floor's answers are
    // sized from the same decisions made locally.
    let ratio = mean(&echo, "response_bytes_mean") / mean(&real, "response_bytes_mean");
    assert!(
        (0.95..1.05).contains(&ratio),
        "floor {echo}\ntollgate {real}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_run_makes_no_more_calls_than_its_rate() {
    let (addr, _stop) = tollgate().await;
    let mut args = flags(addr, "plan_change=1,payment_link=1", "decision", 120);
    args.extend(["--rate", "200"].map(str::to_owned));
    let json = report(&bench(args).await);
    assert_eq!((&json["requests"], &json["ok"]), (&120.into(), &120.into()));
    assert_eq!(json["rate"], 200.0, "{json}");
    // Each of the 8 calls in flight starts a call at most every 8/200 s, so
    // the 112 after the first of each take at least 112/200 s: a lower
    // bound that a slow machine only lengthens.
    let elapsed = json["elapsed_secs"].as_f64().expect("elapsed_secs");
    assert!(elapsed >= 0.55, "120 calls at 200/s in {elapsed} s: {json}");
}

#[test]
fn a_rate_that_is_not_positive_is_refused() {
    for rate in ["0", "-5", "NaN"] {
        let out = bench_blocking(&[format!("--rate={rate}")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--rate {rate}: {out:?}");
        assert!(stderr.contains("--rate"), "--rate {rate}: {stderr}");
        assert!(out.stdout.is_empty(), "--rate {rate}: a report: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_is_an_error_not_a_report() {
    let (listener, addr, _tx, _rx) = listen().await;
    drop(listener);
    let out = bench(flags(addr, "plan_change", "decision", 10)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(out.stdout.is_empty(), "a report: {out:?}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn writes_a_length_prefixed_grpc_request_for_h2load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("body.bin");
    let out = bench_blocking(&[
        "--mix".to_owned(),
        "plan_change".to_owned(),
        "--write-grpc-body".to_owned(),
        path.display().to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let data = std::fs::read(&path).expect("read the body");
    // A zero compression flag, the length as four big-endian bytes, then
    // the message.
    let (head, message) = data.split_at_checked(5).expect("a gRPC message prefix");
    assert_eq!(head.first(), Some(&0), "not compressed");
    let len = u32::from_be_bytes(head[1..].try_into().expect("four bytes"));
    assert_eq!(len as usize, message.len(), "one whole message");
    let request = pb::PlanChangeRequest::decode(message).expect("a PlanChangeRequest");
    assert_eq!(
        (request.from_plan.as_str(), request.to_plan.as_str()),
        ("premium", "standard")
    );
}

#[test]
fn the_service_binary_has_no_bench_subcommand() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("bench")
        .env_remove("RUST_LOG")
        .output()
        .expect("run tollgate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "a usage error: {stderr}");
    assert!(
        stderr.contains("unrecognized subcommand 'bench'"),
        "{stderr}"
    );
}

#[test]
fn the_service_binary_does_not_link_the_histogram() {
    use std::io::Read as _;

    // A linked crate's name is in its symbols, panic locations and debug
    // information. Searched as text, a block at a time: std's searcher is
    // optimized, a byte loop in this unoptimized test is not.
    const NAME: &str = "hdrhistogram";
    let mut file =
        std::fs::File::open(env!("CARGO_BIN_EXE_tollgate")).expect("open the tollgate binary");
    let mut block = vec![0; 1 << 20];
    // The end of the previous block, for a name across two blocks.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut block).expect("read the tollgate binary");
        if n == 0 {
            break;
        }
        carry.extend_from_slice(block.get(..n).unwrap_or_default());
        assert!(
            !String::from_utf8_lossy(&carry).contains(NAME),
            "the tollgate binary links {NAME}, the load generator's histogram"
        );
        carry.drain(..carry.len().saturating_sub(NAME.len() - 1));
    }
}
