//! The TLS accept loop: accepts TCP connections, runs each handshake in its
//! own task (a slow or broken client never holds up the next one), and
//! hands finished connections to the server as a stream.

use std::{convert::Infallible, sync::Arc, time::Duration};

use rustls::Error as TlsProblem;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc},
};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::{peer::TlsConnection, reload::Current};

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; past it the loop stops accepting (the
/// kernel's backlog queues) until one finishes.
const MAX_HANDSHAKES: usize = 1024;

/// Finished connections not yet taken by the server.
const READY_QUEUE: usize = 64;

/// After an accept error that is not about one connection (out of file
/// descriptors, say): a pause, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `listener` with TLS: a stream of connections whose handshake
/// completed. The listener closes when the stream is dropped (the server
/// stopped accepting).
pub(super) fn incoming(
    listener: TcpListener,
    current: Arc<Current>,
) -> ReceiverStream<Result<TlsConnection, Infallible>> {
    let (tx, rx) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept_loop(listener, current, tx));
    ReceiverStream::new(rx)
}

type Ready = mpsc::Sender<Result<TlsConnection, Infallible>>;

async fn accept_loop(listener: TcpListener, current: Arc<Current>, ready: Ready) {
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
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Nagle's algorithm would hold small responses back until the
        // client's delayed ACK (~40 ms); see `server.rs`.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let acceptor = TlsAcceptor::from(current.config());
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(connection) = handshake(acceptor, tcp).await {
                // The server may have stopped meanwhile; then it is dropped.
                let _ = ready.send(Ok(connection)).await;
            }
        });
    }
}

async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream) -> Option<TlsConnection> {
    let from = tcp.peer_addr().ok();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(TlsConnection::new(stream)),
        Ok(Err(e)) => {
            let problem = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<TlsProblem>());
            // A refused client certificate is worth an operator's attention;
            // probes and port scans that drop the connection are not.
            if let Some(
                p @ (TlsProblem::InvalidCertificate(_) | TlsProblem::NoCertificatesPresented),
            ) = problem
            {
                tracing::info!(peer = ?from, error = %p, "TLS handshake refused: client certificate");
            } else {
                tracing::debug!(peer = ?from, error = %e, "TLS handshake failed");
            }
            None
        }
        Err(_) => {
            tracing::debug!(peer = ?from, "TLS handshake timed out");
            None
        }
    }
}

/// Errors about one connection only (it was reset before we took it).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::WouldBlock | K::TimedOut
    )
}
