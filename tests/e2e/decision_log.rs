//! The decision log, read back from disk: every answered decision exactly
//! once, masked ids never in clear, drops counted when the sink stalls,
//! sampling, the block policy, stream items and size rotation.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use tempfile::TempDir;
use tollgate::{
    decision_log::{ErasePath, Overflow, Settings, Target},
    grpc::pb::{self, PaymentMethodStatus::Active, PaymentMethodType::Balance},
};

use crate::support::{
    DEMO_REVISION, Server, auto_charge, card, funding_request, link_request, method, request,
};

/// The key every test that checks hashes uses.
const KEY: &str = "test-hash-key";

/// A server logging to `decisions.jsonl` in a temporary directory, with ids
/// hashed under [`KEY`] unless `edit` says otherwise.
pub struct Logged {
    /// The server.
    pub server: Server,
    /// The log file.
    pub path: PathBuf,
    /// Holds the log file until the test is done with it.
    pub dir: TempDir,
}

impl Logged {
    /// Starts a server logging with the settings `edit` makes of the
    /// defaults.
    pub async fn start(edit: impl FnOnce(Settings) -> Settings) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("decisions.jsonl");
        let settings = Settings {
            hash_key: Some(KEY.as_bytes().to_vec()),
            ..Settings::new(Target::File(path.clone()))
        };
        let server = Server::logging(edit(settings)).await;
        Self { server, path, dir }
    }

    /// Stops the server, so every queued event is written, and reads the
    /// log.
    pub async fn text(self) -> String {
        self.server.stop().await.expect("serve_with returns Ok");
        std::fs::read_to_string(&self.path).expect("read the decision log")
    }

    /// Stops the server and parses every line of the log.
    pub async fn events(self) -> Vec<Value> {
        parse(&self.text().await)
    }
}

/// Every line of `path`, parsed.
fn events(path: &Path) -> Vec<Value> {
    parse(&std::fs::read_to_string(path).expect("read the decision log"))
}

/// Every line of `text`, parsed.
fn parse(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}")))
        .collect()
}

/// HMAC-SHA256 of `value` under [`KEY`], first 16 bytes, hex.
fn hmac_hex(value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key length");
    mac.update(value.as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `i`-th call of a mixed load: each decision type in turn, with ids
/// that are personal or payment data; returns the decision id.
async fn decide_any(
    client: &mut pb::decision_service_client::DecisionServiceClient<tonic::transport::Channel>,
    i: usize,
) -> String {
    let methods = vec![
        method(&format!("pm-secret-balance-{i}"), Balance, Active, 0),
        card(&format!("pm-secret-card-{i}"), 1),
    ];
    let user = format!("user-secret-{i}");
    let meta = match i % 3 {
        0 => {
            let mut r = request("free", "standard");
            r.tenant_id = format!("tenant-secret-{}", i % 7);
            let reply = client.decide_plan_change(r).await;
            reply.expect("plan change").into_inner().meta
        }
        1 => {
            let mut r = link_request("video-stream", 80, methods);
            r.user_id = user;
            r.auto_charge = auto_charge(&format!("pm-secret-card-{i}"), 1000);
            let reply = client.decide_payment_link(r).await;
            reply.expect("payment link").into_inner().meta
        }
        _ => {
            let mut r = funding_request("video-stream", 500, 10_000, methods);
            r.user_id = user;
            let reply = client.decide_charge_funding(r).await;
            reply.expect("charge funding").into_inner().meta
        }
    };
    meta.expect("meta").decision_id
}

/// Makes `calls` mixed calls from each of `clients` concurrent clients;
/// returns the decision ids.
async fn mixed_load(server: &Server, clients: usize, calls: usize) -> BTreeSet<String> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = server.decisions();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (c..clients * calls).step_by(clients) {
                ids.push(decide_any(&mut client, i).await);
            }
            ids
        }));
    }
    let mut answered = BTreeSet::new();
    for task in tasks {
        answered.extend(task.await.expect("client task"));
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answered_decision_is_logged_exactly_once() {
    const N: usize = 504;
    let logged = Logged::start(|s| s).await;
    let answered = mixed_load(&logged.server, 8, N / 8).await;
    assert_eq!(answered.len(), N, "decision ids are unique");
    let stats = logged.server.log_stats();

    let events = logged.events().await;
    assert_eq!(events.len(), N, "one line per decision");
    let ids: BTreeSet<String> = events
        .iter()
        .map(|e| e["decisionId"].as_str().expect("decisionId").to_owned())
        .collect();
    assert_eq!(ids, answered, "every answered decision, none twice");
    let mut kinds = BTreeMap::new();
    for e in &events {
        *kinds
            .entry(e["decision"].as_str().expect("decision"))
            .or_insert(0) += 1;
        assert_eq!(e["bundle"]["revision"], DEMO_REVISION, "{e}");
        let digest = e["bundle"]["digest"].as_str().map(str::len);
        assert_eq!(digest, Some(64), "{e}");
        assert!(e["evalUs"].is_u64(), "{e}");
        assert_eq!(e["v"], 2, "{e}");
        assert!(e["caller"].is_null(), "{e}");
        let timestamp = e["timestamp"].as_str().map(str::parse::<jiff::Timestamp>);
        assert!(timestamp.is_some_and(|t| t.is_ok()), "{e}");
        let shaped = e["input"].is_object() && e["reasonCodes"].is_array();
        assert!(shaped, "{e}");
    }
    let third = N / 3;
    let want = [
        ("charge_funding", third),
        ("payment_link", third),
        ("plan_change", third),
    ];
    assert_eq!(kinds, BTreeMap::from(want));
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
}

#[tokio::test]
async fn masked_ids_never_appear_in_clear() {
    let email = ErasePath::parse("input.attributes.email").expect("a path");
    let logged = Logged::start(|s| Settings {
        erase: vec![email],
        ..s
    })
    .await;
    let mut client = logged.server.decisions();
    for _ in 0..2 {
        let mut r = request("free", "standard");
        r.tenant_id = "tenant-secret-A".to_owned();
        r.requester = Some(pb::Requester {
            role: pb::RequesterRole::Tenant.into(),
            id: "requester-secret-R".to_owned(),
        });
        r.attributes = [
            ("email".to_owned(), "alice@example.com".to_owned()),
            ("channel".to_owned(), "web".to_owned()),
        ]
        .into();
        client.decide_plan_change(r).await.expect("plan change");
    }
    for i in [1, 2] {
        decide_any(&mut client, i).await;
    }
    let text = logged.text().await;
    let events = parse(&text);
    for secret in [
        "tenant-secret",
        "user-secret",
        "pm-secret",
        "requester-secret",
        "alice@",
    ] {
        assert!(!text.contains(secret), "`{secret}` in clear:\n{text}");
    }
    assert_eq!(events.len(), 4);
    let (a, b) = (&events[0]["input"], &events[1]["input"]);
    assert_eq!(a["tenantId"], b["tenantId"], "the same tenant joins");
    assert_eq!(a["tenantId"], hmac_hex("tenant-secret-A"));
    assert_eq!(a["requester"]["id"], hmac_hex("requester-secret-R"));
    let channel_only = serde_json::json!({"channel": "web"});
    assert_eq!(a["attributes"], channel_only, "email erased");

    let link = &events[2]["input"];
    assert_eq!(events[2]["decision"], "payment_link");
    assert_eq!(link["userId"], hmac_hex("user-secret-1"));
    assert_eq!(link["methods"][1]["id"], hmac_hex("pm-secret-card-1"));
    let source = &link["autoCharge"]["sourceMethodId"];
    assert_eq!(*source, hmac_hex("pm-secret-card-1"));
    let funding = &events[3];
    assert_eq!(funding["decision"], "charge_funding");
    let balance = &funding["input"]["methods"][0]["id"];
    assert_eq!(*balance, hmac_hex("pm-secret-balance-2"));
    for step in funding["steps"].as_array().expect("steps") {
        assert_eq!(step["methodId"].as_str().map(str::len), Some(32), "{step}");
    }
}

#[tokio::test]
async fn the_trace_id_of_a_traceparent_is_logged() {
    let logged = Logged::start(|s| s).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut call = tonic::Request::new(request("free", "standard"));
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    let traceparent = traceparent.parse().expect("ascii");
    call.metadata_mut().insert("traceparent", traceparent);
    let reply = logged.server.decisions().decide_plan_change(call).await;
    reply.expect("decided");
    logged.server.decide(request("free", "standard")).await;
    let events = logged.events().await;
    assert_eq!(events[0]["traceId"], trace);
    assert_eq!(events[0]["outcome"], "VERDICT_ALLOW");
    assert_eq!(events[0]["timing"], "EFFECTIVE_TIMING_IMMEDIATE");
    let matched = events[0]["matchedRules"].as_array();
    assert!(matched.is_some_and(|r| !r.is_empty()), "{}", events[0]);
    assert!(events[1]["traceId"].is_null());
}

#[tokio::test]
async fn a_stalled_sink_drops_and_counts_but_every_call_is_answered() {
    let dir = TempDir::new().expect("temp dir");
    let fifo = dir.path().join("stalled.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    // Nobody reads the FIFO: the writer blocks opening it.
    let server = Server::logging(Settings {
        queue: 4,
        ..Settings::new(Target::File(fifo.clone()))
    })
    .await;
    const CALLS: u64 = 50;
    for _ in 0..CALLS {
        server.decide(request("free", "standard")).await;
    }
    let stalled = server.log_stats();
    assert!(stalled.dropped >= CALLS - 5, "{stalled:?}");
    assert_eq!(stalled.written, 0, "{stalled:?}");

    // Unblock it, so the queued events drain at shutdown.
    let reader = std::thread::spawn(move || std::fs::read_to_string(&fifo).expect("read the FIFO"));
    server.stop().await.expect("serve_with returns Ok");
    let text = reader.join().expect("reader thread");
    let lines = text.lines().count() as u64;
    assert!((1..=5).contains(&lines), "{lines} lines");
    assert_eq!(lines + stalled.dropped, CALLS, "{stalled:?}");
}

#[tokio::test]
async fn sampling_zero_logs_nothing_and_one_logs_everything() {
    for (rate, want) in [(0.0, 0), (1.0, 20)] {
        let logged = Logged::start(|s| Settings { sample: rate, ..s }).await;
        for _ in 0..20 {
            logged.server.decide(request("free", "standard")).await;
        }
        let stats = logged.server.log_stats();
        assert_eq!(logged.events().await.len(), want, "rate {rate}");
        assert_eq!(stats.sampled_out, 20 - want as u64, "rate {rate}");
    }
}

#[tokio::test]
async fn the_block_policy_loses_nothing_with_a_tiny_queue() {
    let logged = Logged::start(|s| Settings {
        queue: 1,
        overflow: Overflow::Block,
        ..s
    })
    .await;
    mixed_load(&logged.server, 4, 30).await;
    let stats = logged.server.log_stats();
    assert_eq!(logged.events().await.len(), 120);
    assert_eq!(stats.dropped, 0);
}

#[tokio::test]
async fn stream_items_are_logged_with_their_index() {
    let logged = Logged::start(|s| s).await;
    let mut bad = request("free", "standard");
    bad.tenant_id.clear();
    let requests = vec![
        request("free", "standard"),
        bad,
        request("standard", "standard"),
    ];
    logged.server.decide_stream(requests).await;
    let events = logged.events().await;
    let got: Vec<(&str, u64, &str)> = events
        .iter()
        .map(|e| {
            (
                e["decision"].as_str().expect("decision"),
                e["batchIndex"].as_u64().expect("batchIndex"),
                e["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    // The invalid request was never decided, so it is not logged.
    assert_eq!(
        got,
        [
            ("plan_change_batch", 0, "VERDICT_ALLOW"),
            ("plan_change_batch", 2, "VERDICT_DENY")
        ]
    );
}

#[tokio::test]
async fn a_file_past_max_bytes_is_rotated_to_dot_1() {
    let logged = Logged::start(|s| Settings {
        max_bytes: 4096,
        ..s
    })
    .await;
    mixed_load(&logged.server, 1, 30).await;
    let Logged { server, path, dir } = logged;
    server.stop().await.expect("serve_with returns Ok");
    let rotated = dir.path().join("decisions.jsonl.1");
    assert!(rotated.exists(), "no `.1` file");
    for file in [&path, &rotated] {
        let size = std::fs::metadata(file).expect("metadata").len();
        assert!(size <= 4096, "{} is {size} bytes", file.display());
        assert!(!events(file).is_empty(), "{} is empty", file.display());
    }
}
