//! `/healthz` and `/readyz` on the admin port, and gRPC health following the
//! same readiness rule: a bundle is active and, with a maximum age, fresh.

use std::time::Duration;

use tollgate::{app::ServeOptions, grpc::ServerOptions, reload::BundleSource};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    http::value,
    support::{
        BundleDir, DEADLINE, Server, demo_file, eventually, eventually_eq, request,
        wait_for_revision,
    },
};

fn counter(text: &str, name: &str) -> f64 {
    value(text, name, &[]).unwrap_or_else(|| panic!("no `{name}` in:\n{text}"))
}

async fn health(server: &Server) -> ServingStatus {
    server.health_of("").await.expect("Health/Check")
}

/// Waits for `/readyz` to answer `want`, and returns its answer.
async fn readyz_becomes(server: &Server, want: u16) -> crate::http::Answer {
    eventually(&format!("/readyz {want}"), async || {
        let readyz = server.get("/readyz").await;
        if readyz.status == want {
            Ok(readyz)
        } else {
            Err(format!("{readyz:?}"))
        }
    })
    .await
}

#[tokio::test]
async fn healthz_is_always_ok_and_readyz_waits_for_a_bundle() {
    let dir = BundleDir::demo();
    dir.write("plan_change.yaml", "rules: [\n");
    let server = Server::with_admin(
        BundleSource::Path(dir.path().to_path_buf()),
        ServeOptions::default(),
    )
    .await;
    let healthz = server.get("/healthz").await;
    assert_eq!(healthz.status, 200, "{healthz:?}");
    let readyz = server.get("/readyz").await;
    assert_eq!(readyz.status, 503, "{readyz:?}");
    assert!(readyz.content_type.starts_with("text/plain"), "{readyz:?}");
    assert_eq!(readyz.body, "not ready: no bundle is active\n");
    assert_eq!(health(&server).await, ServingStatus::NotServing);
    let text = server.scrape().await;
    assert_eq!(value(&text, "tollgate_bundle_info", &[]), None, "{text}");

    dir.write("plan_change.yaml", &demo_file("plan_change.yaml"));
    assert_eq!(readyz_becomes(&server, 200).await.body, "ready\n");
    assert_eq!(server.get("/healthz").await.status, 200);
    assert_eq!(server.get("/nothing-here").await.status, 404);
}

/// Waits for gRPC health (the server as a whole) to report `want`.
async fn health_becomes(server: &Server, want: ServingStatus) {
    eventually_eq(&format!("gRPC health {want:?}"), want, async || {
        health(server).await
    })
    .await;
}

/// A server on a copy of the demo bundle with `--max-bundle-age 1s` and no
/// polling: only a change of the files confirms the bundle.
async fn one_second_bundles() -> (BundleDir, Server) {
    let dir = BundleDir::demo();
    let options = ServeOptions {
        server: ServerOptions {
            max_bundle_age: Some(Duration::from_secs(1)),
            ..ServerOptions::default()
        },
        ..ServeOptions::default()
    };
    let server = Server::with_admin(BundleSource::Path(dir.path().to_path_buf()), options).await;
    (dir, server)
}

#[tokio::test]
async fn a_bundle_older_than_the_maximum_age_is_not_ready_until_a_new_one_loads() {
    let (dir, server) = one_second_bundles().await;
    let mut watch = server.watch_health().await;
    let stale = readyz_becomes(&server, 503).await;
    assert!(
        stale.body.contains("longer than --max-bundle-age 1s"),
        "{stale:?}"
    );
    let age = counter(&server.scrape().await, "tollgate_bundle_age_seconds");
    assert!(age > 1.0, "stale, so older than 1 s: {age}");
    health_becomes(&server, ServingStatus::NotServing).await;
    // Stale bundles keep answering: readiness only steers traffic away.
    server.decide(request("free", "standard")).await;

    dir.set_revision("2026-12-01.1");
    wait_for_revision(&server, "2026-12-01.1").await;
    // The watch sees every change, so a new bundle turning stale again a
    // second later cannot hide that it was SERVING.
    let mut seen = Vec::new();
    let serving = async {
        while let Some(update) = watch.message().await.expect("watch") {
            seen.push(update.status());
            if seen.ends_with(&[ServingStatus::NotServing, ServingStatus::Serving]) {
                return;
            }
        }
    };
    tokio::time::timeout(DEADLINE, serving)
        .await
        .unwrap_or_else(|_| panic!("health did not go back to SERVING: {seen:?}"));
}

#[tokio::test]
async fn the_admin_port_stops_with_the_server() {
    let server = Server::with_admin(BundleSource::Embedded, ServeOptions::default()).await;
    let admin = server.admin();
    assert_eq!(server.get("/healthz").await.status, 200);
    server.stop().await.expect("serve_with returns Ok");
    let after = crate::http::get(admin, "/healthz").await;
    assert!(after.is_err(), "answered after shutdown: {after:?}");
}

#[tokio::test]
async fn a_bundle_its_source_re_confirms_unchanged_is_ready_again() {
    let (dir, server) = one_second_bundles().await;
    let revision = server.status().await.revision;
    readyz_becomes(&server, 503).await;
    health_becomes(&server, ServingStatus::NotServing).await;
    // Watched from here: a re-confirmed bundle turns stale again a second
    // later, which a single check could miss.
    let mut watch = server.watch_health().await;
    // The same bytes written again: the watcher re-reads them, the digest
    // is unchanged, nothing is swapped, and the source has confirmed the
    // active bundle current.
    let same = dir.read("bundle.yaml");
    dir.write("bundle.yaml", &same);
    readyz_becomes(&server, 200).await;
    // gRPC health follows the same confirmation, not only new revisions.
    let serving = async {
        while let Some(update) = watch.message().await.expect("watch") {
            if update.status() == ServingStatus::Serving {
                return;
            }
        }
    };
    tokio::time::timeout(DEADLINE, serving)
        .await
        .expect("gRPC health back to SERVING after the source re-confirmed the bundle");
    let status = server.status().await;
    assert_eq!(status.revision, revision);
    assert!(status.last_reload_error.is_empty(), "{status:?}");
}
