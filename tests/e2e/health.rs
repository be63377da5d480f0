//! gRPC health (readiness follows the active bundle) and shutdown.

use tollgate::grpc::pb;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::{BundleDir, DEADLINE, Server, demo_file, demo_line, eventually_eq, request};

#[tokio::test]
async fn health_is_serving_for_the_server_and_each_service_with_the_demo_bundle() {
    let server = Server::embedded().await;
    for service in [
        "",
        "tollgate.v1.DecisionService",
        "tollgate.v1.BundleService",
    ] {
        let health = server.health_of(service).await.map_err(|s| s.code());
        assert_eq!(health, Ok(ServingStatus::Serving), "service `{service}`");
    }
}

#[tokio::test]
async fn health_of_an_unknown_service_is_not_found() {
    let server = Server::embedded().await;
    let err = server
        .health_of("tollgate.v1.NoSuchService")
        .await
        .expect_err("unknown service");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn broken_bundle_dir_is_not_serving_until_a_good_bundle_appears() {
    let dir = BundleDir::demo();
    let broken = demo_file("plan_change.yaml").replace(
        "    when: change.upgrade\n",
        "    when: change.upgrade &&\n",
    );
    dir.write("plan_change.yaml", &broken);
    let server = Server::at(dir.path()).await;

    let mut watch = server.watch_health().await;
    let first = watch.message().await.expect("watch").expect("a status");
    assert_eq!(first.status(), ServingStatus::NotServing);
    let decisions = async || {
        let health = server.health_of("tollgate.v1.DecisionService").await;
        health.map_err(|s| s.code())
    };
    assert_eq!(decisions().await, Ok(ServingStatus::NotServing));
    let err = server.decide_err(request("free", "standard")).await;
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    let status = server.status().await;
    assert_eq!(status.revision, "");
    assert!(
        status
            .last_reload_error
            .contains(&demo_line("plan_change.yaml", "    when: change.upgrade")),
        "{status:?}"
    );

    dir.write("plan_change.yaml", &demo_file("plan_change.yaml"));
    let serving = async {
        loop {
            let next = watch.message().await.expect("watch").expect("a status");
            match next.status() {
                ServingStatus::NotServing => {}
                other => return other,
            }
        }
    };
    let next = tokio::time::timeout(DEADLINE, serving)
        .await
        .expect("health changes after the fix");
    assert_eq!(next, ServingStatus::Serving);
    eventually_eq(
        "DecisionService serving",
        Ok(ServingStatus::Serving),
        decisions,
    )
    .await;
    let d = server.decide(request("free", "standard")).await;
    assert_eq!(d.verdict(), pb::Verdict::Allow, "{d:#?}");
    assert_eq!(server.status().await.last_reload_error, "");
}

#[tokio::test]
async fn resolving_the_shutdown_future_stops_the_server() {
    let server = Server::embedded().await;
    let channel = server.channel();
    server.stop().await.expect("serve_on returns Ok");
    let mut client = pb::bundle_service_client::BundleServiceClient::new(channel);
    let err = client
        .get_bundle_status(pb::GetBundleStatusRequest {})
        .await
        .expect_err("no server any more");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
