//! Connection limits, as an attacker meets them: a greedy connection that
//! opens more streams than the server advertises, a stream that goes quiet,
//! connections that never send the HTTP/2 preface (plaintext and TLS), a
//! flood past the connection limit, and idle connections. And responses,
//! which the server writes in batches: many calls in flight on one
//! connection, each answered as it is alone.

use std::time::Duration;

use prost::Message as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};
use tollgate::{
    app::ServeOptions,
    decision_log::DecisionLog,
    grpc::{
        ConnectionLimits, ServerOptions, TlsSettings,
        pb::decision_service_client::DecisionServiceClient,
    },
    reload::BundleSource,
};
use tonic::{Code, transport::Channel};

use crate::{
    http::value,
    pki::{Pki, TlsServer},
    support::*,
};

/// The HTTP/2 client preface and an empty SETTINGS frame.
pub fn hello() -> Vec<u8> {
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    hello
}

/// One HTTP/2 frame: its type, flags, stream id and payload.
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const END_HEADERS: u8 = 0x4;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const REFUSED_STREAM: u32 = 0x7;

/// The next frame the server sends; `None` once it closed the connection.
pub async fn read_frame(tcp: &mut TcpStream) -> Option<Frame> {
    let mut header = [0u8; 9];
    tcp.read_exact(&mut header).await.ok()?;
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        kind: header[3],
        flags: header[4],
        stream,
        payload,
    })
}

/// A HEADERS frame opening a `DecidePlanChange` call on `stream`, without
/// END_STREAM: the request message never follows, as a greedy client's.
/// HPACK literals without indexing and without Huffman coding.
fn open_call(stream: u32) -> Vec<u8> {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http (static table)
    let literal = |block: &mut Vec<u8>, name: &str, value: &str| {
        block.push(0x00);
        block.push(u8::try_from(name.len()).expect("short name"));
        block.extend_from_slice(name.as_bytes());
        block.push(u8::try_from(value.len()).expect("short value"));
        block.extend_from_slice(value.as_bytes());
    };
    literal(
        &mut block,
        ":path",
        "/tollgate.v1.DecisionService/DecidePlanChange",
    );
    literal(&mut block, ":authority", "greedy");
    literal(&mut block, "content-type", "application/grpc");
    literal(&mut block, "te", "trailers");
    let len = u32::try_from(block.len())
        .expect("small block")
        .to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], HEADERS, END_HEADERS];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(&block);
    frame
}

/// The server's SETTINGS_MAX_CONCURRENT_STREAMS, from its first SETTINGS.
async fn advertised_stream_limit(tcp: &mut TcpStream) -> Option<u32> {
    loop {
        let frame = read_frame(tcp).await?;
        if frame.kind != SETTINGS || frame.stream != 0 || frame.payload.is_empty() {
            continue;
        }
        return frame.payload.chunks_exact(6).find_map(|s| {
            (u16::from_be_bytes([s[0], s[1]]) == SETTINGS_MAX_CONCURRENT_STREAMS)
                .then(|| u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
        });
    }
}

#[tokio::test]
async fn one_greedy_connection_cannot_take_every_slot() {
    // 32 slots for the whole server, 8 per connection; calls wait up to a
    // minute, so a stalled call holds its slot for the whole test.
    let server = Server::with(ServerOptions {
        max_concurrent_requests: 32,
        max_concurrent_streams: 8,
        request_timeout: Duration::from_secs(60),
        message_timeout: Duration::from_secs(60),
        ..ServerOptions::default()
    })
    .await;
    let mut greedy = TcpStream::connect(server.addr()).await.expect("connect");
    greedy.write_all(&hello()).await.expect("preface");
    assert_eq!(advertised_stream_limit(&mut greedy).await, Some(8));

    // It ignores the limit and opens 100 calls whose messages never come.
    let mut frames = Vec::new();
    for i in 0..100u32 {
        frames.extend_from_slice(&open_call(2 * i + 1));
    }
    greedy.write_all(&frames).await.expect("open 100 streams");
    // The server refuses every stream past the eighth.
    let refused = tokio::time::timeout(DEADLINE, async {
        let mut refused = 0;
        while refused < 92 {
            let frame = read_frame(&mut greedy).await.expect("connection open");
            if frame.kind == RST_STREAM
                && frame
                    .payload
                    .get(..4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    == Some(REFUSED_STREAM)
            {
                refused += 1;
            }
        }
        refused
    })
    .await
    .expect("92 streams refused within the test's bound");
    assert_eq!(refused, 92);

    // Well-behaved clients on their own connections are all served, 20 at
    // once: the greedy connection holds 8 of the 32 slots, not all of them.
    let calls = (0..20).map(|_| {
        let mut client = server.decisions();
        async move {
            client
                .decide_plan_change(request("free", "standard"))
                .await
                .map(|_| ())
        }
    });
    for answer in all_at_once(calls).await {
        assert_eq!(
            answer.map_err(|s| (s.code(), s.message().to_owned())),
            Ok(())
        );
    }
    drop(greedy);
}

/// Runs every future at once and collects their outputs in order.
async fn all_at_once<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn a_stream_whose_next_message_does_not_come_gives_its_slot_back() {
    let server = Server::with(ServerOptions {
        max_concurrent_requests: 1,
        request_timeout: Duration::from_secs(60),
        message_timeout: Duration::from_millis(300),
        ..ServerOptions::default()
    })
    .await;
    // One request decided, then the client goes quiet without closing.
    let (requests, mut results) = server.stream_holding_a_permit().await;
    let ended = tokio::time::timeout(DEADLINE, results.message())
        .await
        .expect("the stream ended within the test's bound");
    let status = ended.expect_err("the quiet stream ends with a status");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status
            .message()
            .contains("no request message within 300 ms"),
        "{status:?}"
    );
    // Its slot is free: the only one the server has.
    eventually("a call after the quiet stream ended", async || {
        server
            .decisions()
            .decide_plan_change(request("free", "standard"))
            .await
            .map_err(|s| format!("{s:?}"))
    })
    .await;
    drop(requests);
}

/// Serves the demo bundle with these connection limits and an admin port.
async fn limited(limits: ConnectionLimits) -> Server {
    let options = ServeOptions {
        server: ServerOptions {
            connections: limits,
            ..ServerOptions::default()
        },
        ..ServeOptions::default()
    };
    Server::with_admin(BundleSource::Embedded, options).await
}

/// Whether the server closes `io` within `within`, reading what it sends.
async fn closed_within(io: &mut (impl tokio::io::AsyncRead + Unpin), within: Duration) -> bool {
    let mut sink = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn connections_that_never_send_the_preface_are_closed() {
    let server = limited(ConnectionLimits {
        handshake_timeout: Duration::from_millis(300),
        ..ConnectionLimits::default()
    })
    .await;
    // One silent; one sending the preface a byte every 100 ms, which would
    // take 3.3 s (a slowloris).
    let mut silent = TcpStream::connect(server.addr()).await.expect("connect");
    let mut slow = TcpStream::connect(server.addr()).await.expect("connect");
    let dribble = tokio::spawn(async move {
        for byte in hello() {
            if slow.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_within(&mut slow, DEADLINE).await
    });
    assert!(
        closed_within(&mut silent, DEADLINE).await,
        "a silent connection was kept past the handshake timeout"
    );
    assert!(
        dribble.await.expect("task"),
        "a slow preface was kept past the handshake timeout"
    );
    let scrape = server.get("/metrics").await.body;
    let closed = value(
        &scrape,
        "tollgate_connections_closed_total",
        &[("reason", "handshake_timeout")],
    );
    assert_eq!(closed, Some(2.0), "{scrape}");
    // A client that speaks in time is served as ever.
    assert_eq!(
        server.health_of("").await.map_err(|s| s.code()),
        Ok(tonic_health::pb::health_check_response::ServingStatus::Serving)
    );
}

#[tokio::test]
async fn past_the_connection_limit_a_connection_is_closed_at_once() {
    // The harness's own channel is one of the three.
    let server = limited(ConnectionLimits {
        max_connections: 3,
        ..ConnectionLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(server.addr()).await.expect("connect");
        tcp.write_all(&hello()).await.expect("preface");
        held.push(tcp);
    }
    let mut over = TcpStream::connect(server.addr()).await.expect("connect");
    assert!(
        closed_within(&mut over, DEADLINE).await,
        "a connection past the limit was kept"
    );
    // Held connections stay open; the count comes back when one closes.
    drop(held.pop());
    eventually("a new connection after one closed", async || {
        let mut tcp = TcpStream::connect(server.addr())
            .await
            .map_err(|e| e.to_string())?;
        tcp.write_all(&hello()).await.map_err(|e| e.to_string())?;
        match advertised_stream_limit(&mut tcp).await {
            Some(_) => Ok(tcp),
            None => Err("closed".to_owned()),
        }
    })
    .await;
    let scrape = server.get("/metrics").await.body;
    assert!(
        value(&scrape, "tollgate_connections_refused_total", &[]).is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    assert!(
        value(&scrape, "tollgate_connections_open", &[]).is_some_and(|n| n <= 3.0),
        "{scrape}"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let server = limited(ConnectionLimits {
        idle_timeout: Duration::from_millis(400),
        ..ConnectionLimits::default()
    })
    .await;
    // An HTTP/2 connection that answers pings but makes no call.
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let (_idle, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let idle = tokio::spawn(connection);
    // A stream held open for longer than the idle timeout keeps its own
    // connection (a channel of its own, so the two do not share one).
    let busy = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr()))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut results = tollgate::grpc::pb::decision_service_client::DecisionServiceClient::new(busy)
        .decide_plan_changes(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    for _ in 0..6 {
        tx.send(request("free", "standard")).await.expect("send");
        assert!(results.message().await.expect("result").is_some());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 1.2 s later: the idle one is gone, the busy stream still answers.
    assert!(idle.is_finished(), "the idle connection is still open");
    tx.send(request("free", "standard")).await.expect("send");
    assert!(results.message().await.expect("result").is_some());
    let scrape = server.get("/metrics").await.body;
    assert!(
        value(
            &scrape,
            "tollgate_connections_closed_total",
            &[("reason", "idle_timeout")]
        )
        .is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
}

#[tokio::test]
async fn over_tls_the_handshake_and_the_preface_share_one_deadline() {
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject as _};
    let pki = crate::pki::Pki::new();
    let tls = tollgate::grpc::TlsSettings::load(pki.files(false), None).expect("load TLS");
    let options = ServerOptions {
        tls: Some(tls),
        connections: ConnectionLimits {
            handshake_timeout: Duration::from_millis(500),
            ..ConnectionLimits::default()
        },
        ..ServerOptions::default()
    };
    let server = crate::pki::TlsServer::start_with(
        options,
        tollgate::decision_log::DecisionLog::off(),
        &pki.ca.pem,
        None,
    )
    .await;
    // Never says hello.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert!(
        closed_within(&mut silent, DEADLINE).await,
        "a silent TLS connection was kept past the handshake timeout"
    );
    // Completes the TLS handshake, then never sends the HTTP/2 preface.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pki.ca.pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut quiet = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    assert!(
        closed_within(&mut quiet, DEADLINE).await,
        "a TLS connection without the HTTP/2 preface was kept past the handshake timeout"
    );
    server.stop().await;
}

/// Responses are coalesced: the first write after a flush yields to the
/// other calls that are ready, so their responses share one system call
/// (`Guarded`'s `AsyncWrite`). 200 calls in flight on one connection, small
/// answers and explained ones over 1 KiB (a DATA frame that large h2 writes
/// from the response, not from its buffer), are each answered, and as the
/// same call alone is, over plaintext and over TLS. A lost wake-up would
/// leave calls unanswered past the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_on_one_connection_are_each_answered_as_alone() {
    let server = Server::embedded().await;
    answered_as_alone(server.channel()).await;
    server.stop().await.expect("stop");

    let pki = Pki::new();
    let tls = TlsSettings::load(pki.files(false), None).expect("load TLS");
    let server = TlsServer::start(tls, DecisionLog::off(), &pki.ca.pem, None).await;
    let channel = server
        .connect(&pki.ca.pem, None)
        .await
        .expect("TLS connect");
    answered_as_alone(channel).await;
    server.stop().await;
}

async fn answered_as_alone(channel: Channel) {
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let mut r = request("premium", "standard");
            r.usage = metrics(&[("users", f64::from(i)), ("storage_gb", 10.0)]);
            r.explain = i % 3 == 0;
            r
        })
        .collect();
    let decide = |channel: Channel, req| async move {
        let mut client = DecisionServiceClient::new(channel);
        client
            .decide_plan_change(req)
            .await
            .map(tonic::Response::into_inner)
    };
    let mut alone = Vec::new();
    for req in &requests {
        alone.push(
            decide(channel.clone(), req.clone())
                .await
                .expect("a decision"),
        );
    }
    let together = tokio::time::timeout(
        DEADLINE,
        all_at_once(
            requests
                .iter()
                .map(|req| decide(channel.clone(), req.clone())),
        ),
    )
    .await
    .expect("every call in flight is answered");
    let largest = alone.iter().map(|d| d.encoded_len()).max();
    assert!(largest > Some(1024), "no response over 1 KiB: {largest:?}");
    for (i, (together, alone)) in together.into_iter().zip(alone).enumerate() {
        let mut together = together.expect("a decision");
        // Every decision has its own id; everything else is the same.
        let (a, b) = (together.meta.as_mut(), alone.meta.as_ref());
        let (a, b) = (a.expect("meta"), b.expect("meta"));
        assert_ne!(a.decision_id, b.decision_id, "request {i}");
        a.decision_id.clone_from(&b.decision_id);
        assert_eq!(together, alone, "request {i}");
    }
}
