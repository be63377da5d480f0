//! Three `tollgate serve` processes on one URL: a new revision reaches all
//! three within one poll interval plus a second, unchanged polls are 304s,
//! an outage changes nothing, a replica restarted during the outage serves
//! its cached bundle and says so, and the source's return is followed.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tonic::transport::Channel;

use crate::{
    DEADLINE, decided_revision, eventually, serving,
    source::{Source, demo},
    status,
    support::{connect, free_port},
    wait_for_revision,
};

/// `--bundle-poll-min` of the replicas.
const POLL_MIN: Duration = Duration::from_millis(300);

const TOKEN: &str = "replica-token-7f3a9c";

/// A replica process, killed when dropped; its stderr goes to a file.
pub(crate) struct Replica {
    child: Child,
    pub(crate) channel: Channel,
    log: PathBuf,
    /// Its gRPC address, `127.0.0.1:PORT`.
    pub(crate) addr: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    /// A replica of the three: cache (`{dir}/{name}-cache`), token (the
    /// file `{dir}/token`), short polls.
    pub(crate) async fn start(url: &str, dir: &Path, name: &str) -> Self {
        let cache = dir.join(format!("{name}-cache"));
        let token = dir.join("token");
        Self::spawn(
            dir,
            name,
            &[
                "--bundle",
                url,
                "--bundle-cache",
                &cache.to_string_lossy(),
                "--bundle-token-file",
                &token.to_string_lossy(),
                "--bundle-poll-min",
                "300ms",
                "--bundle-poll-max",
                "2s",
            ],
        )
        .await
    }

    /// `tollgate serve` on a free port with `args`.
    async fn spawn(dir: &Path, name: &str, args: &[&str]) -> Self {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.join(format!("{name}-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["serve", "--listen", &addr])
            .args(["--admin-listen", "off"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start tollgate serve");
        let channel = connect(port).await;
        Self {
            child,
            channel,
            log,
            addr,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_follow_one_source_through_an_outage_and_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token file");
    let mut source = Source::start().await;
    source.require_token(TOKEN);
    source.publish(demo("rev-a"));
    let url = source.url();

    let mut replicas = Vec::new();
    for name in ["r0", "r1", "r2"] {
        replicas.push(Replica::start(&url, dir.path(), name).await);
    }
    for r in &replicas {
        wait_for_revision(&r.channel, "rev-a", &[], Instant::now() + DEADLINE).await;
        assert!(!status(&r.channel).await.from_cache);
    }
    // Unchanged polls are answered 304, and nothing is downloaded twice.
    eventually("every replica polled again", || async {
        source.not_modified() >= 6
    })
    .await;
    assert_eq!(source.ok(), 3);
    assert_eq!(source.unauthorized(), 0);

    // A new revision: every replica within one poll interval plus a second.
    source.publish(demo("rev-b"));
    let deadline = Instant::now() + POLL_MIN + Duration::from_secs(1);
    for r in &replicas {
        wait_for_revision(&r.channel, "rev-b", &["rev-a"], deadline).await;
    }
    assert_eq!(source.ok(), 6);

    // The source goes down: every replica notices, and keeps serving.
    source.stop();
    for r in &replicas {
        eventually("the replica saw the source down", || async {
            !status(&r.channel).await.last_reload_error.is_empty()
        })
        .await;
        let s = status(&r.channel).await;
        assert!(s.last_reload_error.contains("cannot connect"), "{s:?}");
        assert_eq!(s.revision, "rev-b");
        assert!(serving(&r.channel).await);
        for _ in 0..5 {
            assert_eq!(decided_revision(&r.channel).await, "rev-b");
        }
    }

    // A replica restarted while the source is down serves from its cache.
    replicas.remove(0);
    replicas.insert(0, Replica::start(&url, dir.path(), "r0").await);
    let restarted = &replicas[0].channel;
    eventually("the restarted replica serves", || serving(restarted)).await;
    let s = status(restarted).await;
    assert_eq!(s.revision, "rev-b");
    assert!(s.from_cache, "{s:?}");
    assert_eq!(decided_revision(restarted).await, "rev-b");
    eventually("the restarted replica tried the source", || async {
        !status(restarted).await.last_reload_error.is_empty()
    })
    .await;
    assert!(status(restarted).await.from_cache);

    // The source returns with a new revision: all follow, none from cache.
    source.publish(demo("rev-c"));
    source.resume().await;
    for r in &replicas {
        wait_for_revision(&r.channel, "rev-c", &["rev-b"], Instant::now() + DEADLINE).await;
        let s = status(&r.channel).await;
        assert!(!s.from_cache, "{s:?}");
        assert!(s.last_reload_error.is_empty(), "{s:?}");
    }
    assert_eq!(source.ok(), 9);

    // The logs say where the restarted replica's bundle came from, and no
    // log holds the token.
    let restarted_log = fs::read_to_string(&replicas[0].log).expect("log");
    assert!(
        restarted_log.contains("activating the cached bundle"),
        "{restarted_log}"
    );
    for r in &replicas {
        let log = fs::read_to_string(&r.log).expect("log");
        assert!(!log.contains(TOKEN), "the token was logged: {log}");
    }
}

/// Runs `tollgate serve` with `args`, expecting it to refuse them before
/// binding; its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("run tollgate serve");
    assert_eq!(out.status.code(), Some(64), "bad configuration: {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn remote_flags_that_do_not_fit_are_refused_before_binding() {
    let err = refused(&["--bundle", "bundles/demo", "--bundle-cache", "/tmp/x"]);
    assert!(
        err.contains("--bundle-cache needs `--bundle` to be an http(s) URL"),
        "{err}"
    );
    let err = refused(&["--bundle-token-file", "/tmp/token"]);
    assert!(err.contains("--bundle-token-file needs"), "{err}");
    let err = refused(&["--bundle-download-timeout", "5s"]);
    assert!(err.contains("--bundle-download-timeout needs"), "{err}");
    let err = refused(&[
        "--bundle",
        "http://127.0.0.1:9/b.tar.gz",
        "--bundle-poll-min",
        "1m",
        "--bundle-poll-max",
        "10s",
    ]);
    assert!(
        err.contains("--bundle-poll-min (60s) is longer than --bundle-poll-max (10s)"),
        "{err}"
    );
    let err = refused(&["--bundle", "https://"]);
    assert!(err.contains("is not a valid URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_polls_the_source_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = Source::start().await;
    source.publish(demo("rev-a"));
    // No poll would come before the test's deadline: only SIGHUP can.
    let replica = Replica::spawn(
        dir.path(),
        "hup",
        &[
            "--bundle",
            &source.url(),
            "--bundle-poll-min",
            "10m",
            "--bundle-poll-max",
            "10m",
        ],
    )
    .await;
    let channel = &replica.channel;
    wait_for_revision(channel, "rev-a", &[], Instant::now() + DEADLINE).await;
    source.publish(demo("rev-b"));
    let sent = Command::new("kill")
        .args(["-HUP", &replica.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -HUP");
    wait_for_revision(channel, "rev-b", &["rev-a"], Instant::now() + DEADLINE).await;
}
