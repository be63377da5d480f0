//! Waiting for what the server does in the background: polling with a
//! bound, never sleeping for it.

use std::time::Instant;

use tollgate::grpc::pb;

use super::{DEADLINE, POLL_EVERY, Server, request};

/// Polls `probe` every 25 ms until it succeeds; after [`DEADLINE`] panics
/// naming `what` and the probe's last complaint.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let give_up = Instant::now() + DEADLINE;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) => assert!(
                Instant::now() < give_up,
                "{what}: not within {DEADLINE:?}; last: {last}"
            ),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `probe` until its answer is `want`.
pub async fn eventually_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    want: T,
    mut probe: impl AsyncFnMut() -> T,
) {
    eventually(what, async || match probe().await {
        got if got == want => Ok(()),
        other => Err(format!("{other:?}")),
    })
    .await;
}

/// Waits until the bundle status satisfies `ready`, and returns it.
pub async fn wait_for_status(
    server: &Server,
    what: &str,
    ready: impl Fn(&pb::BundleStatus) -> bool,
) -> pb::BundleStatus {
    eventually(what, async || {
        let status = server.status().await;
        if ready(&status) {
            Ok(status)
        } else {
            Err(format!("{status:?}"))
        }
    })
    .await
}

/// Waits until the server's active revision is `revision`.
pub async fn wait_for_revision(server: &Server, revision: &str) -> pb::BundleStatus {
    let what = format!("revision `{revision}` going live");
    wait_for_status(server, &what, |s| s.revision == revision).await
}

/// Waits until the last reload attempt failed with an error containing `needle`.
pub async fn wait_for_reload_error(server: &Server, needle: &str) -> pb::BundleStatus {
    let what = format!("a reload error naming `{needle}`");
    wait_for_status(server, &what, |s| s.last_reload_error.contains(needle)).await
}

/// Waits for a reload attempt after the one `before` reports.
pub async fn wait_for_another_attempt(
    server: &Server,
    before: &pb::BundleStatus,
) -> pb::BundleStatus {
    wait_for_status(server, "another reload attempt", |s| {
        s.last_reload_attempt_at != before.last_reload_attempt_at
    })
    .await
}

/// The bundle revision a fresh upgrade decision reports.
pub async fn revision_of_a_decision(server: &Server) -> String {
    let d = server.decide(request("free", "standard")).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    d.meta.expect("meta").bundle_revision
}
