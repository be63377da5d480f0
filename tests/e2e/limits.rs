//! Request limits: message size, map and list sizes, deadlines (the
//! server's and the client's `grpc-timeout`), and the global concurrency
//! limit that sheds load instead of queueing.

use std::{collections::BTreeMap, time::Duration};

use tollgate::grpc::{Limits, ServerOptions};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    connections::{hello, read_frame},
    support::{
        DEADLINE, Server, bad_fields, card, eventually, funding_request, link_request, request,
        stream_error, streamed,
    },
};

fn entries(n: usize) -> BTreeMap<String, f64> {
    (0..n).map(|i| (format!("metric_{i}"), 1.0)).collect()
}

#[tokio::test]
async fn a_message_over_the_default_64_kib_is_resource_exhausted() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.attributes
        .insert("note".to_owned(), "x".repeat(70 * 1024));
    let err = server.decide_err(req).await;
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    // Just under the limit is decided.
    let mut req = request("free", "standard");
    req.attributes
        .insert("note".to_owned(), "x".repeat(60 * 1024));
    server.decide(req).await;
}

#[tokio::test]
async fn an_oversized_message_in_a_batch_stream_is_resource_exhausted() {
    let server = Server::with(ServerOptions {
        max_message_bytes: 1024,
        ..ServerOptions::default()
    })
    .await;
    let mut big = request("free", "standard");
    big.attributes.insert("note".to_owned(), "x".repeat(2048));
    let mut results = server.stream(vec![request("free", "standard"), big]).await;
    let first = results.message().await.expect("first result");
    assert!(first.is_some(), "the small request is decided");
    let err = results
        .message()
        .await
        .expect_err("the big one ends the stream");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
}

#[tokio::test]
async fn too_many_map_entries_are_invalid_argument_naming_each_map() {
    let server = Server::embedded().await;
    let mut req = request("free", "standard");
    req.usage = entries(300);
    req.period_usage = entries(257);
    req.attributes = (0..256).map(|i| (format!("a{i}"), String::new())).collect();
    let err = server.decide_err(req).await;
    assert_eq!(bad_fields(&err), ["usage", "period_usage"]);
    assert!(
        err.message().contains("usage: 300 entries, at most 256"),
        "{err:?}"
    );
}

#[tokio::test]
async fn map_and_list_limits_are_configurable() {
    let server = Server::with(ServerOptions {
        limits: Limits {
            max_map_entries: 2,
            max_methods: 1,
        },
        ..ServerOptions::default()
    })
    .await;
    let mut req = request("free", "standard");
    req.usage = entries(3);
    assert_eq!(bad_fields(&server.decide_err(req).await), ["usage"]);

    let methods = vec![card("m1", 1), card("m2", 2)];
    let mut link = link_request("merchant-a", 90, methods.clone());
    if let Some(h) = link.health.as_mut() {
        h.signals = entries(3);
    }
    let err = server.decide_err(link).await;
    assert_eq!(bad_fields(&err), ["methods", "health.signals"]);
    assert!(
        err.message()
            .contains("methods: 2 payment methods, at most 1"),
        "{err:?}"
    );

    let err = server
        .decide_err(funding_request("merchant-a", 100, 0, methods))
        .await;
    assert_eq!(bad_fields(&err), ["methods"]);
}

#[tokio::test]
async fn too_many_entries_in_a_batch_is_that_requests_error() {
    let server = Server::embedded().await;
    let mut big = request("free", "standard");
    big.usage = entries(257);
    let results = server
        .decide_stream(vec![big, request("free", "standard")])
        .await;
    let [first, second] = <[_; 2]>::try_from(results).expect("two results");
    let e = stream_error(first);
    assert_eq!(e.code, "INVALID_ARGUMENT", "{e:?}");
    let fields: Vec<&str> = e.field_violations.iter().map(|v| &*v.field).collect();
    assert_eq!(fields, ["usage"], "{e:?}");
    streamed(second);
}

/// Opens a unary call whose request message never comes, so only a
/// deadline can end it, with these extra headers; returns `grpc-status`.
pub async fn stalled_unary_call(server: &Server, headers: &[(&str, &str)]) -> String {
    let tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let mut builder = http::Request::post(format!(
        "http://{}/tollgate.v1.DecisionService/DecidePlanChange",
        server.addr()
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (response, _body_never_sent) = client
        .send_request(builder.body(()).expect("request"), false)
        .expect("send");
    let response = tokio::time::timeout(DEADLINE, response)
        .await
        .expect("answered before the test's bound")
        .expect("response");
    // A trailers-only answer: the status is in the headers.
    let status = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no grpc-status in {response:?}"))
        .to_owned();
    driver.abort();
    status
}

#[tokio::test]
async fn a_call_over_the_request_timeout_is_deadline_exceeded() {
    let server = Server::with(ServerOptions {
        request_timeout: Duration::from_millis(100),
        ..ServerOptions::default()
    })
    .await;
    let status = stalled_unary_call(&server, &[]).await;
    assert_eq!(status, (Code::DeadlineExceeded as i32).to_string());
}

#[tokio::test]
async fn the_clients_shorter_grpc_timeout_is_honoured() {
    // The server would wait a minute; the client's 100 ms wins. A raw
    // HTTP/2 client, because tonic's own client would give up first with
    // CANCELLED and hide the server's answer.
    let server = Server::with(ServerOptions {
        request_timeout: Duration::from_secs(60),
        ..ServerOptions::default()
    })
    .await;
    let status = stalled_unary_call(&server, &[("grpc-timeout", "100m")]).await;
    assert_eq!(status, (Code::DeadlineExceeded as i32).to_string());
}

#[tokio::test]
async fn over_the_concurrency_limit_a_call_is_shed_not_queued() {
    let server = Server::with(ServerOptions {
        max_concurrent_requests: 1,
        ..ServerOptions::default()
    })
    .await;
    // An open batch stream is in flight until it ends. The permit of the
    // harness's own first call may take a moment to come back: retry.
    let (requests, mut results) = server.stream_holding_a_permit().await;

    let err = server.decide_err(request("free", "standard")).await;
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("at most 1"), "{err:?}");
    // Health checks are never shed.
    let health = server.health_of("").await.map_err(|s| s.code());
    assert_eq!(health, Ok(ServingStatus::Serving));

    // The stream still works, and once it ends the permit is free again.
    requests
        .send(request("free", "pro"))
        .await
        .expect("send on the stream");
    assert!(results.message().await.expect("result").is_some());
    drop(requests);
    assert!(results.message().await.expect("end").is_none());
    eventually("a call after the stream ended", async || {
        server
            .decisions()
            .decide_plan_change(request("free", "standard"))
            .await
            .map_err(|s| format!("{s:?}"))
    })
    .await;
}

/// A keepalive ping every 200 ms, 300 ms to answer it.
async fn keepalive_server() -> Server {
    Server::with(tollgate::grpc::ServerOptions {
        keepalive: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn keepalive_pings_an_idle_connection_and_closes_it_when_unanswered() {
    use tokio::io::AsyncWriteExt as _;
    const PING: u8 = 0x6;
    const ACK: u8 = 0x1;
    let server = keepalive_server().await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    // The client preface and an empty SETTINGS frame; then silence: the
    // client never acknowledges anything, as a dead peer would.
    tcp.write_all(&hello()).await.expect("send the preface");
    let mut pinged = false;
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(frame) = read_frame(&mut tcp).await {
            pinged |= frame.kind == PING && frame.flags & ACK == 0;
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server never closed the silent connection"
    );
    assert!(
        pinged,
        "the server closed the connection without pinging it"
    );
}

#[tokio::test]
async fn a_client_that_answers_pings_keeps_its_connection() {
    let server = keepalive_server().await;
    // h2's client answers pings while its connection task runs; after six
    // keepalive rounds that connection is still open and still serves.
    let tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!driver.is_finished(), "the server closed a live connection");
    let mut client = client.ready().await.expect("still ready");
    let get = http::Request::post(format!(
        "http://{}/grpc.health.v1.Health/Check",
        server.addr()
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .expect("request");
    let (response, mut body) = client.send_request(get, false).expect("send");
    // An empty HealthCheckRequest: a zero-length gRPC message.
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), true)
        .expect("send the message");
    let response = tokio::time::timeout(DEADLINE, response)
        .await
        .expect("answered before the test's bound")
        .expect("response on the same connection");
    assert_eq!(response.status(), http::StatusCode::OK);
    driver.abort();
}
