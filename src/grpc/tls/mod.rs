//! TLS for the gRPC port: rustls with the ring provider, optional mutual
//! TLS, certificates reloaded on change without dropping connections, and
//! the caller identity read from each client certificate.
//!
//! Plaintext and TLS connections come through the same accept loop and
//! limits ([`connections`](super::connections)); with TLS each connection
//! first runs [`TlsSettings::handshake`], which picks up the configuration
//! current at that moment.

mod accept;
mod load;
mod peer;
mod reload;

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

pub use super::connections::Peer;
pub use load::{TlsError, TlsFiles};
pub use peer::{Caller, TlsConnection};

use super::callers::CallerPolicy;

/// Everything TLS needs, loaded and checked before anything binds.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    current: Arc<reload::Current>,
    policy: Option<Arc<CallerPolicy>>,
}

impl TlsSettings {
    /// Reads and checks the files. A caller policy needs client
    /// certificates: without `client_ca` there are no identities to match.
    pub fn load(files: TlsFiles, policy: Option<CallerPolicy>) -> Result<Self, TlsError> {
        if policy.is_some() && files.client_ca.is_none() {
            return Err(TlsError::PolicyWithoutClientCa);
        }
        Ok(Self {
            current: Arc::new(reload::Current::load(files)?),
            policy: policy.map(Arc::new),
        })
    }

    /// The caller policy, if any.
    pub fn policy(&self) -> Option<&Arc<CallerPolicy>> {
        self.policy.as_ref()
    }

    /// Starts reloading the files on change; stops when the handle drops.
    pub(super) fn watch(&self) -> impl Drop + Send + use<> {
        reload::spawn(self.current.clone())
    }

    /// Starts the handshake of an accepted connection, with the
    /// configuration current at that moment.
    pub(super) fn handshake(
        &self,
    ) -> impl Fn(TcpStream) -> BoxFuture<'static, Option<TlsConnection>> + Send + use<> {
        let current = self.current.clone();
        move |tcp| {
            let acceptor = TlsAcceptor::from(current.config());
            Box::pin(accept::handshake(acceptor, tcp))
        }
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;
