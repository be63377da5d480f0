//! TLS end to end, with certificates made by the test: plaintext and
//! untrusted clients refused, mutual TLS, the caller policy (exactly the
//! listed RPCs, PERMISSION_DENIED otherwise, health always), certificate
//! rotation through a Kubernetes-style secret without dropping open
//! connections, and the caller identity in the decision log.

use tempfile::TempDir;
use tollgate::{
    decision_log::{DecisionLog, Settings, Target},
    grpc::{
        TlsFiles, TlsSettings,
        callers::CallerPolicy,
        pb::{
            GetBundleStatusRequest, bundle_service_client::BundleServiceClient,
            decision_service_client::DecisionServiceClient,
        },
    },
};
use tonic::{Code, transport::Channel};

use crate::{
    pki::{Ca, Pki, SecretDir, TlsServer, check_health},
    support::{DEADLINE, eventually, funding_request, request},
};

pub const BILLING: &str = "spiffe://billing.example/platform";
const GATEWAY: &str = "gateway.payments.svc.cluster.local";
pub const OPS: &str = "ops.example";

pub const POLICY: &str = r#"
callers:
  - identity: "spiffe://billing.example/platform"
    rpcs: ["tollgate.v1.DecisionService/DecidePlanChange", "tollgate.v1.DecisionService/DecidePlanChanges"]
  - identity: "gateway.payments.svc.cluster.local"
    rpcs: ["tollgate.v1.DecisionService/DecidePaymentLink", "tollgate.v1.DecisionService/DecideChargeFunding"]
  - identity: "ops.example"
    rpcs: ["tollgate.v1.BundleService/*"]
"#;

pub async fn status(channel: Channel) -> Result<(), tonic::Status> {
    let mut bundles = BundleServiceClient::new(channel);
    bundles
        .get_bundle_status(GetBundleStatusRequest {})
        .await
        .map(drop)
}

pub async fn plan_change(channel: Channel) -> Result<(), tonic::Status> {
    let mut decisions = DecisionServiceClient::new(channel);
    decisions
        .decide_plan_change(request("free", "standard"))
        .await
        .map(drop)
}

async fn charge_funding(channel: Channel) -> Result<(), tonic::Status> {
    let mut decisions = DecisionServiceClient::new(channel);
    let req = funding_request("video-stream", 500, 1000, vec![]);
    decisions.decide_charge_funding(req).await.map(drop)
}

/// Asserts PERMISSION_DENIED naming `identity` and `rpc`.
pub fn assert_denied(result: Result<(), tonic::Status>, identity: &str, rpc: &str) {
    let status = result.expect_err("the call is refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let message = status.message();
    assert!(message.contains(&format!("`{identity}`")), "{message}");
    assert!(
        message.contains(&format!("`tollgate.v1.{rpc}`")),
        "{message}"
    );
}

#[tokio::test]
async fn plaintext_and_untrusting_clients_are_refused_when_tls_is_on() {
    let pki = Pki::new();
    let tls = TlsSettings::load(pki.files(false), None).expect("load TLS");
    let server = TlsServer::start(tls, DecisionLog::off(), &pki.ca.pem, None).await;

    // A client that connects and never says hello holds up only its own
    // handshake, not the next one's (the server gives it 10 s).
    let _silent = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("TCP connect");
    // The same server answers a client that trusts its CA.
    let trusted = tokio::time::timeout(DEADLINE, server.connect(&pki.ca.pem, None))
        .await
        .expect("a handshake behind a silent client is not held up")
        .expect("TLS connect");
    plan_change(trusted).await.expect("a decision over TLS");

    let plaintext = async {
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .expect("endpoint")
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        check_health(channel).await
    };
    assert!(plaintext.await.is_err(), "a plaintext client was answered");

    let stranger = Ca::new("unknown ca");
    let untrusting = server.connect(&stranger.pem, None).await;
    assert!(
        untrusting.is_err(),
        "a client trusting another CA connected"
    );
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_refuses_missing_and_unknown_client_certificates() {
    let pki = Pki::new();
    let tls = TlsSettings::load(pki.files(true), None).expect("load TLS");
    let anyone = pki.ca.client(&[], &["anyone.example"]);
    let server = TlsServer::start(tls, DecisionLog::off(), &pki.ca.pem, Some(&anyone)).await;

    // Without a policy a known client may call everything.
    let known = server
        .connect(&pki.ca.pem, Some(&anyone))
        .await
        .expect("connect");
    plan_change(known.clone()).await.expect("DecidePlanChange");
    status(known).await.expect("GetBundleStatus");

    let no_cert = server.check(&pki.ca.pem, None).await;
    assert!(
        no_cert.is_err(),
        "a client without a certificate was answered"
    );
    let forged = Ca::new("unknown ca").client(&[], &["anyone.example"]);
    let unknown = server.check(&pki.ca.pem, Some(&forged)).await;
    assert!(
        unknown.is_err(),
        "a certificate from an unknown CA was accepted"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_caller_policy_allows_each_caller_exactly_its_rpcs() {
    let pki = Pki::new();
    let policy = CallerPolicy::parse(POLICY, "callers.yaml").expect("policy");
    let tls = TlsSettings::load(pki.files(true), Some(policy)).expect("load TLS");
    let billing = pki.ca.client(&[BILLING], &["billing.example"]);
    let gateway = pki.ca.client(&[], &[GATEWAY]);
    let ops = pki.ca.client(&[], &[OPS]);
    let stranger = pki.ca.client(&["spiffe://other.example/x"], &[]);
    let server = TlsServer::start(tls, DecisionLog::off(), &pki.ca.pem, Some(&billing)).await;
    let connect = async |leaf| {
        server
            .connect(&pki.ca.pem, Some(leaf))
            .await
            .expect("mTLS connect")
    };
    let (billing, gateway, ops, stranger) = (
        connect(&billing).await,
        connect(&gateway).await,
        connect(&ops).await,
        connect(&stranger).await,
    );

    plan_change(billing.clone())
        .await
        .expect("billing: DecidePlanChange");
    let funding = "DecisionService/DecideChargeFunding";
    assert_denied(charge_funding(billing.clone()).await, BILLING, funding);
    let get_status = "BundleService/GetBundleStatus";
    assert_denied(status(billing.clone()).await, BILLING, get_status);

    charge_funding(gateway.clone())
        .await
        .expect("gateway: DecideChargeFunding");
    let decide = "DecisionService/DecidePlanChange";
    assert_denied(plan_change(gateway.clone()).await, GATEWAY, decide);

    status(ops.clone()).await.expect("ops: GetBundleStatus");
    assert_denied(plan_change(ops.clone()).await, OPS, decide);

    let other = "spiffe://other.example/x";
    assert_denied(plan_change(stranger.clone()).await, other, decide);
    assert_denied(status(stranger.clone()).await, other, get_status);

    for channel in [billing, gateway, ops, stranger] {
        check_health(channel)
            .await
            .expect("health is always allowed");
    }
    let metrics = crate::http::get(server.admin, "/metrics")
        .await
        .expect("scrape /metrics")
        .body;
    let denied = |rpc: &str| {
        let rpc = format!("tollgate.v1.{rpc}");
        crate::http::value(&metrics, "tollgate_calls_denied_total", &[("rpc", &rpc)])
    };
    assert_eq!(denied(decide), Some(3.0), "{metrics}");
    assert_eq!(denied(get_status), Some(2.0), "{metrics}");
    assert_eq!(denied(funding), Some(1.0), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn rotation_serves_new_connections_the_new_certificate_and_keeps_open_ones() {
    let (old_ca, new_ca) = (Ca::new("old ca"), Ca::new("new ca"));
    let clients = Ca::new("client ca");
    let client = clients.client(&[BILLING], &[]);
    let secret = SecretDir::new(&old_ca.server(), &clients.pem);
    let files = TlsFiles {
        cert: secret.path("tls.crt"),
        key: secret.path("tls.key"),
        client_ca: Some(secret.path("ca.crt")),
    };
    let tls = TlsSettings::load(files, None).expect("load TLS");
    let server = TlsServer::start(tls, DecisionLog::off(), &old_ca.pem, Some(&client)).await;
    let open = server
        .connect(&old_ca.pem, Some(&client))
        .await
        .expect("connect");
    plan_change(open.clone())
        .await
        .expect("a call before rotation");

    secret.publish(&new_ca.server(), &clients.pem);
    eventually("a new connection seeing the new certificate", async || {
        let channel = server.connect(&new_ca.pem, Some(&client)).await?;
        plan_change(channel).await.map_err(|s| format!("{s:?}"))
    })
    .await;

    // The open connection still works: were it dropped, the channel would
    // reconnect trusting only the old CA and fail.
    plan_change(open)
        .await
        .expect("the open connection survives rotation");
    let stale = server.check(&old_ca.pem, Some(&client)).await;
    assert!(stale.is_err(), "a new connection got the old certificate");
    server.stop().await;
}

#[tokio::test]
async fn the_decision_log_names_the_caller() {
    let pki = Pki::new();
    let tls = TlsSettings::load(pki.files(true), None).expect("load TLS");
    let client = pki.ca.client(&[BILLING], &["billing.example"]);
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("decisions.jsonl");
    let log = DecisionLog::start(Settings::new(Target::File(path.clone()))).expect("log");
    let server = TlsServer::start(tls, log, &pki.ca.pem, Some(&client)).await;
    let channel = server
        .connect(&pki.ca.pem, Some(&client))
        .await
        .expect("connect");
    plan_change(channel).await.expect("a decision");
    server.stop().await;

    let text = std::fs::read_to_string(&path).expect("read the decision log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(events.len(), 1, "{text}");
    assert_eq!(events[0]["caller"], BILLING, "{text}");
}
