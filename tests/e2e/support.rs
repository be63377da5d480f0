//! The harness: the real server on port 0, its clients, request builders,
//! assertions on decisions, and bundle directories on disk.

use std::{
    collections::HashMap,
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tollgate::{
    grpc::pb::{
        self, bundle_service_client::BundleServiceClient,
        decision_service_client::DecisionServiceClient,
    },
    reload::BundleSource,
};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

/// The demo bundle's revision.
pub const DEMO_REVISION: &str = "2026-11-22.1";

/// The demo bundle's rules, in bundle order.
pub const DEMO_RULES: [&str; 10] = [
    "same-plan",
    "unknown-source-plan",
    "unknown-target-plan",
    "reseller-contract-only",
    "usage-within-target-limits",
    "downgrade-usage-reported",
    "upgrade-immediate",
    "downgrade-in-commitment",
    "downgrade-over-quota",
    "downgrade-immediate",
];

/// The `as_of` of most requests.
pub const AS_OF: &str = "2026-03-10T09:00:00Z";

/// Upper bound on anything we wait for (connecting, a reload going live).
/// A bound against hanging, not a speed requirement.
pub const DEADLINE: Duration = Duration::from_secs(5);

const POLL_EVERY: Duration = Duration::from_millis(25);

/// A real Tollgate server on 127.0.0.1, stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Serves the embedded demo bundle.
    pub async fn embedded() -> Self {
        Self::start(BundleSource::Embedded).await
    }

    /// Serves the bundle in `dir`, watching it for changes.
    pub async fn at(dir: &Path) -> Self {
        Self::start(BundleSource::Path(dir.to_path_buf())).await
    }

    async fn start(source: BundleSource) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(tollgate::app::serve_on(
            listener,
            source,
            None,
            async move {
                let _ = rx.await;
            },
        ));
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        let channel = eventually(&format!("connecting to {addr}"), async || {
            endpoint.connect().await.map_err(|e| e.to_string())
        })
        .await;
        let server = Self {
            addr,
            channel,
            shutdown: Some(tx),
            task,
        };
        // `serve_on` installs the bundle watcher before it serves, so once a
        // call is answered every later change on disk is seen.
        server.status().await;
        server
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A channel to the server (HTTP/2, shared by clones).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A `tollgate.v1.DecisionService` client.
    pub fn decisions(&self) -> DecisionServiceClient<Channel> {
        DecisionServiceClient::new(self.channel())
    }

    /// A `tollgate.v1.BundleService` client.
    pub fn bundles(&self) -> BundleServiceClient<Channel> {
        BundleServiceClient::new(self.channel())
    }

    /// A `grpc.health.v1.Health` client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel())
    }

    /// Decides `req`, failing the test on any error status.
    pub async fn decide(&self, req: pb::PlanChangeRequest) -> pb::PlanChangeDecision {
        match self.decisions().decide_plan_change(req).await {
            Ok(r) => r.into_inner(),
            Err(s) => panic!("DecidePlanChange failed: {s:?}"),
        }
    }

    /// Decides `req`, expecting an error status.
    pub async fn decide_err(&self, req: pb::PlanChangeRequest) -> tonic::Status {
        match self.decisions().decide_plan_change(req).await {
            Ok(r) => panic!("DecidePlanChange succeeded: {:?}", r.into_inner()),
            Err(s) => s,
        }
    }

    /// The bundle status.
    pub async fn status(&self) -> pb::BundleStatus {
        self.bundles()
            .get_bundle_status(pb::GetBundleStatusRequest {})
            .await
            .expect("GetBundleStatus")
            .into_inner()
    }

    /// Resolves the shutdown future and waits (bounded) for `serve_on` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(DEADLINE, &mut self.task)
            .await
            .expect("serve_on returns after shutdown")
            .expect("server task did not panic")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

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

/// Waits until the server's active revision is `revision`.
pub async fn wait_for_revision(server: &Server, revision: &str) -> pb::BundleStatus {
    eventually(&format!("revision `{revision}` going live"), async || {
        let status = server.status().await;
        if status.revision == revision {
            Ok(status)
        } else {
            Err(format!("{status:?}"))
        }
    })
    .await
}

/// The bundle revision a fresh upgrade decision reports.
pub async fn revision_of_a_decision(server: &Server) -> String {
    let d = server.decide(request("free", "standard")).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    d.meta.expect("meta").bundle_revision
}

/// A plan-change request from a tenant at [`AS_OF`], with nothing else set.
pub fn request(from: &str, to: &str) -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: from.to_owned(),
        to_plan: to.to_owned(),
        requester: Some(pb::Requester {
            role: pb::RequesterRole::Tenant.into(),
            id: String::new(),
        }),
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
}

/// A requester with `role`.
pub fn requester(role: pb::RequesterRole) -> Option<pb::Requester> {
    Some(pb::Requester {
        role: role.into(),
        id: String::new(),
    })
}

/// A usage map.
pub fn metrics(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// An RFC 3339 instant as a proto timestamp.
pub fn ts(rfc3339: &str) -> prost_types::Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().expect("RFC 3339 literal");
    let nanos = t.as_nanosecond();
    prost_types::Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).expect("in range"),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).expect("in range"),
    }
}

/// A proto timestamp as RFC 3339 (`none` when absent), for readable asserts.
pub fn rfc3339(ts: Option<&prost_types::Timestamp>) -> String {
    ts.map_or("none".to_owned(), |t| {
        jiff::Timestamp::new(t.seconds, t.nanos)
            .map_or_else(|e| format!("invalid: {e}"), |t| t.to_string())
    })
}

/// The reason codes of a decision, in order.
pub fn codes(d: &pb::PlanChangeDecision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// Details as a sorted list of pairs, for exact comparison.
pub fn details(r: &pb::Reason) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = r
        .details
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    out.sort_unstable();
    out
}

/// Asserts an allow with one reason from `rule_id`.
pub fn assert_allow(
    d: &pb::PlanChangeDecision,
    timing: pb::EffectiveTiming,
    effective_at: &str,
    code: &str,
    rule_id: &str,
) {
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(d.timing(), timing, "{d:#?}");
    assert_eq!(rfc3339(d.effective_at.as_ref()), effective_at, "{d:#?}");
    assert_eq!(codes(d), [code], "{d:#?}");
    assert_eq!(d.reasons[0].rule_id, rule_id, "{d:#?}");
    assert!(!d.reasons[0].message.is_empty(), "{d:#?}");
}

/// Asserts a deny with exactly these reason codes: no timing, no instant.
pub fn assert_deny(d: &pb::PlanChangeDecision, want: &[&str]) {
    assert_eq!(d.verdict(), pb::Verdict::Deny, "{d:#?}");
    assert_eq!(d.timing(), pb::EffectiveTiming::Unspecified, "{d:#?}");
    assert_eq!(d.effective_at, None, "{d:#?}");
    assert_eq!(codes(d), want, "{d:#?}");
}

/// Asserts `INVALID_ARGUMENT` and returns the `BadRequest` field names.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let bad = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest detail in {status:?}"));
    for v in &bad.field_violations {
        assert!(!v.description.is_empty(), "{v:?}");
        assert!(
            status.message().contains(&v.field),
            "message `{}` does not name `{}`",
            status.message(),
            v.field
        );
    }
    bad.field_violations.into_iter().map(|v| v.field).collect()
}

/// The demo bundle's directory in the source tree.
pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/demo")
}

/// A file of the demo bundle.
pub fn demo_file(name: &str) -> String {
    fs::read_to_string(demo_dir().join(name)).expect("demo bundle file")
}

/// The demo `bundle.yaml` with another revision.
pub fn bundle_yaml(revision: &str) -> String {
    let demo = demo_file("bundle.yaml");
    let from = format!("revision: \"{DEMO_REVISION}\"");
    assert!(demo.contains(&from), "bundle.yaml has no `{from}` line");
    demo.replace(&from, &format!("revision: \"{revision}\""))
}

/// Copies every `*.yaml` of the demo bundle into `dir`.
pub fn copy_demo(dir: &Path) {
    for entry in fs::read_dir(demo_dir()).expect("list demo bundle") {
        let path = entry.expect("demo entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            fs::copy(&path, dir.join(path.file_name().expect("file name"))).expect("copy");
        }
    }
}

/// A temporary bundle directory, starting as a copy of the demo bundle.
pub struct BundleDir {
    dir: TempDir,
}

impl BundleDir {
    /// A copy of the demo bundle.
    pub fn demo() -> Self {
        let dir = TempDir::new().expect("temp dir");
        copy_demo(dir.path());
        Self { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Overwrites a file in place, as an editor or `cp` would.
    pub fn write(&self, name: &str, content: &str) {
        fs::write(self.path().join(name), content).expect("write bundle file");
    }

    /// Rewrites `bundle.yaml` with `revision`.
    pub fn set_revision(&self, revision: &str) {
        self.write("bundle.yaml", &bundle_yaml(revision));
    }
}
