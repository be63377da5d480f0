//! The harness: the real server on port 0 and its clients. Request builders
//! are in `requests`, assertions on what crosses the wire in `decisions`,
//! waiting for the server in `waits`, bundle directories in `bundles`.

mod bundles;
mod decisions;
mod requests;
mod waits;

use std::{net::SocketAddr, time::Duration};

pub use bundles::{BundleDir, bundle_yaml, copy_demo, demo_counts, demo_file, demo_line};
pub use decisions::*;
pub use requests::*;
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
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus,
    health_client::HealthClient,
};
pub use waits::*;

use crate::http;

/// The demo bundle's revision.
pub const DEMO_REVISION: &str = "2026-11-22.1";

/// The `as_of` of most requests.
pub const AS_OF: &str = "2026-03-10T09:00:00Z";

/// Upper bound on anything we wait for (connecting, a reload going live).
/// A bound against hanging, not a speed requirement.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// How often [`eventually`] polls.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// `app::serve_with` running on its own task, told to stop when dropped.
pub struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Serves `source` on `listener` with `options` until stopped.
    pub fn spawn(listener: TcpListener, source: BundleSource, options: ServeOptions) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let serve = tollgate::app::serve_with(listener, source, None, options, shutdown);
        Self {
            shutdown: Some(tx),
            task: tokio::spawn(serve),
        }
    }

    /// Resolves the shutdown future and waits (bounded) for `serve_with` to
    /// return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(DEADLINE, &mut self.task)
            .await
            .expect("serve_with returns after shutdown")
            .expect("server task did not panic")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A real Tollgate server on 127.0.0.1, stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    channel: Channel,
    running: Running,
    log: DecisionLog,
    admin: Option<SocketAddr>,
}

impl Server {
    /// Serves the embedded demo bundle.
    pub async fn embedded() -> Self {
        Self::start(BundleSource::Embedded, ServeOptions::default()).await
    }

    /// Serves the bundle at `path`, watching it for changes.
    pub async fn at(path: &std::path::Path) -> Self {
        let source = BundleSource::Path(path.to_path_buf());
        Self::start(source, ServeOptions::default()).await
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
        let log = options.decision_log.clone();
        let running = Running::spawn(listener, source, options);
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        let channel = eventually(&format!("connecting to {addr}"), async || {
            endpoint.connect().await.map_err(|e| e.to_string())
        })
        .await;
        let server = Self {
            addr,
            channel,
            running,
            log,
            admin,
        };
        // `serve_with` installs the bundle watcher before it serves, so once
        // a call is answered every later change on disk is seen.
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

    /// `GET path` from the admin port.
    pub async fn get(&self, path: &str) -> http::Answer {
        http::get(self.admin(), path)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `/metrics` as text, checking the status and content type.
    pub async fn scrape(&self) -> String {
        let answer = self.get("/metrics").await;
        let text = answer.content_type == "text/plain; version=0.0.4; charset=utf-8";
        assert!(answer.status == 200 && text, "{answer:?}");
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

    /// A `grpc.health.v1.Health` client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel())
    }

    /// `Health/Check` of `service` (`""`: the server as a whole).
    pub async fn health_of(&self, service: &str) -> Result<ServingStatus, tonic::Status> {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let response = self.health().check(request).await?;
        Ok(response.into_inner().status())
    }

    /// `Health/Watch` of the server as a whole.
    pub async fn watch_health(&self) -> tonic::Streaming<HealthCheckResponse> {
        let watch = self.health().watch(HealthCheckRequest::default()).await;
        answered("Health/Watch", watch)
    }

    /// Decides `req` by its unary RPC, failing the test on any error
    /// status.
    pub async fn decide<R: Unary>(&self, req: R) -> R::Decision {
        answered(R::RPC, req.send(self.decisions()).await)
    }

    /// Sends `req` by its unary RPC, expecting an error status.
    pub async fn decide_err<R: Unary>(&self, req: R) -> tonic::Status {
        refused(R::RPC, req.send(self.decisions()).await)
    }

    /// Opens a `DecidePlanChanges` stream that sends `requests`.
    pub async fn stream(
        &self,
        requests: Vec<pb::PlanChangeRequest>,
    ) -> tonic::Streaming<pb::PlanChangeResult> {
        let stream = tokio_stream::iter(requests);
        let reply = self.decisions().decide_plan_changes(stream).await;
        answered("DecidePlanChanges", reply)
    }

    /// Every result of a `DecidePlanChanges` stream that sends `requests`,
    /// until the server ends it.
    pub async fn decide_stream(
        &self,
        requests: Vec<pb::PlanChangeRequest>,
    ) -> Vec<pb::PlanChangeResult> {
        let mut results = self.stream(requests).await;
        let mut got = Vec::new();
        while let Some(result) = results.message().await.expect("no transport error") {
            got.push(result);
        }
        got
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

    /// The bundle status.
    pub async fn status(&self) -> pb::BundleStatus {
        let mut bundles = BundleServiceClient::new(self.channel());
        let reply = bundles
            .get_bundle_status(pb::GetBundleStatusRequest {})
            .await;
        answered("GetBundleStatus", reply)
    }

    /// Resolves the shutdown future and waits (bounded) for `serve_with` to
    /// return.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// A request of one of the unary `DecisionService` RPCs.
pub trait Unary: Send + 'static {
    /// The decision it is answered with.
    type Decision: std::fmt::Debug;
    /// The RPC's name.
    const RPC: &'static str;
    /// Sends it on `client`.
    fn send(
        self,
        client: DecisionServiceClient<Channel>,
    ) -> impl Future<Output = Result<tonic::Response<Self::Decision>, tonic::Status>> + Send;
}

macro_rules! unary {
    ($($request:ty => $decision:ty, $method:ident, $rpc:literal;)*) => {$(
        impl Unary for $request {
            type Decision = $decision;
            const RPC: &'static str = $rpc;
            async fn send(
                self,
                mut client: DecisionServiceClient<Channel>,
            ) -> Result<tonic::Response<$decision>, tonic::Status> {
                client.$method(self).await
            }
        }
    )*};
}

unary! {
    pb::PlanChangeRequest => pb::PlanChangeDecision, decide_plan_change, "DecidePlanChange";
    pb::PaymentLinkRequest => pb::PaymentLinkDecision, decide_payment_link, "DecidePaymentLink";
    pb::ChargeFundingRequest => pb::ChargeFundingDecision, decide_charge_funding, "DecideChargeFunding";
}

/// The reply to a call that must be answered; the test fails naming `rpc`
/// otherwise.
fn answered<T>(rpc: &str, reply: Result<tonic::Response<T>, tonic::Status>) -> T {
    match reply {
        Ok(r) => r.into_inner(),
        Err(s) => panic!("{rpc} failed: {s:?}"),
    }
}

/// The status of a call that must be refused.
fn refused<T: std::fmt::Debug>(
    rpc: &str,
    reply: Result<tonic::Response<T>, tonic::Status>,
) -> tonic::Status {
    match reply {
        Ok(r) => panic!("{rpc} succeeded: {:?}", r.into_inner()),
        Err(s) => s,
    }
}
