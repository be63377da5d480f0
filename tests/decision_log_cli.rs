//! `tollgate serve --decision-log PATH` as a process: the file is reopened
//! on SIGUSR1 (as logrotate's `postrotate` asks), and bad decision-log
//! flags are refused before anything binds.

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

use support::{Serve, free_port, free_to_standard};

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
            v["decision_id"].as_str().expect("decision_id").to_owned()
        })
        .collect()
}

#[tokio::test]
async fn sigusr1_reopens_the_decision_log_after_it_was_moved() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("decisions.jsonl");
    let moved = dir.path().join("decisions.jsonl.old");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "off"])
        .arg("--decision-log")
        .arg(&path)
        .args(["--decision-log-hash-key", "k"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate serve");
    let server = Serve(child);

    let give_up = Instant::now() + DEADLINE;
    let mut client = loop {
        let endpoint = format!("http://127.0.0.1:{port}");
        if let Ok(c) = DecisionServiceClient::connect(endpoint).await {
            break c;
        }
        assert!(Instant::now() < give_up, "the server never accepted");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
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
