//! Remote bundles end to end: a real HTTP source (this crate's own server,
//! serving `.tar.gz` archives with ETags) and real Tollgate servers, as
//! processes (three replicas, a restart from the cache) and in-process
//! (token, size limit, bad bundle), talked to over gRPC; and `tollgate check
//! --against`/`--cache` on a replica and its cache.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod limits;
mod replicas;
mod revision_reuse;
mod signed;
mod slow;
mod source;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
#[path = "../support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use tollgate::grpc::pb::{
    self, bundle_service_client::BundleServiceClient,
    decision_service_client::DecisionServiceClient,
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(20);

async fn status(channel: &Channel) -> pb::BundleStatus {
    BundleServiceClient::new(channel.clone())
        .get_bundle_status(pb::GetBundleStatusRequest {})
        .await
        .expect("bundle status")
        .into_inner()
}

async fn serving(channel: &Channel) -> bool {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .is_ok_and(|r| r.into_inner().status() == ServingStatus::Serving)
}

/// The revision a real decision names.
async fn decided_revision(channel: &Channel) -> String {
    let request = pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: "free".to_owned(),
        to_plan: "standard".to_owned(),
        requester: Some(pb::Requester {
            role: pb::RequesterRole::Tenant.into(),
            id: String::new(),
        }),
        ..Default::default()
    };
    DecisionServiceClient::new(channel.clone())
        .decide_plan_change(request)
        .await
        .expect("decided")
        .into_inner()
        .meta
        .expect("meta")
        .bundle_revision
}

/// Waits until both the status and a decision name `want`, failing at
/// `until`. Meanwhile every decision must name `want` or one of `before`:
/// a decision names the bundle that answered it, never another.
async fn wait_for_revision(channel: &Channel, want: &str, before: &[&str], until: Instant) {
    loop {
        let decided = decided_revision(channel).await;
        assert!(
            decided == want || before.contains(&decided.as_str()),
            "a decision named `{decided}`, expected `{want}` or one of {before:?}"
        );
        if decided == want && status(channel).await.revision == want {
            return;
        }
        assert!(
            Instant::now() < until,
            "still on `{decided}` at the deadline, waiting for `{want}`: {:?}",
            status(channel).await
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Waits until `check` holds, failing after [`DEADLINE`].
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let give_up = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}
