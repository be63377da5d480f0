//! Enforcing the caller policy as one tower layer in front of every
//! service: a call the caller's identity may not make is answered
//! `PERMISSION_DENIED` before it reaches a handler or takes a concurrency
//! permit, logged at warn and counted. Health and reflection are always
//! allowed (probes, debugging).

use std::{
    collections::BTreeSet,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tonic::{Status, body::Body};

use super::{CallerPolicy, policy::known_rpcs};
use crate::{grpc::tls::Peer, telemetry::metrics::Metrics};

/// Path prefixes that are never refused.
const ALWAYS_ALLOWED: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The [`tower::Layer`] of [`Authorize`].
#[derive(Debug, Clone)]
pub struct AuthorizeLayer {
    policy: Arc<CallerPolicy>,
    metrics: Metrics,
    // Read once: the descriptor set is not decoded on a refusal.
    known: Arc<BTreeSet<String>>,
}

impl AuthorizeLayer {
    /// Enforces `policy`, counting refusals in `metrics`
    /// (`tollgate_calls_denied_total`).
    pub fn new(policy: Arc<CallerPolicy>, metrics: Metrics) -> Self {
        Self {
            policy,
            metrics,
            known: Arc::new(known_rpcs().collect()),
        }
    }

    /// Why the call of `path` by the connection's `peer` is refused, if it is.
    fn refusal(&self, path: &str, peer: Option<&Peer>) -> Option<Status> {
        if ALWAYS_ALLOWED.iter().any(|p| path.starts_with(p)) {
            return None;
        }
        let rpc = path.strip_prefix('/').unwrap_or(path);
        let caller = peer.and_then(|p| p.caller.as_deref());
        if caller.is_some_and(|c| self.policy.allows(c.names(), rpc)) {
            return None;
        }
        let identity = caller.and_then(|c| c.identity()).unwrap_or("");
        tracing::warn!(caller = identity, rpc, "call refused by the caller policy");
        // Names the server does not serve are counted together, so a
        // caller probing made-up paths adds one series, not one per path.
        if self.known.contains(rpc) {
            self.metrics.caller_denied(rpc);
        } else {
            self.metrics.caller_denied("unknown");
        }
        Some(Status::permission_denied(if identity.is_empty() {
            format!("a caller whose certificate names no SAN URI or DNS name may not call `{rpc}`")
        } else {
            format!("caller `{identity}` may not call `{rpc}`")
        }))
    }
}

impl<S> tower::Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            layer: self.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Authorize<S> {
    inner: S,
    layer: AuthorizeLayer,
}

impl<S, B> tower::Service<http::Request<B>> for Authorize<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Authorized<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let peer = request.extensions().get::<Peer>();
        match self.layer.refusal(request.uri().path(), peer) {
            None => Authorized::Allowed {
                call: self.inner.call(request),
            },
            Some(status) => Authorized::Refused {
                response: Some(status.into_http()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner call, or the refusal.
    #[project = AuthorizedProj]
    pub enum Authorized<F> {
        /// The call goes on.
        Allowed { #[pin] call: F },
        /// `PERMISSION_DENIED`, answered at once.
        Refused { response: Option<http::Response<Body>> },
    }
}

impl<F, E> Future for Authorized<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthorizedProj::Allowed { call } => call.poll(cx),
            AuthorizedProj::Refused { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                // Polled after completion: a caller bug, never reached by hyper.
                None => Poll::Pending,
            },
        }
    }
}
