//! One in-process server on a URL source: the bearer token is read from
//! its file for every request, an oversize download is refused, and a bad
//! bundle is refused once and not downloaded again; in every case the
//! active bundle keeps serving.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::oneshot};
use tollgate::{
    app::ServeOptions,
    reload::{BundleSource, RemoteSource},
};
use tonic::transport::Channel;

use crate::{
    DEADLINE, decided_revision, eventually,
    source::{Source, demo, demo_files, tar_gz},
    status,
    support::connect,
    wait_for_revision,
};

/// A Tollgate server in this process, stopped when dropped.
pub(crate) struct Server {
    pub(crate) channel: Channel,
    _stop: oneshot::Sender<()>,
}

pub(crate) fn remote(url: &str) -> RemoteSource {
    RemoteSource {
        url: url.parse().expect("url"),
        cache: None,
        poll_min: Duration::from_millis(100),
        poll_max: Duration::from_millis(400),
        token_file: None,
        max_bytes: 1024 * 1024,
        download_timeout: Duration::from_secs(5),
    }
}

/// Serves `source` in this process on a loopback port.
pub(crate) async fn serve(source: RemoteSource) -> Server {
    serve_with(source, ServeOptions::default()).await
}

/// [`serve`] with `options`.
pub(crate) async fn serve_with(source: RemoteSource, options: ServeOptions) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(tollgate::app::serve_with(
        listener,
        BundleSource::Remote(source),
        None,
        options,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        channel: connect(port).await,
        _stop: stop,
    }
}

pub(crate) async fn wait_for_error(channel: &Channel, part: &str) -> String {
    eventually(&format!("a reload error with `{part}`"), || async {
        status(channel).await.last_reload_error.contains(part)
    })
    .await;
    status(channel).await.last_reload_error
}

#[tokio::test]
async fn the_bearer_token_is_read_from_its_file_for_every_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file: PathBuf = dir.path().join("token");
    std::fs::write(&token_file, "first-token\n").expect("token");
    let source = Source::start().await;
    source.require_token("first-token");
    source.publish(demo("rev-a"));
    let server = serve(RemoteSource {
        token_file: Some(token_file.clone()),
        ..remote(&source.url())
    })
    .await;
    wait_for_revision(&server.channel, "rev-a", &[], Instant::now() + DEADLINE).await;

    // Rotation: the new token is used from the next request on.
    std::fs::write(&token_file, "second-token").expect("token");
    source.require_token("second-token");
    source.publish(demo("rev-b"));
    wait_for_revision(
        &server.channel,
        "rev-b",
        &["rev-a"],
        Instant::now() + DEADLINE,
    )
    .await;
    assert_eq!(source.unauthorized(), 0);

    // A token the source no longer takes: refused, the bundle stays.
    source.require_token("third-token");
    source.publish(demo("rev-c"));
    let error = wait_for_error(&server.channel, "401").await;
    assert!(!error.contains("second-token"), "{error}");
    assert_eq!(decided_revision(&server.channel).await, "rev-b");
}

#[tokio::test]
async fn an_oversize_download_is_refused_and_the_active_bundle_keeps_serving() {
    let source = Source::start().await;
    let small = demo("rev-a");
    source.publish(small.clone());
    let server = serve(RemoteSource {
        max_bytes: small.len() as u64 + 4096,
        ..remote(&source.url())
    })
    .await;
    wait_for_revision(&server.channel, "rev-a", &[], Instant::now() + DEADLINE).await;

    // Incompressible padding (a file the bundle reader would skip) makes
    // the archive too large; only the size limit can refuse it.
    let mut files = demo_files("rev-b");
    files.insert("padding.bin".to_owned(), noise(64 * 1024));
    source.publish(tar_gz(&files));
    let error = wait_for_error(&server.channel, "larger than").await;
    assert!(error.contains("--bundle-max-bytes"), "{error}");
    assert_eq!(status(&server.channel).await.revision, "rev-a");
    assert_eq!(decided_revision(&server.channel).await, "rev-a");

    // Back within the limit: followed again.
    source.publish(demo("rev-c"));
    wait_for_revision(
        &server.channel,
        "rev-c",
        &["rev-a"],
        Instant::now() + DEADLINE,
    )
    .await;
}

#[tokio::test]
async fn a_bad_bundle_keeps_the_active_one_and_is_not_downloaded_again() {
    let source = Source::start().await;
    source.publish(demo("rev-a"));
    let server = serve(remote(&source.url())).await;
    wait_for_revision(&server.channel, "rev-a", &[], Instant::now() + DEADLINE).await;

    let mut files = demo_files("rev-bad");
    files.insert(
        "plans.yaml".to_owned(),
        b"plans:\n  - id: [not, a, plan\n".to_vec(),
    );
    source.publish(tar_gz(&files));
    let error = wait_for_error(&server.channel, "plans.yaml").await;
    assert_eq!(status(&server.channel).await.revision, "rev-a", "{error}");
    assert_eq!(decided_revision(&server.channel).await, "rev-a");

    // Later polls carry the bad archive's ETag: 304s, no new download, and
    // the error stays until the source offers something else.
    let downloads = source.ok();
    let not_modified = source.not_modified();
    eventually("two more polls", || async {
        source.not_modified() >= not_modified + 2
    })
    .await;
    assert_eq!(source.ok(), downloads);
    assert!(
        status(&server.channel)
            .await
            .last_reload_error
            .contains("plans.yaml")
    );

    source.publish(demo("rev-c"));
    wait_for_revision(
        &server.channel,
        "rev-c",
        &["rev-a"],
        Instant::now() + DEADLINE,
    )
    .await;
    assert!(status(&server.channel).await.last_reload_error.is_empty());
}

/// Bytes that do not compress (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
