//! TLS for the gRPC port: rustls with the ring provider, optional mutual
//! TLS, certificates reloaded on change without dropping connections, and
//! the caller identity read from each client certificate.
//!
//! Without TLS settings the server keeps its plaintext path untouched; with
//! them it serves the stream of [`accept::incoming`] instead of tonic's own
//! listener, so each handshake picks up the configuration current at that
//! moment.

mod accept;
mod load;
mod peer;
mod reload;

use std::sync::Arc;

use tokio::net::TcpListener;

pub use load::{TlsError, TlsFiles};
pub use peer::{Caller, Peer, TlsConnection};

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

    /// The connections of `listener`, each after its handshake.
    pub(super) fn incoming(
        &self,
        listener: TcpListener,
    ) -> impl tokio_stream::Stream<Item = Result<TlsConnection, std::convert::Infallible>> + use<>
    {
        accept::incoming(listener, self.current.clone())
    }
}
