//! Who is on the other end of a TLS connection: the client certificate's
//! names, read once when the handshake completes and handed to every
//! request on the connection in its [`Peer`](super::super::connections::Peer).

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use super::super::connections::Transport;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::server::TlsStream;
use x509_parser::{extensions::GeneralName, prelude::FromDer as _};

/// A client authenticated by its certificate: the names in the
/// certificate's subject alternative names, in certificate order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    uris: Vec<String>,
    dns_names: Vec<String>,
}

impl Caller {
    /// The SAN URIs and DNS names of a DER certificate; none when it has no
    /// such names or cannot be read (rustls has verified it already).
    pub fn from_certificate(der: &[u8]) -> Self {
        let mut caller = Self::default();
        let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(der) else {
            return caller;
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::URI(uri) => caller.uris.push((*uri).to_owned()),
                    GeneralName::DNSName(dns) => caller.dns_names.push((*dns).to_owned()),
                    _ => {}
                }
            }
        }
        caller
    }

    /// The caller's identity as logged and named in errors: its first SAN
    /// URI (a SPIFFE id, typically), else its first DNS name.
    pub fn identity(&self) -> Option<&str> {
        self.uris
            .first()
            .or(self.dns_names.first())
            .map(String::as_str)
    }

    /// Every name the caller is known by: URIs first, then DNS names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.uris.iter().chain(&self.dns_names).map(String::as_str)
    }
}

/// A served TLS connection and what its handshake established.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    caller: Option<Arc<Caller>>,
}

impl TlsConnection {
    /// Wraps a completed handshake, reading the client certificate once.
    pub(super) fn new(stream: TlsStream<TcpStream>) -> Self {
        let caller = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| Arc::new(Caller::from_certificate(leaf)));
        Self { stream, caller }
    }
}

impl Transport for TlsConnection {
    fn caller(&self) -> Option<Arc<Caller>> {
        self.caller.clone()
    }
}

// Plain delegation; `TlsStream<TcpStream>` is `Unpin`, so no projection.
impl AsyncRead for TlsConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
