//! The TLS handshake of one accepted connection. The accept loop, the
//! connection limit and the handshake deadline (which this handshake must
//! meet, together with the HTTP/2 preface) are the same as for plaintext:
//! see [`connections`](super::super::connections).

use rustls::Error as TlsProblem;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::peer::TlsConnection;

/// Runs the server side of the handshake; `None` when it failed.
pub(super) async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream) -> Option<TlsConnection> {
    let from = tcp.peer_addr().ok();
    match acceptor.accept(tcp).await {
        Ok(stream) => Some(TlsConnection::new(stream)),
        Err(e) => {
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
    }
}
