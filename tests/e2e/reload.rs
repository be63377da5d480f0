//! Hot reload from bundle directories on disk: good updates go live, bad ones
//! are refused while the last good bundle keeps serving, Kubernetes ConfigMap
//! swaps are seen, and decisions never fail while bundles change under load.

use std::{
    collections::HashMap,
    fs,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tollgate::grpc::pb::{self, decision_service_client::DecisionServiceClient};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{
    BundleDir, DEMO_REVISION, Server, bundle_yaml, copy_demo, demo_counts, demo_file, demo_line,
    metrics, request, revision_of_a_decision, wait_for_another_attempt, wait_for_reload_error,
    wait_for_revision, wait_for_status,
};

/// The demo `plan_change.yaml` with a CEL syntax error in rule
/// `upgrade-immediate`, on the line [`broken_line`] names.
fn broken_line() -> String {
    demo_line("plan_change.yaml", "    when: change.upgrade")
}

fn broken_rules() -> String {
    let good = demo_file("plan_change.yaml");
    let broken = good.replace(
        "    when: change.upgrade\n",
        "    when: change.upgrade &&\n",
    );
    assert_ne!(broken, good);
    broken
}

#[tokio::test]
async fn good_update_goes_live_in_status_and_decisions() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let before = server.status().await;
    assert_eq!(before.revision, DEMO_REVISION);
    assert_eq!(before.source, dir.path().display().to_string());
    assert_eq!(before.test_count, demo_counts(&[]).1);

    dir.set_revision("2026-11-22.2");
    let after = wait_for_revision(&server, "2026-11-22.2").await;
    assert_ne!(after.digest, before.digest);
    assert_eq!(after.last_reload_error, "");
    let d = server.decide(request("free", "standard")).await;
    let meta = d.meta.expect("meta");
    assert_eq!(meta.bundle_revision, "2026-11-22.2");
    assert_eq!(meta.bundle_digest, after.digest);
}

#[tokio::test]
async fn rewriting_identical_content_does_not_reactivate_the_bundle() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let before = server.status().await;
    assert!(before.last_reload_attempt_at.is_some(), "{before:?}");

    dir.write("bundle.yaml", &demo_file("bundle.yaml"));
    let after = wait_for_another_attempt(&server, &before).await;
    assert_eq!(after.revision, DEMO_REVISION);
    assert_eq!(after.digest, before.digest);
    assert_eq!(after.loaded_at, before.loaded_at, "not activated again");
    assert_eq!(after.last_reload_error, "");
}

#[tokio::test]
async fn broken_rule_is_refused_until_a_later_good_update_clears_the_error() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;

    dir.write("plan_change.yaml", &broken_rules());
    dir.set_revision("2026-11-22.2");
    let status = wait_for_reload_error(&server, &broken_line()).await;
    assert!(
        status.last_reload_error.contains("upgrade-immediate"),
        "{status:?}"
    );
    assert_eq!(
        status.revision, DEMO_REVISION,
        "the last good bundle serves"
    );
    assert_eq!(revision_of_a_decision(&server).await, DEMO_REVISION);
    let health = server.health_of("").await.map_err(|s| s.code());
    assert_eq!(
        health,
        Ok(ServingStatus::Serving),
        "a refused update does not make the server unready"
    );

    dir.write("plan_change.yaml", &demo_file("plan_change.yaml"));
    dir.set_revision("2026-11-22.3");
    let status = wait_for_revision(&server, "2026-11-22.3").await;
    assert_eq!(status.last_reload_error, "");
    assert_eq!(revision_of_a_decision(&server).await, "2026-11-22.3");
}

#[tokio::test]
async fn bundle_whose_own_test_fails_is_refused() {
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;

    let good = demo_file("plan_change_tests.yaml");
    let failing = good.replace(
        "want: { verdict: DENY, reasons: [SAME_PLAN] }",
        "want: { verdict: ALLOW, reasons: [SAME_PLAN] }",
    );
    assert_ne!(failing, good);
    dir.write("plan_change_tests.yaml", &failing);
    dir.set_revision("2026-11-22.2");
    let status = wait_for_reload_error(&server, "plan_change_tests.yaml:4").await;
    assert!(
        status.last_reload_error.contains("same plan is denied"),
        "{status:?}"
    );
    assert_eq!(status.revision, DEMO_REVISION);
    assert_eq!(revision_of_a_decision(&server).await, DEMO_REVISION);

    // Reverting to the active content clears the error without reactivating.
    dir.write("plan_change_tests.yaml", &good);
    dir.set_revision(DEMO_REVISION);
    let reverted = wait_for_status(&server, "the reload error to clear", |s| {
        s.last_reload_error.is_empty()
    })
    .await;
    assert_eq!(reverted.revision, DEMO_REVISION);
    assert_eq!(reverted.loaded_at, status.loaded_at, "not activated again");
}

/// Writes a ConfigMap data directory `root/..<stamp>` holding the demo
/// bundle at `revision`, as the kubelet does before swapping it in.
fn configmap_version(root: &Path, stamp: &str, revision: &str) {
    let dir = root.join(stamp);
    fs::create_dir(&dir).expect("timestamped dir");
    copy_demo(&dir);
    fs::write(dir.join("bundle.yaml"), bundle_yaml(revision)).expect("bundle.yaml");
}

/// The kubelet's update from version `old` to `new` at `revision`:
/// `..data_tmp -> <new>`, renamed over `..data`, then `old` removed; waits
/// for `revision` to serve.
#[cfg(unix)]
async fn configmap_update(server: &Server, root: &Path, old: &str, new: &str, revision: &str) {
    configmap_version(root, new, revision);
    std::os::unix::fs::symlink(new, root.join("..data_tmp")).expect("..data_tmp");
    fs::rename(root.join("..data_tmp"), root.join("..data")).expect("rename over ..data");
    fs::remove_dir_all(root.join(old)).expect("old version removed");
    wait_for_revision(server, revision).await;
    assert_eq!(revision_of_a_decision(server).await, revision);
}

#[cfg(unix)]
#[tokio::test]
async fn configmap_symlink_swap_goes_live() {
    use std::os::unix::fs::symlink;

    let root = tempfile::TempDir::new().expect("temp dir");
    let root = root.path();
    let first = "..2026_11_22_00_00_00.1";
    configmap_version(root, first, DEMO_REVISION);
    symlink(first, root.join("..data")).expect("..data");
    for name in [
        "bundle.yaml",
        "plans.yaml",
        "plan_change.yaml",
        "plan_change_tests.yaml",
    ] {
        symlink(format!("..data/{name}"), root.join(name)).expect("file symlink");
    }
    let server = Server::at(root).await;
    let status = server.status().await;
    assert_eq!(status.revision, DEMO_REVISION, "{status:?}");
    let files = [
        "bundle.yaml",
        "plans.yaml",
        "plan_change.yaml",
        "plan_change_tests.yaml",
    ];
    assert_eq!(status.rule_count, demo_counts(&files).0);

    let second = "..2026_11_22_00_05_00.2";
    configmap_update(&server, root, first, second, "2026-11-22.2").await;
    // The watch survives the swap: the next update is seen too.
    let third = "..2026_11_22_00_10_00.3";
    configmap_update(&server, root, second, third, "2026-11-22.3").await;
}

/// What one load-generating client saw.
#[derive(Default)]
struct Seen {
    calls: usize,
    failures: Vec<String>,
    /// Revisions in the order seen, consecutive repeats collapsed.
    revisions: Vec<String>,
}

/// Calls DecidePlanChange in a loop on its own connection until `stop`.
async fn load(server_addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> Seen {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{server_addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = DecisionServiceClient::new(channel);
    let mut seen = Seen::default();
    while !stop.load(Ordering::Relaxed) {
        // Alternate an allow and a deny, so both paths run during swaps.
        let (req, want) = if seen.calls % 2 == 0 {
            (request("free", "standard"), pb::Verdict::Allow)
        } else {
            let mut req = request("premium", "standard");
            req.usage = metrics(&[("users", 120.0), ("storage_gb", 20.0)]);
            (req, pb::Verdict::Deny)
        };
        seen.calls += 1;
        match client.decide_plan_change(req).await {
            Ok(d) => {
                let d = d.into_inner();
                if d.verdict() != want {
                    seen.failures.push(format!("unexpected decision {d:?}"));
                }
                let revision = d.meta.map(|m| m.bundle_revision).unwrap_or_default();
                if seen.revisions.last() != Some(&revision) {
                    seen.revisions.push(revision);
                }
            }
            Err(status) => seen.failures.push(format!("{status:?}")),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_never_fail_while_fifty_revisions_go_live_under_load() {
    const RELOADS: usize = 50;
    const CLIENTS: usize = 8;
    let dir = BundleDir::demo();
    let server = Server::at(dir.path()).await;
    let written: Vec<String> = std::iter::once(DEMO_REVISION.to_owned())
        .chain((2..=RELOADS + 1).map(|n| format!("2026-11-22.{n}")))
        .collect();
    let order: HashMap<&str, usize> = written
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(load(server.addr(), stop.clone())))
        .collect();
    for revision in &written[1..] {
        dir.set_revision(revision);
        wait_for_revision(&server, revision).await;
        assert_eq!(&revision_of_a_decision(&server).await, revision);
    }
    stop.store(true, Ordering::Relaxed);

    let mut total = 0;
    for (i, client) in clients.into_iter().enumerate() {
        let seen = client.await.expect("client task");
        total += seen.calls;
        assert!(seen.calls > 0, "client {i} made no call");
        assert_eq!(seen.failures, Vec::<String>::new(), "client {i}");
        let indexes: Vec<usize> = seen
            .revisions
            .iter()
            .map(|r| {
                *order
                    .get(r.as_str())
                    .unwrap_or_else(|| panic!("client {i} saw unwritten revision `{r}`"))
            })
            .collect();
        // Each revision is written only once the previous one is live, so
        // one client's sequential calls never go back to an older revision.
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "client {i} saw revisions out of order: {:?}",
            seen.revisions
        );
    }
    println!("{total} decisions by {CLIENTS} clients across {RELOADS} reloads, none failed");
}
