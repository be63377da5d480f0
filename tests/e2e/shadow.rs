//! Shadow evaluation (`--shadow-bundle`): a candidate bundle that flips one
//! decision is counted `differs` in the metrics and `GetBundleStatus`, the
//! disagreement is in the decision log with both outcomes and revisions,
//! and the answer given is the active bundle's.

use serde_json::Value;
use tempfile::TempDir;
use tollgate::{
    app::{ServeOptions, ShadowSource},
    decision_log::{DecisionLog, Settings, Target},
    grpc::pb,
    reload::BundleSource,
};

use crate::{
    http,
    support::{BundleDir, DEMO_REVISION, Server, codes, eventually, metrics, request},
};

/// The demo bundle with `standard` limited to 40 users, as revision
/// `candidate`.
fn candidate() -> BundleDir {
    let dir = BundleDir::demo();
    dir.edit(
        "plans.yaml",
        "limits: { users: 50, storage_gb: 100 }",
        "limits: { users: 40, storage_gb: 100 }",
    );
    dir.set_revision("candidate");
    dir
}

fn upgrade_with_users(users: f64) -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        usage: metrics(&[("users", users)]),
        ..request("free", "standard")
    }
}

fn shadow_count(scrape: &str, agreement: &str) -> f64 {
    http::value(
        scrape,
        "tollgate_shadow_decisions_total",
        &[("decision", "plan_change"), ("agreement", agreement)],
    )
    .unwrap_or(-1.0)
}

#[tokio::test]
async fn a_candidate_that_flips_a_decision_is_counted_and_logged_and_the_answer_is_unchanged() {
    let bundle = candidate();
    let logs = TempDir::new().expect("temp dir");
    let log_path = logs.path().join("decisions.jsonl");
    let log = DecisionLog::start(Settings::new(Target::File(log_path.clone())))
        .expect("start the decision log");
    let options = ServeOptions {
        decision_log: log,
        shadow: Some(ShadowSource {
            source: BundleSource::Path(bundle.path().to_path_buf()),
            sample: 1.0,
            queue: 64,
        }),
        ..ServeOptions::default()
    };
    let server = Server::with_admin(BundleSource::Embedded, options).await;
    eventually("the shadow bundle loads", async || {
        let shadow = server.status().await.shadow.unwrap_or_default();
        match shadow.revision.as_str() {
            "candidate" => Ok(()),
            other => Err(format!("shadow revision `{other}`: {shadow:?}")),
        }
    })
    .await;

    // 45 users fit the active `standard` (50) but not the candidate's (40).
    let flipped = server.decide(upgrade_with_users(45.0)).await;
    assert_eq!(flipped.verdict(), pb::Verdict::Allow, "{flipped:?}");
    assert_eq!(codes(&flipped), ["UPGRADE"]);
    let same = server.decide(upgrade_with_users(3.0)).await;
    assert_eq!(same.verdict(), pb::Verdict::Allow, "{same:?}");

    eventually("both shadow decisions are counted", async || {
        let scrape = server.scrape().await;
        match (
            shadow_count(&scrape, "differs"),
            shadow_count(&scrape, "same"),
        ) {
            (1.0, 1.0) => Ok(()),
            other => Err(format!("(differs, same) = {other:?}")),
        }
    })
    .await;
    let scrape = server.scrape().await;
    assert_eq!(shadow_count(&scrape, "error"), 0.0);
    assert_eq!(
        http::value(&scrape, "tollgate_shadow_dropped_total", &[]),
        Some(0.0)
    );
    let status = server.status().await;
    assert_eq!(status.revision, DEMO_REVISION);
    let shadow = status.shadow.expect("a shadow status");
    assert_eq!(
        (shadow.same, shadow.differs, shadow.errors, shadow.dropped),
        (1, 1, 0, 0),
        "{shadow:?}"
    );

    server.stop().await.expect("serve_with returns Ok");
    let text = std::fs::read_to_string(&log_path).expect("read the decision log");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    // Two answered decisions, and one line for the disagreement.
    assert_eq!(events.len(), 3, "{text}");
    let differing: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("shadow").is_some())
        .collect();
    assert_eq!(differing.len(), 1, "{text}");
    let event = differing[0];
    assert_eq!(event["outcome"], "VERDICT_ALLOW", "{event:#}");
    assert_eq!(event["bundle"]["revision"], DEMO_REVISION, "{event:#}");
    assert_eq!(event["shadow"]["outcome"], "VERDICT_DENY", "{event:#}");
    assert_eq!(
        event["shadow"]["reasonCodes"],
        serde_json::json!(["USAGE_EXCEEDS_TARGET_LIMIT"]),
        "{event:#}"
    );
    assert_eq!(
        event["shadow"]["bundle"]["revision"], "candidate",
        "{event:#}"
    );
    assert_eq!(
        event["decisionId"],
        flipped.meta.as_ref().expect("meta").decision_id,
        "{event:#}"
    );

    // The same log, replayed with the candidate as a process: the same one
    // flip, the shadow record skipped (ids are masked, and no demo
    // plan-change rule reads the tenant id).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["replay", "--format", "json", "--bundle"])
        .arg(bundle.path())
        .arg(&log_path)
        .output()
        .expect("run tollgate replay");
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let counts = [
        &report["replayed"],
        &report["changed"],
        &report["shadow_records"],
    ];
    assert_eq!(counts, [2, 1, 1], "{report:#}");
    assert_eq!(
        report["groups"][0]["new"],
        serde_json::json!({ "decision": "DENY", "reasons": ["USAGE_EXCEEDS_TARGET_LIMIT"] }),
        "{report:#}"
    );
}

#[tokio::test]
async fn without_a_shadow_bundle_the_status_has_none() {
    let server = Server::embedded().await;
    assert!(server.status().await.shadow.is_none());
}
