//! The floor's server: `bench.v1.FloorService/Echo` answers at once with a
//! payload of the size the request asks for and reads nothing else. It is
//! served much as Tollgate is (tonic's `Server` on an already-bound
//! listener, the same keepalive), without reflection, health, tracing spans
//! or policy work: what is left is the cost of gRPC over HTTP/2 itself.
//! Its sockets get TCP_NODELAY, as tonic gives them by default, unless
//! asked to keep Nagle's algorithm on as Tollgate's server does.

use std::{future::Future, time::Duration};

use bytes::Bytes;
use tokio::net::TcpListener;
use tonic::{
    Request, Response, Status,
    transport::{Server, server::TcpIncoming},
};

use self::pb::{
    EchoRequest, EchoResponse,
    floor_service_server::{FloorService, FloorServiceServer},
};

/// The code `build.rs` generates for `proto/bench/v1/floor.proto`; the load
/// generator (`tollgate-bench`) includes the same code for its messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, reason = "generated code")]
mod pb {
    tonic::include_proto!("bench.v1");
}

/// The largest response payload; bigger requests get this much.
const MAX_PAYLOAD: usize = 64 * 1024;

/// Filler the responses are sliced from, so answering allocates nothing of
/// its own.
static FILLER: [u8; MAX_PAYLOAD] = [0x5a; MAX_PAYLOAD];

struct Floor;

#[tonic::async_trait]
impl FloorService for Floor {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let size = usize::try_from(request.get_ref().response_size).unwrap_or(MAX_PAYLOAD);
        let payload = FILLER.get(..size.min(MAX_PAYLOAD)).unwrap_or_default();
        Ok(Response::new(EchoResponse {
            payload: Bytes::from_static(payload),
        }))
    }
}

/// Serves the floor on `listener` until `shutdown` resolves. `nodelay` sets
/// TCP_NODELAY on accepted sockets, as tonic's own `serve(addr)` does;
/// without it they keep Nagle's algorithm on, as Tollgate's do (tonic
/// ignores its `tcp_nodelay` setting for an incoming stream it is given).
pub async fn serve(
    listener: TcpListener,
    nodelay: bool,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(nodelay.then_some(true));
    Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_service(FloorServiceServer::new(Floor))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
