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
    app::ServeOptions,
    decision_log::{self, DecisionLog},
    grpc::pb::{
        self, bundle_service_client::BundleServiceClient,
        decision_service_client::DecisionServiceClient,
    },
    reload::BundleSource,
};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

use crate::http;

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

/// The demo bundle's payment-link rules, in bundle order.
pub const DEMO_LINK_RULES: [&str; 7] = [
    "health-score-too-low",
    "auto-charge-available",
    "second-method-available",
    "method-not-accepted",
    "second-method-inactive",
    "balance-only-second-method-possible",
    "balance-only",
];

/// The demo bundle's charge-funding rules, in bundle order.
pub const DEMO_FUNDING_RULES: [&str; 5] = [
    "currency-not-accepted",
    "balance-covers",
    "auto-charge-top-up",
    "fallback-method",
    "insufficient-funds",
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
    log: DecisionLog,
    admin: Option<SocketAddr>,
}

impl Server {
    /// Serves the embedded demo bundle.
    pub async fn embedded() -> Self {
        Self::start(BundleSource::Embedded, ServeOptions::default()).await
    }

    /// Serves the bundle in `dir`, watching it for changes.
    pub async fn at(dir: &Path) -> Self {
        Self::start(
            BundleSource::Path(dir.to_path_buf()),
            ServeOptions::default(),
        )
        .await
    }

    /// Serves the embedded demo bundle, logging decisions per `settings`.
    pub async fn logging(settings: decision_log::Settings) -> Self {
        let log = DecisionLog::start(settings).expect("start the decision log");
        let options = ServeOptions {
            decision_log: log,
            ..ServeOptions::default()
        };
        Self::start(BundleSource::Embedded, options).await
    }

    /// Serves the embedded demo bundle with these transport settings and
    /// limits.
    pub async fn with(server: tollgate::grpc::ServerOptions) -> Self {
        let options = ServeOptions {
            server,
            ..ServeOptions::default()
        };
        Self::start(BundleSource::Embedded, options).await
    }

    /// Serves `source` with `options`, and the admin HTTP port on a port 0
    /// of its own.
    pub async fn with_admin(source: BundleSource, options: ServeOptions) -> Self {
        let admin = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the admin port");
        let options = ServeOptions {
            admin: Some(admin),
            ..options
        };
        Self::start(source, options).await
    }

    async fn start(source: BundleSource, options: ServeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let admin = options
            .admin
            .as_ref()
            .map(|l| l.local_addr().expect("admin address"));
        let (tx, rx) = oneshot::channel::<()>();
        let log = options.decision_log.clone();
        let task = tokio::spawn(tollgate::app::serve_with(
            listener,
            source,
            None,
            options,
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
            log,
            admin,
        };
        // `serve_on` installs the bundle watcher before it serves, so once a
        // call is answered every later change on disk is seen.
        server.status().await;
        server
    }

    /// The decision log's counters (all zero when it is off).
    pub fn log_stats(&self) -> decision_log::StatsSnapshot {
        self.log.stats()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin HTTP port's address.
    pub fn admin(&self) -> SocketAddr {
        self.admin.expect("the server was started with_admin")
    }

    /// Opens a `DecidePlanChanges` stream and has one request decided on
    /// it, so the stream holds a concurrency permit until `requests` is
    /// dropped. A permit of an earlier call may take a moment to come back:
    /// retried.
    pub async fn stream_holding_a_permit(
        &self,
    ) -> (
        tokio::sync::mpsc::Sender<pb::PlanChangeRequest>,
        tonic::Streaming<pb::PlanChangeResult>,
    ) {
        eventually("a stream holding a permit", async || {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tx.send(request("free", "standard"))
                .await
                .map_err(|e| e.to_string())?;
            let mut results = self
                .decisions()
                .decide_plan_changes(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map_err(|s| format!("{s:?}"))?
                .into_inner();
            match results.message().await {
                Ok(Some(_)) => Ok((tx, results)),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }

    /// `GET path` from the admin port.
    pub async fn get(&self, path: &str) -> http::Answer {
        http::get(self.admin(), path)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `/metrics` as text, checking the status and content type.
    pub async fn scrape(&self) -> String {
        let answer = self.get("/metrics").await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(
            answer
                .content_type
                .starts_with("application/openmetrics-text;"),
            "{answer:?}"
        );
        answer.body
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

    /// Decides a link request, failing the test on any error status.
    pub async fn decide_link(&self, req: pb::PaymentLinkRequest) -> pb::PaymentLinkDecision {
        match self.decisions().decide_payment_link(req).await {
            Ok(r) => r.into_inner(),
            Err(s) => panic!("DecidePaymentLink failed: {s:?}"),
        }
    }

    /// Decides a link request, expecting an error status.
    pub async fn decide_link_err(&self, req: pb::PaymentLinkRequest) -> tonic::Status {
        match self.decisions().decide_payment_link(req).await {
            Ok(r) => panic!("DecidePaymentLink succeeded: {:?}", r.into_inner()),
            Err(s) => s,
        }
    }

    /// Decides a funding request, failing the test on any error status.
    pub async fn decide_funding(&self, req: pb::ChargeFundingRequest) -> pb::ChargeFundingDecision {
        match self.decisions().decide_charge_funding(req).await {
            Ok(r) => r.into_inner(),
            Err(s) => panic!("DecideChargeFunding failed: {s:?}"),
        }
    }

    /// Decides a funding request, expecting an error status.
    pub async fn decide_funding_err(&self, req: pb::ChargeFundingRequest) -> tonic::Status {
        match self.decisions().decide_charge_funding(req).await {
            Ok(r) => panic!("DecideChargeFunding succeeded: {:?}", r.into_inner()),
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

/// Waits until the last reload attempt failed with an error containing `needle`.
pub async fn wait_for_reload_error(server: &Server, needle: &str) -> pb::BundleStatus {
    eventually(&format!("a reload error naming `{needle}`"), async || {
        let status = server.status().await;
        if status.last_reload_error.contains(needle) {
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

/// A payment method; `fallback_rank` 0 is not a fallback.
pub fn method(
    id: &str,
    kind: pb::PaymentMethodType,
    status: pb::PaymentMethodStatus,
    fallback_rank: u32,
) -> pb::PaymentMethod {
    pb::PaymentMethod {
        id: id.to_owned(),
        r#type: kind.into(),
        status: status.into(),
        fallback_rank,
    }
}

/// The wallet's balance as a listed method, `wallet`.
pub fn balance_method() -> pb::PaymentMethod {
    method(
        "wallet",
        pb::PaymentMethodType::Balance,
        pb::PaymentMethodStatus::Active,
        0,
    )
}

/// Auto-charge switched on, topping up `amount_minor` from `source`
/// (threshold 0).
pub fn auto_charge(source: &str, amount_minor: i64) -> Option<pb::AutoCharge> {
    Some(pb::AutoCharge {
        enabled: true,
        source_method_id: source.to_owned(),
        threshold_minor: 0,
        amount_minor,
    })
}

/// A link request from user `u1` to `merchant` at [`AS_OF`], with a health
/// `score` and `methods`.
pub fn link_request(
    merchant: &str,
    score: u32,
    methods: Vec<pb::PaymentMethod>,
) -> pb::PaymentLinkRequest {
    pb::PaymentLinkRequest {
        user_id: "u1".to_owned(),
        merchant_id: merchant.to_owned(),
        methods,
        health: Some(pb::HealthIndex {
            score,
            signals: HashMap::new(),
        }),
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
}

/// An amount of yen.
pub fn jpy(amount_minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency: "JPY".to_owned(),
        amount_minor,
    })
}

/// A charge of `amount_minor` yen by user `u1` at `merchant` at [`AS_OF`],
/// with `balance_minor` in the wallet and `methods`.
pub fn funding_request(
    merchant: &str,
    amount_minor: i64,
    balance_minor: i64,
    methods: Vec<pb::PaymentMethod>,
) -> pb::ChargeFundingRequest {
    pb::ChargeFundingRequest {
        user_id: "u1".to_owned(),
        merchant_id: merchant.to_owned(),
        amount: jpy(amount_minor),
        balance_minor,
        methods,
        as_of: Some(ts(AS_OF)),
        ..Default::default()
    }
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

/// A decision of any type: it has reasons and provenance.
pub trait Decision: std::fmt::Debug {
    /// Its reasons, in order.
    fn reasons(&self) -> &[pb::Reason];
    /// Its provenance.
    fn meta(&self) -> Option<&pb::DecisionMeta>;
}

impl Decision for pb::PlanChangeDecision {
    fn reasons(&self) -> &[pb::Reason] {
        &self.reasons
    }
    fn meta(&self) -> Option<&pb::DecisionMeta> {
        self.meta.as_ref()
    }
}

impl Decision for pb::PaymentLinkDecision {
    fn reasons(&self) -> &[pb::Reason] {
        &self.reasons
    }
    fn meta(&self) -> Option<&pb::DecisionMeta> {
        self.meta.as_ref()
    }
}

impl Decision for pb::ChargeFundingDecision {
    fn reasons(&self) -> &[pb::Reason] {
        &self.reasons
    }
    fn meta(&self) -> Option<&pb::DecisionMeta> {
        self.meta.as_ref()
    }
}

/// The reason codes of a decision, in order.
pub fn codes(d: &impl Decision) -> Vec<&str> {
    d.reasons().iter().map(|r| r.code.as_str()).collect()
}

/// The rule trace of a decision as `(rule_id, effect, matched, decisive)`.
pub fn trace(d: &impl Decision) -> Vec<(&str, &str, bool, bool)> {
    d.meta()
        .expect("meta")
        .trace
        .iter()
        .map(|t| (t.rule_id.as_str(), t.effect.as_str(), t.matched, t.decisive))
        .collect()
}

/// The first reason is `rule_id`'s, with exactly `message`.
pub fn assert_first_reason(reasons: &[pb::Reason], rule_id: &str, message: &str) {
    let first = reasons.first().unwrap_or_else(|| panic!("no reasons"));
    assert_eq!(first.rule_id, rule_id, "{reasons:?}");
    assert_eq!(first.message, message, "{reasons:?}");
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

/// Asserts a link decision: outcome, actions in order, reason codes in order.
pub fn assert_link(
    d: &pb::PaymentLinkDecision,
    outcome: pb::LinkOutcome,
    actions: &[pb::RequiredAction],
    want: &[&str],
) {
    assert_eq!(d.outcome(), outcome, "{d:#?}");
    assert_eq!(d.required_actions().collect::<Vec<_>>(), actions, "{d:#?}");
    assert_eq!(codes(d), want, "{d:#?}");
    for r in &d.reasons {
        assert!(!r.message.is_empty(), "{d:#?}");
    }
}

/// A funding step as `(source, method_id, amount_minor)`.
pub type Step<'a> = (pb::FundingSource, &'a str, i64);

/// The steps of a funding decision, for exact comparison.
pub fn steps(d: &pb::ChargeFundingDecision) -> Vec<Step<'_>> {
    d.steps
        .iter()
        .map(|s| (s.source(), s.method_id.as_str(), s.amount_minor))
        .collect()
}

/// Asserts the funding arithmetic of any decision for a charge of
/// `amount_minor`: an APPROVE's payment steps (BALANCE, PAYMENT_METHOD) sum
/// exactly to the charge, no step is zero or negative or of an unspecified
/// source, an AUTO_CHARGE top-up (at most one) comes before every payment;
/// a DECLINE has no steps.
pub fn assert_funding_arithmetic(d: &pb::ChargeFundingDecision, amount_minor: i64) {
    use pb::FundingSource as F;
    match d.outcome() {
        pb::FundingOutcome::Decline => assert_eq!(d.steps, [], "{d:#?}"),
        pb::FundingOutcome::Approve => {
            assert!(!d.steps.is_empty(), "{d:#?}");
            let paid: i64 = d
                .steps
                .iter()
                .filter(|s| s.source() != F::AutoCharge)
                .map(|s| s.amount_minor)
                .sum();
            assert_eq!(
                paid, amount_minor,
                "payment steps sum to the charge: {d:#?}"
            );
            for s in &d.steps {
                assert!(s.amount_minor > 0, "a step of {}: {d:#?}", s.amount_minor);
                assert_ne!(s.source(), F::Unspecified, "{d:#?}");
            }
            let top_ups: Vec<usize> = (0..d.steps.len())
                .filter(|&i| d.steps[i].source() == F::AutoCharge)
                .collect();
            assert!(top_ups.is_empty() || top_ups == [0], "top-up first: {d:#?}");
        }
        pb::FundingOutcome::Unspecified => panic!("no outcome: {d:#?}"),
    }
}

/// Asserts an APPROVE in yen with exactly these steps and reason codes, and
/// the funding arithmetic.
pub fn assert_approve(d: &pb::ChargeFundingDecision, want_steps: &[Step<'_>], want: &[&str]) {
    assert_eq!(d.outcome(), pb::FundingOutcome::Approve, "{d:#?}");
    assert_eq!(steps(d), want_steps, "{d:#?}");
    assert_eq!(codes(d), want, "{d:#?}");
    assert_eq!(d.currency, "JPY", "{d:#?}");
}

/// Asserts a DECLINE with exactly these reason codes and no steps.
pub fn assert_decline(d: &pb::ChargeFundingDecision, want: &[&str]) {
    assert_eq!(d.outcome(), pb::FundingOutcome::Decline, "{d:#?}");
    assert_eq!(d.steps, [], "{d:#?}");
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

    /// The current content of a file.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path().join(name)).expect("read bundle file")
    }

    /// Replaces the one occurrence of `old` in file `name` with `new`.
    pub fn edit(&self, name: &str, old: &str, new: &str) {
        let text = self.read(name);
        assert_eq!(
            text.matches(old).count(),
            1,
            "`{old}` must occur once in {name}"
        );
        self.write(name, &text.replacen(old, new, 1));
    }

    /// Drops the bundle tests named `names` from file `name` (rewritten as
    /// JSON, which is YAML too): the tests that pinned settings a change
    /// replaces, as whoever edits the settings would.
    pub fn drop_tests(&self, name: &str, names: &[&str]) {
        let mut doc: serde_json::Value =
            serde_saphyr::from_str(&self.read(name)).expect("a YAML bundle file");
        let tests = doc["tests"].as_array_mut().expect("a `tests` list");
        let before = tests.len();
        tests.retain(|t| !names.iter().any(|n| t["name"] == *n));
        assert_eq!(
            before - tests.len(),
            names.len(),
            "every test in {names:?} is in {name}"
        );
        self.write(name, &doc.to_string());
    }

    /// Rewrites `bundle.yaml` with `revision`.
    pub fn set_revision(&self, revision: &str) {
        self.write("bundle.yaml", &bundle_yaml(revision));
    }
}
