//! The span of one gRPC call: made by a tower layer around every service,
//! continued from the caller's W3C `traceparent`, given the call's status by
//! the layer and the decision's provenance by the handler.
//!
//! A call's fields: `rpc.system`, `rpc.service`, `rpc.method`, `otel.name`
//! (`service/method`), `otel.kind` (`server`); `decision_id`,
//! `decision_type`, `outcome` and `bundle_revision` when a decision was
//! made; `rpc.grpc.status_code` and `otel.status_code` when the call failed
//! with its status in the response headers (every unary failure and every
//! limit). A `DecidePlanChanges` call's span lasts until its stream's last
//! response (the stream is polled inside it, [`InCallSpan`]) and has one
//! child `decision` span per item, inside it, carrying that item's
//! decision fields and its `batch.index`.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Instrument as _, Span, field::Empty, instrument::Instrumented};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::RPC_TARGET;
use crate::decision_log::Decided;

/// The [`tower::Layer`] of [`RpcSpan`]: goes outermost, so the span covers
/// the limits and sees the status they answer with.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcSpanLayer;

impl<S> tower::Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan { inner }
    }
}

/// Runs each call inside its own span; see the module documentation.
#[derive(Debug, Clone)]
pub struct RpcSpan<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcSpan<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let span = call_span(request.uri().path(), request.headers());
        let inner = span.in_scope(|| self.inner.call(request));
        RpcFuture {
            inner: inner.instrument(span),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RpcSpan`].
    pub struct RpcFuture<F> {
        #[pin]
        inner: Instrumented<F>,
    }
}

impl<F, R, E> Future for RpcFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let output = ready!(this.inner.as_mut().poll(cx));
        if let Ok(response) = &output {
            record_status(this.inner.span(), response.headers());
        }
        Poll::Ready(output)
    }
}

/// The span of a call to `path` (`/package.Service/Method`), its parent the
/// caller's `traceparent` when the headers carry one.
fn call_span(path: &str, headers: &http::HeaderMap) -> Span {
    // Field values are only evaluated when the span is enabled, so the
    // path is split there: a call whose span no one consumes pays nothing
    // for it.
    let split = || {
        path.trim_start_matches('/')
            .rsplit_once('/')
            .unwrap_or(("", path))
    };
    let span = tracing::debug_span!(
        target: RPC_TARGET,
        "rpc",
        otel.name = path.trim_start_matches('/'),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = split().0,
        rpc.method = split().1,
        rpc.grpc.status_code = Empty,
        decision_id = Empty,
        decision_type = Empty,
        outcome = Empty,
        bundle_revision = Empty,
    );
    if !span.is_disabled() && headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        // Without span export (logs at debug only) there is no OpenTelemetry
        // layer to take the parent; that is not an error.
        let _ = span.set_parent(parent);
    }
    span
}

pin_project_lite::pin_project! {
    /// A response stream polled inside its call's span, so that the span
    /// (whose end is the last time it was left) lasts until the stream's
    /// last response and its end, and every item's span, created while
    /// polling, lies inside it.
    pub struct InCallSpan<S> {
        #[pin]
        inner: S,
        span: Span,
    }
}

impl<S> InCallSpan<S> {
    /// `inner`, polled inside `call`.
    pub fn new(inner: S, call: Span) -> Self {
        Self { inner, span: call }
    }
}

impl<S: tokio_stream::Stream> tokio_stream::Stream for InCallSpan<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _entered = this.span.enter();
        this.inner.poll_next(cx)
    }
}

/// The span of one item of a `DecidePlanChanges` stream, a child of the
/// call's span `call`.
pub fn decision_span(call: &Span, index: u64) -> Span {
    tracing::debug_span!(
        target: RPC_TARGET,
        parent: call,
        "decision",
        // OpenTelemetry integers are signed: a `u64` would arrive as text.
        batch.index = i64::try_from(index).unwrap_or(i64::MAX),
        decision_id = Empty,
        decision_type = Empty,
        outcome = Empty,
        bundle_revision = Empty,
    )
}

/// The current span when per-call spans are consumed (exported, or logged
/// at debug), so a handler builds what it records only then.
pub fn traced() -> Option<Span> {
    if !tracing::span_enabled!(target: RPC_TARGET, tracing::Level::DEBUG) {
        return None;
    }
    let span = Span::current();
    (!span.is_disabled()).then_some(span)
}

/// Records the decision's id, type, outcome and bundle revision on `span`.
pub fn record_decision(span: &Span, decided: &Decided) {
    // The decision types are named as in the metrics.
    let entry = &decided.entry;
    let meta = entry.meta();
    span.record("decision_id", tracing::field::display(meta.decision_id));
    span.record("decision_type", entry.kind().label());
    span.record("outcome", entry.outcome());
    span.record("bundle_revision", &*meta.bundle_revision);
}

/// A failed call's gRPC status, when it is in the response headers (a
/// trailers-only response). Following OpenTelemetry's conventions for
/// server spans, only server-side failures make the span an error; the
/// caller's mistakes (`INVALID_ARGUMENT`, ...) keep the status unset.
fn record_status(span: &Span, headers: &http::HeaderMap) {
    if span.is_disabled() {
        return;
    }
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    span.record("rpc.grpc.status_code", code);
    use tonic::Code;
    if matches!(
        Code::from_i32(code),
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
