//! The server entry point: takes an already-bound listener and a shutdown
//! future, so tests bind port 0 and never sleep.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Server;
use tonic_health::ServingStatus;

use super::{
    callers::AuthorizeLayer,
    connections::{self, ConnectionLimits},
    convert::Limits,
    limits::LimitLayer,
    pb::{
        self, bundle_service_server::BundleServiceServer,
        decision_service_server::DecisionServiceServer,
    },
    service::{Bundles, Decisions},
    tls::TlsSettings,
};
use crate::{
    decision_log::DecisionLog,
    live::{LiveBundle, Readiness},
    telemetry::{metrics::Metrics, trace::RpcSpanLayer},
};

/// Transport settings and request limits, all in one place.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Interval of HTTP/2 keepalive pings.
    pub keepalive: Duration,
    /// How long a keepalive ping may go unanswered before the connection
    /// is closed.
    pub keepalive_timeout: Duration,
    /// The longest a call may take; a client's shorter `grpc-timeout` wins.
    /// Past it the call is answered `DEADLINE_EXCEEDED`.
    pub request_timeout: Duration,
    /// Calls in flight across all connections (an open stream counts until
    /// it ends); one more is answered `RESOURCE_EXHAUSTED` at once.
    pub max_concurrent_requests: usize,
    /// Streams one connection may have open at once, advertised in its
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`: one connection's share of
    /// `max_concurrent_requests`. A stream over it is refused
    /// (`REFUSED_STREAM`, which clients retry).
    pub max_concurrent_streams: u32,
    /// How long a call waits for its client's next request message (a
    /// stream's next request, a unary call's body); past it the call ends
    /// with `DEADLINE_EXCEEDED` and its slot is free.
    pub message_timeout: Duration,
    /// Open connections, the handshake deadline and the idle timeout.
    pub connections: ConnectionLimits,
    /// The largest decoded request message; larger is `RESOURCE_EXHAUSTED`.
    pub max_message_bytes: usize,
    /// Entries of the requests' maps and lists (`INVALID_ARGUMENT` past them).
    pub limits: Limits,
    /// How long in-flight calls may run on after the shutdown signal.
    pub shutdown_grace: Duration,
    /// Where decisions are logged (off by default).
    pub decision_log: DecisionLog,
    /// Where decisions, calls in flight and refused calls are counted.
    pub metrics: Metrics,
    /// Health is NOT_SERVING once the source last confirmed the active
    /// bundle longer ago than this (`--max-bundle-age`); no limit when `None`.
    pub max_bundle_age: Option<Duration>,
    /// TLS, mutual TLS and the caller policy; plaintext when `None`.
    pub tls: Option<TlsSettings>,
    /// A candidate bundle every sampled decision is also decided with,
    /// off the response path (`--shadow-bundle`); none when `None`.
    pub shadow: Option<super::ShadowOptions>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            keepalive: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(2),
            max_concurrent_requests: 1024,
            max_concurrent_streams: 128,
            message_timeout: Duration::from_secs(5),
            connections: ConnectionLimits::default(),
            max_message_bytes: 64 * 1024,
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(10),
            decision_log: DecisionLog::off(),
            metrics: Metrics::new(),
            max_bundle_age: None,
            tls: None,
            shadow: None,
        }
    }
}

/// The services health reports on, besides the server as a whole (`""`).
const HEALTH_SERVICES: [&str; 3] = [
    "",
    "tollgate.v1.DecisionService",
    "tollgate.v1.BundleService",
];

/// Serves the `live` bundle on `listener` until `shutdown` resolves, then
/// drains. Health follows [`Readiness`]: NOT_SERVING until a bundle is
/// active and while it is older than the maximum bundle age.
pub async fn serve(
    listener: TcpListener,
    live: Arc<dyn LiveBundle>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in HEALTH_SERVICES {
        reporter
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
    let mut changed = live.subscribe();
    let health_task = {
        let (reporter, live) = (reporter.clone(), live.clone());
        let max_age = options.max_bundle_age;
        tokio::spawn(async move {
            loop {
                changed.borrow_and_update();
                let readiness = Readiness::of(live.as_ref(), max_age);
                let status = if readiness.is_ready() {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                for name in HEALTH_SERVICES {
                    reporter.set_service_status(name, status).await;
                }
                // Look again when a new bundle arrives or, with a maximum
                // age, just after the active one turns stale.
                let stale = async {
                    match readiness {
                        Readiness::Ready {
                            stale_in: Some(left),
                        } => {
                            tokio::time::sleep(left.saturating_add(Duration::from_millis(1))).await
                        }
                        _ => std::future::pending().await,
                    }
                };
                tokio::select! {
                    new = changed.changed() => if new.is_err() { return },
                    () = stale => {}
                }
            }
        })
    };

    // Served through both reflection versions: Tollgate's services, health,
    // and the `google.rpc` error details it sends (BadRequest,
    // PreconditionFailure), so grpcurl and buf curl can decode them.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    // Fires when the shutdown signal has, starting the grace period.
    let (signalled, mut draining) = tokio::sync::watch::channel(false);
    let shutdown = {
        let reporter = reporter.clone();
        async move {
            shutdown.await;
            let _ = signalled.send(true);
            health_task.abort();
            for name in HEALTH_SERVICES {
                reporter
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
        }
    };

    tracing::info!(addr = %listener.local_addr()?, tls = options.tls.is_some(), "serving gRPC");
    let shadow = options.shadow.map(|shadow| {
        super::shadow::Shadow::start(
            shadow,
            options.metrics.clone(),
            options.decision_log.clone(),
        )
    });
    let decisions = DecisionServiceServer::new(Decisions {
        live: live.clone(),
        log: options.decision_log,
        limits: options.limits,
        metrics: options.metrics.clone(),
        shadow: shadow.clone(),
    })
    .max_decoding_message_size(options.max_message_bytes);
    let bundles = BundleServiceServer::new(Bundles { live, shadow })
        .max_decoding_message_size(options.max_message_bytes);
    // Outermost, so a refused caller never takes a concurrency permit.
    let authorize = options.tls.as_ref().and_then(|tls| {
        let policy = tls.policy()?.clone();
        Some(AuthorizeLayer::new(policy, options.metrics.clone()))
    });
    let router = Server::builder()
        .http2_keepalive_interval(Some(options.keepalive))
        .http2_keepalive_timeout(Some(options.keepalive_timeout))
        .max_concurrent_streams(options.max_concurrent_streams)
        // A span per call, outermost so it covers the limits; created only
        // when exported or logged at debug (see `telemetry::trace`).
        .layer(RpcSpanLayer)
        // Before the limits, so a refused caller never takes a permit.
        .layer(tower::util::option_layer(authorize))
        .layer(
            LimitLayer::new(options.max_concurrent_requests, options.request_timeout)
                .with_message_timeout(options.message_timeout)
                .with_metrics(options.metrics.clone()),
        )
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(decisions)
        .add_service(bundles);
    // Certificates reload while the server runs; the watch stops with it.
    let _reloading = options.tls.as_ref().map(TlsSettings::watch);
    let (limits, metrics) = (options.connections, options.metrics);
    let served: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
        match &options.tls {
            None => Box::pin(router.serve_with_incoming_shutdown(
                connections::incoming(listener, limits, metrics, |tcp: TcpStream| {
                    std::future::ready(Some(tcp))
                }),
                shutdown,
            )),
            Some(tls) => Box::pin(router.serve_with_incoming_shutdown(
                connections::incoming(listener, limits, metrics, tls.handshake()),
                shutdown,
            )),
        };
    // After the signal the listener is closed and in-flight calls drain;
    // whatever is still running when the grace period ends is dropped.
    let grace = options.shutdown_grace;
    let deadline = async move {
        if draining.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = served => served?,
        () = deadline => {
            tracing::warn!(grace_ms = grace.as_millis(), "calls still in flight after the shutdown grace; stopping anyway");
        }
    }
    Ok(())
}
