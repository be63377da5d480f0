//! `tollgate serve` as a process with its admin HTTP port: the bound
//! address is logged (so port 0 works), `/healthz`, `/readyz` and `/metrics`
//! answer (in the format the `Accept` header asks for), `--max-bundle-age` from the environment takes readiness away,
//! and bad admin flags or a taken port fail the start; `/bundle/graph.svg`
//! draws the active bundle's plan graph.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

#[path = "e2e/http.rs"]
mod http;
#[allow(dead_code, reason = "the helpers are shared with other test binaries")]
mod support;

use std::{
    io::{BufRead as _, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use support::Serve;

/// A bound against hanging, not a speed requirement.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(25);
const DEMO_REVISION: &str = "2026-11-22.1";
const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The `Accept` header of a Prometheus 2.x scrape with its default
/// protocols.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn tollgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    for var in [
        "RUST_LOG",
        "TOLLGATE_LOG_FORMAT",
        "TOLLGATE_LISTEN",
        "TOLLGATE_BUNDLE",
        "TOLLGATE_ADMIN_LISTEN",
        "TOLLGATE_MAX_BUNDLE_AGE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Starts `cmd` and reads its log until it names the admin address.
fn start(cmd: Command) -> (Serve, SocketAddr) {
    let (server, addr, _log) = start_logged(cmd);
    (server, addr)
}

/// [`start`], also handing over the log lines that follow.
fn start_logged(mut cmd: Command) -> (Serve, SocketAddr, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tollgate serve");
    let stderr = child.stderr.take().expect("stderr");
    let server = Serve(child);
    let (tx, rx) = mpsc::channel();
    // Reads every line, so the process never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let give_up = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no admin address logged: {seen:#?}"));
        if line.contains("serving admin HTTP") {
            let addr = line
                .split_once("addr=")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in `{line}`"));
            return (server, addr, rx);
        }
        seen.push(line);
    }
}

/// Waits for a log line containing `needle`.
fn wait_for_line(log: &mpsc::Receiver<String>, needle: &str) {
    let give_up = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `{needle}` logged: {seen:#?}"));
        if line.contains(needle) {
            return;
        }
        seen.push(line);
    }
}

async fn get(addr: SocketAddr, path: &str) -> http::Answer {
    http::get(addr, path)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn serve_logs_the_admin_address_and_answers_health_readiness_and_metrics() {
    let mut cmd = tollgate();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0"]);
    let (mut server, admin) = start(cmd);

    assert_eq!(get(admin, "/healthz").await.status, 200);
    let readyz = get(admin, "/readyz").await;
    assert_eq!((readyz.status, readyz.body.as_str()), (200, "ready\n"));
    // No `Accept`: the text format 0.0.4, an info metric as a gauge.
    let metrics = get(admin, "/metrics").await;
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert_eq!(metrics.content_type, TEXT_004, "{metrics:?}");
    let info = [("revision", DEMO_REVISION), ("name", "demo")];
    let active = http::value(&metrics.body, "tollgate_bundle_info", &info);
    assert_eq!(active, Some(1.0), "{}", metrics.body);
    assert!(
        metrics.body.contains("# TYPE tollgate_bundle_info gauge\n"),
        "{}",
        metrics.body
    );
    assert!(!metrics.body.contains("# EOF"), "{}", metrics.body);
    assert!(!metrics.body.contains("# UNIT"), "{}", metrics.body);
    // OpenMetrics only when asked for, as Prometheus does by default.
    for (accept, openmetrics) in [
        (PROMETHEUS_ACCEPT, true),
        ("application/openmetrics-text; version=1.0.0", true),
        ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", false),
        ("text/plain", false),
        ("application/openmetrics-text;q=0", false),
        ("*/*", false),
    ] {
        let answer = http::get_accepting(admin, "/metrics", Some(accept))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.status, 200, "{accept}: {answer:?}");
        if openmetrics {
            assert_eq!(answer.content_type, OPENMETRICS, "{accept}");
            assert!(
                answer.body.ends_with("# EOF\n"),
                "{accept}: {}",
                answer.body
            );
            assert!(
                answer.body.contains("# TYPE tollgate_bundle info\n"),
                "{accept}: {}",
                answer.body
            );
        } else {
            assert_eq!(answer.content_type, TEXT_004, "{accept}");
            assert!(!answer.body.contains("# EOF"), "{accept}: {}", answer.body);
        }
        let active = http::value(&answer.body, "tollgate_bundle_info", &info);
        assert_eq!(active, Some(1.0), "{accept}: {}", answer.body);
    }

    // SIGTERM stops the admin port with the rest, and the exit is clean.
    let sent = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM");
    let give_up = Instant::now() + DEADLINE;
    let code = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status.code();
        }
        assert!(Instant::now() < give_up, "the server did not exit");
        tokio::time::sleep(POLL_EVERY).await;
    };
    assert_eq!(code, Some(0));
    assert!(
        http::get(admin, "/healthz").await.is_err(),
        "still answering"
    );
}

#[tokio::test]
async fn the_admin_port_serves_the_active_bundles_plan_graph_as_svg() {
    let mut cmd = tollgate();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0"]);
    let (_server, admin) = start(cmd);
    let answer = get(admin, "/bundle/graph.svg").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.content_type, "image/svg+xml", "{answer:?}");
    let doc = roxmltree::Document::parse(&answer.body)
        .unwrap_or_else(|e| panic!("not XML: {e}\n{}", answer.body));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tspan"))
        .filter_map(|n| n.text())
        .collect();
    for plan in ["free", "standard", "premium", "enterprise"] {
        let label = format!("{plan} (rank ");
        assert!(texts.iter().any(|t| t.starts_with(&label)), "{texts:?}");
    }
    // 4 plans: 12 ordered pairs, each for the 4 roles.
    let edges = doc.descendants().filter(|n| n.has_tag_name("path")).count();
    assert_eq!(edges, 48, "{}", answer.body);

    // The payments picture: the same drawing as `tollgate graph`'s.
    let link = get(admin, "/bundle/graph.svg?decision=payment-link").await;
    assert_eq!(link.status, 200, "{link:?}");
    assert_eq!(link.content_type, "image/svg+xml", "{link:?}");
    let cli = support::run(&["graph", "--decision", "payment-link"]);
    assert_eq!(link.body.trim_end(), cli.stdout.trim_end());
    for merchant in ["video-stream", "ride-share", "meal-kit"] {
        assert!(
            link.body.contains(&format!(">{merchant}<")),
            "{}",
            link.body
        );
    }
    let bad = get(admin, "/bundle/graph.svg?decision=refund").await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(
        bad.body.contains("`refund` is not a decision type"),
        "{bad:?}"
    );
}

#[tokio::test]
async fn the_environment_sets_the_admin_port_and_the_maximum_bundle_age() {
    let mut cmd = tollgate();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOLLGATE_ADMIN_LISTEN", "127.0.0.1:0")
        .env("TOLLGATE_MAX_BUNDLE_AGE", "1s");
    let (_server, admin) = start(cmd);
    // The embedded bundle's age counts from its load: stale after a second.
    let give_up = Instant::now() + DEADLINE;
    let readyz = loop {
        let readyz = get(admin, "/readyz").await;
        if readyz.status == 503 {
            break readyz;
        }
        assert!(Instant::now() < give_up, "still ready: {readyz:?}");
        tokio::time::sleep(POLL_EVERY).await;
    };
    assert!(
        readyz.body.contains("longer than --max-bundle-age 1s"),
        "{readyz:?}"
    );
    assert_eq!(get(admin, "/healthz").await.status, 200);
}

/// The embedded bundle is never re-read by polling, and re-reading it on
/// SIGHUP does not make it fresh: its age counts from its load, so with
/// `--max-bundle-age` it turns unready and stays so.
#[tokio::test]
async fn the_embedded_bundle_is_not_made_fresh_by_polling_or_sighup() {
    let mut cmd = tollgate();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0"])
        .args(["--poll-interval", "1", "--max-bundle-age", "500ms"])
        .env("RUST_LOG", "tollgate=debug");
    let (server, admin, log) = start_logged(cmd);
    let give_up = Instant::now() + DEADLINE;
    while get(admin, "/readyz").await.status != 503 {
        assert!(Instant::now() < give_up, "never stale");
        tokio::time::sleep(POLL_EVERY).await;
    }
    // A re-read that finds the same content: before, it counted as the
    // source confirming the bundle, and readiness came back.
    let sent = Command::new("kill")
        .args(["-HUP", &server.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -HUP");
    wait_for_line(&log, "bundle unchanged");
    let readyz = get(admin, "/readyz").await;
    assert_eq!(readyz.status, 503, "{readyz:?}");
    assert!(
        readyz.body.contains("longer than --max-bundle-age 500ms"),
        "{readyz:?}"
    );
    // Nothing polls the embedded bundle: no re-read but the one SIGHUP
    // asked for, across more than one poll interval.
    let until = Instant::now() + Duration::from_millis(1500);
    while let Ok(line) = log.recv_timeout(until.saturating_duration_since(Instant::now())) {
        assert!(!line.contains("bundle unchanged"), "polled: {line}");
    }
    assert_eq!(get(admin, "/readyz").await.status, 503);
}

#[test]
fn bad_admin_flags_are_usage_errors() {
    for (args, want) in [
        (
            ["--admin-listen", "nope"],
            "`nope` is neither an address such as `0.0.0.0:9464` nor `off`",
        ),
        (
            ["--max-bundle-age", "0s"],
            "`0s`: the duration must be more than zero",
        ),
        (["--max-bundle-age", "1h"], "`1h` is not a duration"),
    ] {
        let out = tollgate()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run tollgate serve");
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}

#[test]
fn an_admin_port_in_use_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let addr = taken.local_addr().expect("local address");
    let out = tollgate()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", &addr.to_string()])
        .output()
        .expect("run tollgate serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} (--admin-listen)")),
        "{stderr}"
    );
    assert!(!stderr.contains("serving gRPC"), "{stderr}");
}
