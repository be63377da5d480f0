//! What a request body must be before a service decodes it: gRPC messages,
//! uncompressed, exactly one for a call whose client sends one, none cut
//! short, each coming within the message timeout. Everything else is the
//! caller's error with a status that says what to fix, not tonic's
//! `INTERNAL` (`Missing request message.`, `Unexpected EOF decoding
//! stream.`, the compressed-flag protocol error), which stays for our own
//! bugs; and a second message on a unary call is refused instead of being
//! silently dropped.

use std::{
    collections::BTreeSet,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Buf as _;
use http_body::{Frame, SizeHint};
use prost_reflect::DescriptorPool;
use tokio::time::Sleep;
use tonic::{Status, body::Body};

/// The descriptor sets of every service the server serves, to tell which
/// methods take a stream of requests.
pub(super) const SERVED: [&[u8]; 4] = [
    super::pb::FILE_DESCRIPTOR_SET,
    tonic_health::pb::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
];

/// The paths (`/package.Service/Method`) whose client sends a stream of
/// messages; every other served method takes exactly one. A handful (three
/// today), looked up on every call: a scan beats hashing the path.
#[derive(Debug, Clone, Default)]
pub struct Streaming(Arc<[String]>);

impl Streaming {
    /// The client-streaming methods of the services in `sets` (encoded
    /// `FileDescriptorSet`s); a set that does not decode is skipped.
    pub(super) fn of(sets: &[&[u8]]) -> Self {
        let mut paths = BTreeSet::new();
        for set in sets {
            let Ok(pool) = DescriptorPool::decode(*set) else {
                continue;
            };
            for service in pool.services() {
                for method in service.methods().filter(|m| m.is_client_streaming()) {
                    paths.insert(format!("/{}/{}", service.full_name(), method.name()));
                }
            }
        }
        Self(paths.into_iter().collect())
    }

    fn takes_one(&self, path: &str) -> bool {
        !self.0.iter().any(|p| p == path)
    }
}

/// The length of a gRPC message's prefix: the compressed-flag byte and a
/// 4-byte length.
const PREFIX: usize = 5;

/// A request body checked frame by frame; see the module documentation.
pub(super) struct Checked {
    body: Body,
    /// Exactly one message (a unary or server-streaming call).
    one: bool,
    messages: usize,
    /// Prefix bytes of the message being read, and how many are in.
    prefix: [u8; PREFIX],
    prefix_len: usize,
    /// Payload bytes of the current message still to come.
    payload_left: usize,
    timeout: Option<Duration>,
    waiting: Option<Pin<Box<Sleep>>>,
    failed: bool,
}

impl Checked {
    /// Checks `body` of a call to `path`; with `timeout`, each message must
    /// arrive within it of the service asking for it.
    pub(super) fn new(
        body: Body,
        path: &str,
        streaming: &Streaming,
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            body,
            one: streaming.takes_one(path),
            messages: 0,
            prefix: [0; PREFIX],
            prefix_len: 0,
            payload_left: 0,
            timeout,
            waiting: None,
            failed: false,
        }
    }

    /// Follows the message framing through `data`.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                data.advance(n);
                continue;
            }
            let n = (PREFIX - self.prefix_len).min(data.len());
            if let (Some(to), Some(from)) = (
                self.prefix.get_mut(self.prefix_len..self.prefix_len + n),
                data.get(..n),
            ) {
                to.copy_from_slice(from);
            }
            self.prefix_len += n;
            data.advance(n);
            if self.prefix_len == PREFIX {
                self.prefix_len = 0;
                self.message_starts()?;
            }
        }
        Ok(())
    }

    /// A message prefix is complete: check it.
    fn message_starts(&mut self) -> Result<(), Status> {
        let [flag, a, b, c, d] = self.prefix;
        self.messages += 1;
        if self.one && self.messages > 1 {
            return Err(Status::invalid_argument(
                "this method takes exactly one request message; a second one arrived",
            ));
        }
        match flag {
            0 => {}
            1 => {
                return Err(Status::unimplemented(
                    "the request message is compressed; Tollgate accepts no compression: \
                     send it with the compressed-flag 0 and no grpc-encoding",
                ));
            }
            other => {
                return Err(Status::invalid_argument(format!(
                    "the request message's compressed-flag is {other}; gRPC allows 0 or 1"
                )));
            }
        }
        self.payload_left = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
        Ok(())
    }

    /// The body ended: a message cut short, or none where one was due.
    fn ended(&self) -> Result<(), Status> {
        if self.prefix_len > 0 || self.payload_left > 0 {
            return Err(Status::invalid_argument(
                "the request ends inside a message: its length prefix promised more bytes",
            ));
        }
        if self.one && self.messages == 0 {
            return Err(Status::invalid_argument(
                "the call carries no request message; this method takes exactly one",
            ));
        }
        Ok(())
    }

    fn fail(&mut self, status: Status) -> Poll<Option<Result<Frame<bytes::Bytes>, Status>>> {
        self.failed = true;
        Poll::Ready(Some(Err(status)))
    }
}

impl http_body::Body for Checked {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting = None;
                let checked = match frame.data_ref() {
                    Some(data) => this.scan(data),
                    // Trailers end the body.
                    None => this.ended(),
                };
                match checked {
                    Ok(()) => Poll::Ready(Some(Ok(frame))),
                    Err(status) => this.fail(status),
                }
            }
            Poll::Ready(None) => match this.ended() {
                Ok(()) => Poll::Ready(None),
                Err(status) => this.fail(status),
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Pending => {
                let Some(timeout) = this.timeout else {
                    return Poll::Pending;
                };
                let timer = this
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => this.fail(Status::deadline_exceeded(format!(
                        "no request message within {} ms",
                        timeout.as_millis()
                    ))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // A body that ends wrong is not at its end until it said why.
        self.failed || (self.body.is_end_stream() && self.ended().is_ok())
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_streams_of_requests_are_streaming() {
        let streaming = Streaming::of(&SERVED);
        assert!(!streaming.takes_one("/tollgate.v1.DecisionService/DecidePlanChanges"));
        assert!(!streaming.takes_one("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assert!(
            !streaming.takes_one("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        );
        assert!(streaming.takes_one("/tollgate.v1.DecisionService/DecidePlanChange"));
        assert!(streaming.takes_one("/tollgate.v1.BundleService/GetBundleStatus"));
        // Server streaming: the client still sends exactly one.
        assert!(streaming.takes_one("/grpc.health.v1.Health/Watch"));
    }
}
