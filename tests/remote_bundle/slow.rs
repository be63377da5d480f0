//! A bundle source that trickles its answer, one byte a second, on a
//! loopback port: each poll is cut off at the download timeout, so later
//! polls keep coming (the old fixed 60-second request timeout let one such
//! download hold the poller for a minute), the active bundle keeps serving,
//! and a fast answer afterwards goes live.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
use tollgate::reload::RemoteSource;

use crate::{
    DEADLINE, decided_revision, eventually, limits::serve, source::demo, status, wait_for_revision,
};

/// A raw HTTP/1.1 source: answers every GET with the published archive,
/// all at once, or (when `slow`) its headers and then one byte a second.
#[derive(Default)]
struct Trickle {
    archive: Mutex<Vec<u8>>,
    slow: std::sync::atomic::AtomicBool,
    requests: AtomicUsize,
}

async fn answer(mut stream: TcpStream, state: Arc<Trickle>) {
    // The request head; a GET has no body.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.extend_from_slice(&byte),
            _ => return,
        }
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let body = state.archive.lock().expect("archive").clone();
    let header = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    if !state.slow.load(Ordering::SeqCst) {
        let _ = stream.write_all(&body).await;
        return;
    }
    for b in body {
        if stream.write_all(&[b]).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn start(state: Arc<Trickle>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, state.clone()));
        }
    });
    addr
}

#[tokio::test]
async fn a_source_sending_a_byte_a_second_is_cut_off_and_later_polls_go_on() {
    let state = Arc::new(Trickle::default());
    *state.archive.lock().expect("archive") = demo("rev-a");
    let addr = start(state.clone()).await;
    let server = serve(RemoteSource {
        url: format!("http://{addr}/bundle.tar.gz").parse().expect("url"),
        cache: None,
        poll_min: Duration::from_millis(300),
        poll_max: Duration::from_millis(600),
        token_file: None,
        max_bytes: 1024 * 1024,
        download_timeout: Duration::from_millis(500),
    })
    .await;
    let channel = server.channel.clone();
    wait_for_revision(&channel, "rev-a", &[], Instant::now() + DEADLINE).await;

    // Now every answer trickles: each poll gives up after 500 ms, and the
    // next polls still come, well before a minute has passed.
    state.slow.store(true, Ordering::SeqCst);
    *state.archive.lock().expect("archive") = demo("rev-b");
    let before = state.requests.load(Ordering::SeqCst);
    eventually("three more polls of the trickling source", || async {
        state.requests.load(Ordering::SeqCst) >= before + 3
    })
    .await;
    let error = status(&channel).await.last_reload_error;
    assert!(
        error.contains("the download took longer than 500ms (--bundle-download-timeout)"),
        "{error}"
    );
    assert_eq!(decided_revision(&channel).await, "rev-a");

    // Fast again: the next poll brings rev-b.
    state.slow.store(false, Ordering::SeqCst);
    wait_for_revision(&channel, "rev-b", &["rev-a"], Instant::now() + DEADLINE).await;
}
