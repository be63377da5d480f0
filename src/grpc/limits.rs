//! The request limits that sit in front of every service, as one tower
//! layer: a global concurrency limit that sheds load instead of queueing
//! (`RESOURCE_EXHAUSTED`), and a deadline, the shorter of the server's
//! request timeout and the client's `grpc-timeout` (`DEADLINE_EXCEEDED`).
//!
//! tonic's own `Server::timeout` answers `CANCELLED` and its load shedding
//! counts per connection, and a response future resolves as soon as a
//! stream's headers are sent; so this layer holds its permit in the
//! response body, which counts an open stream as in flight until it ends.
//! Health checks are exempt from the concurrency limit, not the deadline.
//! The layer also counts calls in flight and the calls it refuses, by why.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Frame, SizeHint};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tonic::{Code, Status, body::Body};

use super::{
    connections::{Call, Peer},
    request_body::{Checked, SERVED, Streaming},
};
use crate::telemetry::metrics::{InFlight, Metrics, Rejection};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The path prefix of `grpc.health.v1.Health`, which is never shed.
const HEALTH: &str = "/grpc.health.v1.Health/";

/// The [`tower::Layer`] of [`Limit`].
#[derive(Debug, Clone)]
pub struct LimitLayer {
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    timeout: Duration,
    message_timeout: Option<Duration>,
    streaming: Streaming,
    metrics: Metrics,
}

impl LimitLayer {
    /// At most `max_concurrent` calls in flight across all connections, each
    /// answered within `timeout` (or the client's shorter deadline).
    pub fn new(max_concurrent: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            timeout,
            message_timeout: None,
            streaming: Streaming::of(&SERVED),
            metrics: Metrics::new(),
        }
    }

    /// Ends a call whose client sends no request message (a stream's next
    /// request, a unary call's body) for `timeout`, with
    /// `DEADLINE_EXCEEDED`, so its permit is free again.
    #[must_use]
    pub fn with_message_timeout(self, timeout: Duration) -> Self {
        Self {
            message_timeout: Some(timeout),
            ..self
        }
    }

    /// Counts calls in flight and refused calls into `metrics`.
    #[must_use]
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        Self { metrics, ..self }
    }
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = Limit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limit {
            inner,
            limits: self.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Limit<S> {
    inner: S,
    limits: LimitLayer,
}

impl<S> tower::Service<http::Request<Body>> for Limit<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if let Some(refusal) = not_grpc(request.headers()) {
            return Box::pin(std::future::ready(Ok(refusal)));
        }
        // The service that was polled ready handles this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // Health checks are never shed: an overloaded server is still alive,
        // and a failed liveness probe would restart it at the worst time.
        let permit = if request.uri().path().starts_with(HEALTH) {
            None
        } else {
            match self.limits.permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.limits.metrics.rejected(Rejection::Concurrency);
                    let status = Status::resource_exhausted(format!(
                        "too many requests in flight (at most {})",
                        self.limits.max_concurrent
                    ));
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            }
        };
        // The deadline starts now, before tonic's own `grpc-timeout` timer
        // (which answers CANCELLED) can start, so ours always fires first.
        let timeout = match client_timeout(request.headers()) {
            Some(client) => client.min(self.limits.timeout),
            None => self.limits.timeout,
        };
        let deadline = Instant::now() + timeout;
        let in_flight = self.limits.metrics.in_flight();
        // The connection is busy while the call runs (its idle timeout).
        let call = request
            .extensions()
            .get::<Peer>()
            .map(|peer| peer.activity.call());
        let (parts, body) = request.into_parts();
        let body = Checked::new(
            body,
            parts.uri.path(),
            &self.limits.streaming,
            self.limits.message_timeout,
        );
        let request = http::Request::from_parts(parts, Body::new(body));
        Box::pin(async move {
            match tokio::time::timeout_at(deadline, inner.call(request)).await {
                Ok(Ok(mut response)) => {
                    // A unary call's decoding error is a trailers-only
                    // response: its status is in the headers.
                    count_status(response.headers_mut(), &in_flight);
                    Ok(response.map(|body| {
                        Body::new(Permitted {
                            body,
                            _permit: permit,
                            in_flight,
                            _call: call,
                        })
                    }))
                }
                Ok(Err(e)) => Err(e.into()),
                Err(_) => {
                    in_flight.metrics().rejected(Rejection::Deadline);
                    let message = format!("no answer within {} ms", timeout.as_millis());
                    Ok(Status::deadline_exceeded(message).into_http())
                }
            }
        })
    }
}

/// A response body that holds its call's permit (and its place in the
/// in-flight count) until it is dropped, and reports tonic's "decoded
/// message too large" as `RESOURCE_EXHAUSTED` (tonic says `OUT_OF_RANGE`;
/// gRPC's convention is the former).
struct Permitted {
    body: Body,
    _permit: Option<OwnedSemaphorePermit>,
    in_flight: InFlight,
    _call: Option<Call>,
}

impl http_body::Body for Permitted {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        Pin::new(&mut this.body).poll_frame(cx).map(|frame| {
            frame.map(|f| {
                f.map(|mut frame| {
                    if let Some(trailers) = frame.trailers_mut() {
                        count_status(trailers, &this.in_flight);
                    }
                    frame
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The answer to a request that is not gRPC: HTTP 415, as the gRPC
/// protocol asks, with a `grpc-status` saying why for gRPC clients.
fn not_grpc(headers: &HeaderMap) -> Option<http::Response<Body>> {
    let content_type = headers.get(http::header::CONTENT_TYPE);
    if content_type.is_some_and(|c| c.as_bytes().starts_with(b"application/grpc")) {
        return None;
    }
    let shown = content_type.map_or_else(
        || "no content-type".to_owned(),
        |c| format!("content-type `{}`", String::from_utf8_lossy(c.as_bytes())),
    );
    let status = Status::invalid_argument(format!(
        "{shown} is not gRPC: send application/grpc (or application/grpc+proto)"
    ));
    let mut response = status.into_http();
    *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    Some(response)
}

/// `grpc-status` and `grpc-message`, parsed once: every response's
/// headers or trailers are read here, and a name given as `&str` would be
/// parsed and checked on every look-up.
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Counts what a response's status says, reading it once: INTERNAL (our
/// own bug, counted apart from the caller's errors), and an oversized
/// message, rewritten to `RESOURCE_EXHAUSTED`.
fn count_status(headers: &mut HeaderMap, in_flight: &InFlight) {
    // One look-up for the usual answer (OK, or no status in a unary
    // call's headers); the message is read only for OUT_OF_RANGE.
    let (internal, out_of_range) = match headers.get(&GRPC_STATUS) {
        Some(status) => (
            is_internal(status),
            status.as_bytes() == OUT_OF_RANGE.as_bytes(),
        ),
        None => return,
    };
    if out_of_range && too_large_is_exhausted(headers) {
        in_flight.metrics().rejected(Rejection::MessageSize);
    } else if internal {
        in_flight.metrics().internal_error();
    }
}

/// Whether a status says INTERNAL: our own bug, counted apart from the
/// caller's errors.
fn is_internal(status: &HeaderValue) -> bool {
    status.as_bytes() == b"13"
}

/// Rewrites the status of an oversized message to `RESOURCE_EXHAUSTED`;
/// says whether it did.
pub fn too_large_is_exhausted(headers: &mut HeaderMap) -> bool {
    // Every response passes here: the status, one small header, is read
    // first, and the message only for OUT_OF_RANGE.
    let out_of_range = headers
        .get(&GRPC_STATUS)
        .is_some_and(|s| s.as_bytes() == OUT_OF_RANGE.as_bytes());
    if !out_of_range {
        return false;
    }
    let too_large = headers
        .get(&GRPC_MESSAGE)
        // Percent-encoded on the wire, as gRPC asks.
        .is_some_and(|m| {
            contains(m.as_bytes(), b"message length too large")
                || contains(m.as_bytes(), b"message%20length%20too%20large")
        });
    if too_large {
        headers.insert(
            GRPC_STATUS.clone(),
            HeaderValue::from(Code::ResourceExhausted as i32),
        );
    }
    too_large
}

/// `OUT_OF_RANGE`'s code as it is written in `grpc-status`.
const OUT_OF_RANGE: &str = "11";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The client's `grpc-timeout`: up to 8 digits and a unit.
fn client_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(&GRPC_TIMEOUT)?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "grpc-timeout",
            HeaderValue::from_str(value).expect("header"),
        );
        client_timeout(&headers)
    }

    #[test]
    fn only_internal_is_counted_as_ours() {
        let status = HeaderValue::from_static;
        assert!(is_internal(&status("13")));
        assert!(!is_internal(&status("3")));
        assert!(!is_internal(&status("130")));
    }

    #[test]
    fn out_of_range_is_written_as_its_code() {
        assert_eq!(OUT_OF_RANGE, (Code::OutOfRange as i32).to_string());
    }

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(timeout("150m"), Some(Duration::from_millis(150)));
        assert_eq!(timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(timeout("5x"), None);
        assert_eq!(timeout("123456789S"), None);
        assert_eq!(timeout("S"), None);
    }

    #[test]
    fn only_the_too_large_out_of_range_is_rewritten() {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", HeaderValue::from_static("11"));
        h.insert(
            "grpc-message",
            HeaderValue::from_static("Error, decoded message length too large: found 9 bytes"),
        );
        assert!(too_large_is_exhausted(&mut h));
        assert_eq!(h.get("grpc-status").map(|v| v.as_bytes()), Some(&b"8"[..]));
        let mut other = HeaderMap::new();
        other.insert("grpc-status", HeaderValue::from_static("11"));
        other.insert(
            "grpc-message",
            HeaderValue::from_static("as_of out of range"),
        );
        let mut encoded = HeaderMap::new();
        encoded.insert("grpc-status", HeaderValue::from_static("11"));
        encoded.insert(
            "grpc-message",
            HeaderValue::from_static("Error,%20decoded%20message%20length%20too%20large"),
        );
        assert!(too_large_is_exhausted(&mut encoded));
        assert_eq!(
            encoded.get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"8"[..])
        );
        assert!(!too_large_is_exhausted(&mut other));
        assert_eq!(
            other.get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"11"[..])
        );
    }
}
