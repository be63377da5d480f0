//! The connections of the gRPC port, plaintext or TLS, and the limits that
//! keep one client from taking what the others need:
//!
//! - at most `max_connections` open at once; one more is closed as soon as
//!   it is accepted, and counted;
//! - a handshake deadline: the TLS handshake (when there is one) and the
//!   HTTP/2 client preface with its first frame must arrive within
//!   `handshake_timeout` of the accept, or the connection is closed;
//! - an idle timeout: a connection with no call in flight and none started
//!   for `idle_timeout` is closed (HTTP/2 keepalive pings do not count:
//!   they only prove the peer is there, not that it needs the slot).
//!
//! Each connection's [`Peer`] is its requests' connect info: the client's
//! address, its certificate's names under mutual TLS, and the activity the
//! limits layer records so the idle timeout knows about calls.
//!
//! Responses are coalesced: see [`Guarded`]'s `AsyncWrite`.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc},
    time::{Instant, Sleep},
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::tls::Caller;
use crate::telemetry::metrics::{Closed, Metrics, OpenConnection};

/// How many connections may be open, and how long one may stay silent.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; one more is closed at once.
    pub max_connections: usize,
    /// From the accept to the HTTP/2 preface and first frame (the TLS
    /// handshake included).
    pub handshake_timeout: Duration,
    /// With no call in flight, how long a connection stays open after its
    /// last call (or its handshake).
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Who is on the other end of a connection; every request on it carries
/// this as its connect info (a request extension).
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub remote_addr: Option<SocketAddr>,
    /// The client certificate's names; `None` without TLS, or when no
    /// certificate was asked for (TLS without `--client-ca`).
    pub caller: Option<Arc<Caller>>,
    /// The connection's calls, for its idle timeout.
    pub activity: Arc<Activity>,
}

/// The calls of one connection: how many are in flight and when the last
/// one started or ended.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `opened` to the last call's start or end.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last: AtomicU64::new(0),
        }
    }

    /// Counts a call as in flight on this connection until the guard drops.
    pub fn call(self: &Arc<Self>) -> Call {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Call(self.clone())
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the connection turns idle, or `None` if it is already.
    fn idle_at(&self, idle: Duration) -> Option<Instant> {
        let now = Instant::now();
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Some(now + idle);
        }
        let last = self.opened + Duration::from_millis(self.last.load(Ordering::Relaxed));
        let at = last + idle;
        (at > now).then_some(at)
    }
}

/// A call in flight on a connection; see [`Activity::call`].
#[derive(Debug)]
pub struct Call(Arc<Activity>);

impl Drop for Call {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection after its transport handshake (none for plaintext).
pub(super) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The client certificate's names, when there are any.
    fn caller(&self) -> Option<Arc<Caller>>;
}

impl Transport for TcpStream {
    fn caller(&self) -> Option<Arc<Caller>> {
        None
    }
}

/// Handshakes (TLS) in progress at once; past it the loop stops accepting
/// (the kernel's backlog queues) until one finishes.
const MAX_HANDSHAKES: usize = 1024;

/// Finished connections not yet taken by the server.
const READY_QUEUE: usize = 64;

/// After an accept error that is not about one connection (out of file
/// descriptors, say): a pause, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connections of `listener` within `limits`, each after `handshake`
/// (the identity for plaintext, TLS otherwise), which must finish before
/// the handshake deadline. The listener closes when the stream is dropped
/// (the server stopped accepting).
pub(super) fn incoming<T, H, F>(
    listener: TcpListener,
    limits: ConnectionLimits,
    metrics: Metrics,
    handshake: H,
) -> ReceiverStream<Result<Guarded<T>, Infallible>>
where
    T: Transport,
    H: Fn(TcpStream) -> F + Send + 'static,
    F: Future<Output = Option<T>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept_loop(listener, limits, metrics, handshake, tx));
    ReceiverStream::new(rx)
}

async fn accept_loop<T, H, F>(
    listener: TcpListener,
    limits: ConnectionLimits,
    metrics: Metrics,
    handshake: H,
    ready: mpsc::Sender<Result<Guarded<T>, Infallible>>,
) where
    T: Transport,
    H: Fn(TcpStream) -> F,
    F: Future<Output = Option<T>> + Send + 'static,
{
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            () = ready.closed() => return,
            permit = handshakes.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote_addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Over the limit: closed at once, before any handshake work.
        let Ok(slot) = open.clone().try_acquire_owned() else {
            metrics.connection_refused();
            tracing::debug!(peer = %remote_addr, max = limits.max_connections, "connection refused: too many open");
            drop(tcp);
            continue;
        };
        // Nagle's algorithm would hold each small response back until the
        // client's delayed ACK (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let deadline = Instant::now() + limits.handshake_timeout;
        let open = metrics.connection_opened();
        let connecting = handshake(tcp);
        let (ready, metrics) = (ready.clone(), metrics.clone());
        tokio::spawn(async move {
            let _handshaking = permit;
            let Ok(finished) = tokio::time::timeout_at(deadline, connecting).await else {
                metrics.connection_closed(Closed::Handshake);
                tracing::debug!(peer = %remote_addr, "handshake timed out");
                return;
            };
            let Some(io) = finished else { return };
            let connection = Guarded {
                peer: Peer {
                    remote_addr: Some(remote_addr),
                    caller: io.caller(),
                    activity: Arc::new(Activity::new()),
                },
                io,
                timer: Box::pin(tokio::time::sleep_until(deadline)),
                preface_left: PREFACE,
                limits,
                metrics,
                _slot: slot,
                _open: open,
                yielded: false,
            };
            // The server may have stopped meanwhile; then it is dropped.
            let _ = ready.send(Ok(connection)).await;
        });
    }
}

/// Errors about one connection only (it was reset before we took it).
fn is_per_connection(e: &io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock | K::TimedOut
    )
}

/// The HTTP/2 client preface (24 bytes) and the header of the frame that
/// must follow it (9 bytes, the client's SETTINGS): what the handshake
/// deadline waits for.
const PREFACE: usize = 24 + 9;

/// A served connection: its transport, its slot under the connection
/// limit, and the deadline it must meet next (the handshake's, then the
/// idle timeout's).
pub struct Guarded<T> {
    io: T,
    peer: Peer,
    timer: Pin<Box<Sleep>>,
    /// Bytes of the preface and first frame header still to come.
    preface_left: usize,
    limits: ConnectionLimits,
    metrics: Metrics,
    _slot: OwnedSemaphorePermit,
    _open: OpenConnection,
    /// The first write since the last flush has yielded once (see the
    /// `AsyncWrite` impl).
    yielded: bool,
}

impl<T> Guarded<T> {
    /// Pending once per flush: the first write yields to the tasks that are
    /// ready (waking this one after them), later writes go through.
    fn yield_once(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        std::pin::pin!(tokio::task::yield_now()).poll(cx)
    }

    /// Whether the connection's deadline passed; re-arms the timer when it
    /// has not (a call kept it busy). Polls the timer, so the task wakes
    /// when it fires.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return None;
            }
            if self.preface_left > 0 {
                self.metrics.connection_closed(Closed::Handshake);
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no HTTP/2 preface within {} ms",
                        self.limits.handshake_timeout.as_millis()
                    ),
                ));
            }
            match self.peer.activity.idle_at(self.limits.idle_timeout) {
                Some(at) => self.timer.as_mut().reset(at),
                None => {
                    self.metrics.connection_closed(Closed::Idle);
                    return Some(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no call for {} ms", self.limits.idle_timeout.as_millis()),
                    ));
                }
            }
        }
    }
}

impl<T: Transport> Connected for Guarded<T> {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl<T: Transport> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        if let Poll::Ready(read) = Pin::new(&mut this.io).poll_read(cx, buf) {
            if this.preface_left > 0 && read.is_ok() {
                let got = buf.filled().len() - before;
                this.preface_left = this.preface_left.saturating_sub(got);
                if this.preface_left == 0 {
                    // Handshake done: from now on the idle timeout applies.
                    this.peer.activity.touch();
                    let at = Instant::now() + this.limits.idle_timeout;
                    this.timer.as_mut().reset(at);
                }
            }
            return Poll::Ready(read);
        }
        // Nothing to read: the time to close may have come.
        match this.expired(cx) {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Pending,
        }
    }
}

/// Writes are coalesced. h2 writes out every frame it has queued each time
/// its connection task runs, and that task is woken by each call that
/// queues a response, so under load it wrote about one response per
/// system call (1.47 `writev` per call at 64 calls in flight on 4
/// connections). Here the first write after a flush yields once
/// ([`tokio::task::yield_now`]: the task runs again after the tasks
/// already ready, the other calls' handlers, have run), so their
/// responses go out in the same write; with nothing else ready the task
/// runs again at once, so a lone call waits for nothing. And the transport
/// is reported as not vectored, so h2 copies a DATA frame under 1 KiB
/// into its 16 KiB write buffer instead of writing it straight from the
/// response, which would end the batch. Reads are not touched. Every
/// transport here is `Unpin`.
impl<T: Transport> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.yield_once(cx));
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.yield_once(cx));
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        this.yielded = false;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
