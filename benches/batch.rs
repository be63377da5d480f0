//! Throughput of `DecidePlanChanges` (one stream) against unary
//! `DecidePlanChange` calls (64 in flight over 4 connections), on the same
//! server, same requests. The server runs in-process on 127.0.0.1, so client
//! and server share the machine: read the ratio, not the absolute figures.
//!
//! `cargo bench --bench batch [-- REQUESTS]`

#![allow(clippy::expect_used, clippy::indexing_slicing, reason = "bench code")]

use std::{collections::BTreeMap, time::Instant};

use tokio::sync::oneshot;
use tollgate::{
    grpc::pb::{self, decision_service_client::DecisionServiceClient},
    reload::BundleSource,
};
use tonic::transport::{Channel, Endpoint};

fn requests(n: usize) -> Vec<pb::PlanChangeRequest> {
    let pairs = [
        ("free", "standard"),
        ("premium", "standard"),
        ("standard", "free"),
        ("premium", "enterprise"),
    ];
    (0..n)
        .map(|i| {
            let (from, to) = pairs[i % pairs.len()];
            #[expect(clippy::cast_precision_loss, reason = "small numbers")]
            let users = (i % 60) as f64;
            pb::PlanChangeRequest {
                tenant_id: format!("tenant-{i}"),
                from_plan: from.to_owned(),
                to_plan: to.to_owned(),
                requester: Some(pb::Requester {
                    role: pb::RequesterRole::Reseller.into(),
                    id: "r-1".to_owned(),
                }),
                usage: BTreeMap::from([
                    ("users".to_owned(), users),
                    ("storage_gb".to_owned(), 0.5),
                ]),
                ..Default::default()
            }
        })
        .collect()
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(tollgate::app::serve_on(
        listener,
        BundleSource::Embedded,
        None,
        async {
            let _ = stopped.await;
        },
    ));
    let reqs = requests(n);

    // Warm up both paths.
    let mut client = DecisionServiceClient::new(channel(addr).await);
    for r in reqs.iter().take(2_000) {
        client.decide_plan_change(r.clone()).await.expect("unary");
    }

    // Unary: 64 calls in flight over 4 connections.
    let connections = [
        channel(addr).await,
        channel(addr).await,
        channel(addr).await,
        channel(addr).await,
    ];
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..64 {
        let mut client = DecisionServiceClient::new(connections[t % 4].clone());
        let mine: Vec<_> = reqs.iter().skip(t).step_by(64).cloned().collect();
        tasks.push(tokio::spawn(async move {
            for r in mine {
                client.decide_plan_change(r).await.expect("unary");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let unary = start.elapsed();

    // One stream carrying every request.
    let start = Instant::now();
    let mut results = client
        .decide_plan_changes(tokio_stream::iter(reqs.clone()))
        .await
        .expect("stream")
        .into_inner();
    let mut count = 0;
    while let Some(_r) = results.message().await.expect("result") {
        count += 1;
    }
    let stream = start.elapsed();
    assert_eq!(count, n);

    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    let (u, s) = (rate(unary), rate(stream));
    println!(
        "{{\"requests\": {n}, \"unary_per_s\": {u:.0}, \"stream_per_s\": {s:.0}, \"stream_over_unary\": {:.2}}}",
        s / u
    );
    let _ = stop.send(());
    let _ = server.await;
}
