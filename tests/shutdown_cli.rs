//! `tollgate serve` as a process on SIGTERM: health goes NOT_SERVING, the
//! listener closes, an open stream may finish, and the process exits 0;
//! a stream that never ends is cut at `--shutdown-grace`.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tollgate::grpc::pb::{self, decision_service_client::DecisionServiceClient};
use tonic::{Streaming, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use support::{Serve, connect, free_port};

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(25);

fn request() -> pb::PlanChangeRequest {
    pb::PlanChangeRequest {
        tenant_id: "t1".to_owned(),
        from_plan: "free".to_owned(),
        to_plan: "standard".to_owned(),
        ..Default::default()
    }
}

fn start(port: u16, grace: &str) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        // An admin port too (on any free port), which must not hold the
        // process past the grace either.
        .args(["--admin-listen", "127.0.0.1:0"])
        .args(["--shutdown-grace", grace])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tollgate serve");
    Serve(child)
}

/// Opens a batch stream and has one request decided on it.
async fn open_stream(
    channel: Channel,
) -> (
    mpsc::Sender<pb::PlanChangeRequest>,
    Streaming<pb::PlanChangeResult>,
) {
    let (tx, rx) = mpsc::channel(4);
    tx.send(request()).await.expect("send");
    let mut results = DecisionServiceClient::new(channel)
        .decide_plan_changes(ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    assert!(results.message().await.expect("result").is_some());
    (tx, results)
}

fn terminate(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM");
}

/// Polls fresh connections until the server no longer serves them: the
/// listener is closed, or health says NOT_SERVING.
async fn wait_until_draining(port: u16) {
    let give_up = Instant::now() + DEADLINE;
    loop {
        let endpoint = format!("http://127.0.0.1:{port}");
        let serving = match Channel::from_shared(endpoint)
            .expect("endpoint")
            .connect()
            .await
        {
            Err(_) => false,
            Ok(channel) => matches!(
                HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await
                    .map(|r| r.into_inner().status()),
                Ok(ServingStatus::Serving)
            ),
        };
        if !serving {
            return;
        }
        assert!(Instant::now() < give_up, "still serving after SIGTERM");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn exit_code(server: &mut Serve) -> Option<i32> {
    let give_up = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            return status.code();
        }
        assert!(Instant::now() < give_up, "the server did not exit");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[tokio::test]
async fn sigterm_lets_an_open_stream_finish_then_exits_0() {
    let port = free_port();
    let mut server = start(port, "60s");
    let channel = connect(port).await;
    let (requests, mut results) = open_stream(channel).await;

    terminate(&server.0);
    wait_until_draining(port).await;

    // The stream that was in flight is still answered.
    requests.send(request()).await.expect("send after SIGTERM");
    assert!(
        results.message().await.expect("result").is_some(),
        "the open stream is still served while draining"
    );
    drop(requests);
    assert!(results.message().await.expect("end").is_none());

    assert_eq!(exit_code(&mut server).await, Some(0));
}

#[tokio::test]
async fn a_stream_that_never_ends_is_cut_at_the_grace_and_the_exit_is_0() {
    let port = free_port();
    let mut server = start(port, "200ms");
    let channel = connect(port).await;
    let (_requests, _results) = open_stream(channel).await;

    terminate(&server.0);
    assert_eq!(exit_code(&mut server).await, Some(0));
}

#[test]
fn bad_limit_flags_are_refused_before_binding() {
    for args in [
        ["--request-timeout", "2h"],
        ["--request-timeout", "0s"],
        ["--shutdown-grace", "soon"],
        ["--max-concurrent-requests", "0"],
        ["--max-message-bytes", "0"],
        ["--max-map-entries", "0"],
        ["--max-methods", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["serve", "--listen", "127.0.0.1:1"])
            .args(args)
            .output()
            .expect("run tollgate serve");
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}
