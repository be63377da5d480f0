//! `tollgate serve --decision-log PATH` as a process: a logged `input`
//! replays through `tollgate eval` to the logged decision, the file is
//! reopened on SIGUSR1 (as logrotate's `postrotate` asks), and bad
//! decision-log flags are refused before anything binds.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tollgate::grpc::pb::{self, decision_service_client::DecisionServiceClient};
use tonic::transport::Channel;

use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::Value;
use support::{
    CHARGE_WITH_FALLBACK, LINK_BALANCE_ONLY, Serve, free_port, free_to_standard, path_str, run,
};

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(10);

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{name}");
}

async fn decide(client: &mut DecisionServiceClient<Channel>) -> String {
    let d = client
        .decide_plan_change(free_to_standard("tenant-secret", pb::RequesterRole::Tenant))
        .await
        .expect("decided")
        .into_inner();
    d.meta.expect("meta").decision_id
}

fn logged_ids(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["decisionId"].as_str().expect("decisionId").to_owned()
        })
        .collect()
}

/// `tollgate serve` logging to `path` with ids masked under a fixed key,
/// and a client once it accepts.
async fn serve_logging(path: &Path) -> (Serve, DecisionServiceClient<Channel>) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "off"])
        .arg("--decision-log")
        .arg(path)
        .args(["--decision-log-hash-key", "k"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate serve");
    let server = Serve(child);
    let give_up = Instant::now() + DEADLINE;
    let client = loop {
        let endpoint = format!("http://127.0.0.1:{port}");
        if let Ok(c) = DecisionServiceClient::connect(endpoint).await {
            break c;
        }
        assert!(Instant::now() < give_up, "the server never accepted");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    (server, client)
}

/// The lines of the log at `path` once it holds `n`.
async fn lines(path: &Path, n: usize) -> Vec<Value> {
    let give_up = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= n {
            return text
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect();
        }
        assert!(Instant::now() < give_up, "{n} lines were never logged");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A message of type `name` read from proto JSON, as a client would send it.
fn message<T: prost::Message + Default>(name: &str, json: &str) -> T {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptors");
    let desc = pool.get_message_by_name(name).expect("a message type");
    let mut de = serde_json::Deserializer::from_str(json);
    let dynamic = DynamicMessage::deserialize(desc, &mut de).expect("proto JSON");
    dynamic.transcode_to().expect("the message")
}

/// A downgrade over the target's API-call quota: allowed from the next
/// billing cycle (an instant computed from the billing calendar).
const PLAN_CHANGE: &str = r#"{
  "tenant_id": "tenant-secret",
  "from_plan": "premium",
  "to_plan": "standard",
  "requester": { "role": "REQUESTER_ROLE_TENANT" },
  "usage": { "users": 10, "storage_gb": 20 },
  "period_usage": { "api_calls": 250000 },
  "billing": { "anchor_day": 31, "time_zone": "Asia/Tokyo" },
  "attributes": { "channel": "web \"quoted\" \u00e9" },
  "as_of": "2026-02-10T09:00:00Z"
}"#;

/// The codes of a decision's reasons, as eval prints them.
fn codes(decision: &Value) -> Vec<Value> {
    let reasons = decision["reasons"].as_array().cloned().unwrap_or_default();
    reasons.iter().map(|r| r["code"].clone()).collect()
}

/// The decision's member `key`, with proto JSON's omitted default (an
/// empty list, an empty string) written out.
fn member(decision: &Value, key: &str, default: Value) -> Value {
    decision.get(key).cloned().unwrap_or(default)
}

/// Masked ids: the tenant's, the user's and every method's are hashed, and
/// the rules still decide alike, because a keyed hash keeps equal ids
/// equal and different ids different; the demo's rules read no id's value.
#[tokio::test]
async fn a_logged_input_replays_through_eval_to_the_logged_decision() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("decisions.jsonl");
    let (server, mut client) = serve_logging(&path).await;
    let plan_change: pb::PlanChangeRequest = message("tollgate.v1.PlanChangeRequest", PLAN_CHANGE);
    client
        .decide_plan_change(plan_change)
        .await
        .expect("plan change");
    let link: pb::PaymentLinkRequest = message("tollgate.v1.PaymentLinkRequest", LINK_BALANCE_ONLY);
    client.decide_payment_link(link).await.expect("link");
    let charge: pb::ChargeFundingRequest =
        message("tollgate.v1.ChargeFundingRequest", CHARGE_WITH_FALLBACK);
    client.decide_charge_funding(charge).await.expect("funding");
    let events = lines(&path, 3).await;
    drop(server);

    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["decision"].as_str())
        .collect();
    assert_eq!(kinds, ["plan_change", "payment_link", "charge_funding"]);
    for event in &events {
        assert_eq!(event["v"], 2, "{event}");
        let input = &event["input"];
        for id in [&input["tenantId"], &input["userId"]] {
            if let Some(id) = id.as_str() {
                assert_eq!(id.len(), 32, "a masked id: {event}");
            }
        }
        let file = dir.path().join("input.json");
        std::fs::write(&file, input.to_string()).expect("write the input");
        let flag = format!(
            "--{}",
            event["decision"]
                .as_str()
                .unwrap_or_default()
                .replace('_', "-")
        );
        let out = run(&["eval", &flag, path_str(&file)]);
        assert_eq!(out.code, Some(0), "{out}\n{event}");
        let d: Value = serde_json::from_str(&out.stdout).expect("eval prints JSON");
        let outcome = d.get("verdict").unwrap_or(&d["outcome"]);
        assert_eq!(*outcome, event["outcome"], "{d}\n{event}");
        assert_eq!(
            codes(&d),
            event["reasonCodes"].as_array().cloned().unwrap_or_default(),
            "{d}\n{event}"
        );
        match event["decision"].as_str() {
            Some("plan_change") => {
                assert_eq!(
                    event["timing"], "EFFECTIVE_TIMING_NEXT_BILLING_CYCLE",
                    "{event}"
                );
                assert_eq!(d["timing"], event["timing"]);
                assert_eq!(d["effectiveAt"], event["effectiveAt"]);
                let attributes = &input["attributes"]["channel"];
                assert_eq!(*attributes, "web \"quoted\" \u{e9}", "{event}");
            }
            Some("payment_link") => {
                let none = Value::Array(vec![]);
                assert_eq!(
                    member(&d, "requiredActions", none),
                    event["requiredActions"]
                );
                assert_eq!(event["outcome"], "LINK_OUTCOME_REQUIRE_ACTION", "{event}");
            }
            _ => {
                let steps = d["steps"].as_array().cloned().unwrap_or_default();
                let steps: Vec<Value> = steps
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "source": s["source"],
                            "methodId": member(s, "methodId", Value::from("")),
                            "amountMinor": s["amountMinor"],
                        })
                    })
                    .collect();
                assert_eq!(Value::from(steps), event["steps"], "{d}\n{event}");
                assert_eq!(event["outcome"], "FUNDING_OUTCOME_APPROVE", "{event}");
                assert_eq!(event["steps"].as_array().map(Vec::len), Some(2), "{event}");
            }
        }
    }
}

#[tokio::test]
async fn sigusr1_reopens_the_decision_log_after_it_was_moved() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("decisions.jsonl");
    let moved = dir.path().join("decisions.jsonl.old");
    let (server, mut client) = serve_logging(&path).await;
    let give_up = Instant::now() + DEADLINE;
    let mut before = BTreeSet::new();
    for _ in 0..5 {
        before.insert(decide(&mut client).await);
    }
    // The writer flushes when its queue is empty: wait for the five lines.
    while logged_ids(&path) != before {
        assert!(
            Instant::now() < give_up,
            "the first decisions were not logged"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    std::fs::rename(&path, &moved).expect("move the log away");
    signal(&server.0, "USR1");
    // The signal arrives asynchronously: decide until a new file appears.
    let mut after = BTreeSet::new();
    while !path.exists() || !logged_ids(&path).iter().any(|id| after.contains(id)) {
        assert!(Instant::now() < give_up, "no new file after SIGUSR1");
        after.insert(decide(&mut client).await);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    signal(&server.0, "TERM");
    let mut server = server;
    while server.0.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < give_up,
            "the server did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let old = logged_ids(&moved);
    let new = logged_ids(&path);
    assert!(
        before.is_subset(&old),
        "the first decisions stay in the moved file"
    );
    assert!(
        !new.is_empty() && new.is_subset(&after),
        "the new file holds later decisions"
    );
    assert!(old.is_disjoint(&new), "no decision in both files");
    let all: BTreeSet<_> = before.union(&after).cloned().collect();
    assert_eq!(
        old.union(&new).cloned().collect::<BTreeSet<_>>(),
        all,
        "none lost"
    );
    let text = std::fs::read_to_string(&path).expect("read the new file");
    assert!(!text.contains("tenant-secret"), "the tenant id is masked");
}

#[test]
fn a_bad_sampling_rate_is_refused_before_binding() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "serve",
            "--decision-log",
            "stdout",
            "--decision-log-sample",
            "1.5",
        ])
        .output()
        .expect("run tollgate");
    assert_eq!(out.status.code(), Some(64), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`1.5` is not a rate between 0.0 and 1.0"),
        "{stderr}"
    );
}

#[test]
fn an_erased_field_outside_the_input_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "serve",
            "--decision-log",
            "stdout",
            "--decision-log-erase",
            "attributes.email",
        ])
        .output()
        .expect("run tollgate");
    assert_eq!(out.status.code(), Some(64), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("starts with `input.`"), "{stderr}");
}
