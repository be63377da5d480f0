//! `tollgate-bench` as a process against a TLS server and a mutual-TLS
//! server with a caller policy, each in this process on port 0.

use std::{net::SocketAddr, path::Path, process::Output};

use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot};
use tollgate::{
    app::ServeOptions,
    grpc::{ServerOptions, TlsFiles, TlsSettings, callers::CallerPolicy},
    reload::BundleSource,
};

use crate::{
    gen_certs::{CLIENT_IDENTITY, write_all},
    report,
};

/// Calls each run makes.
const REQUESTS: u64 = 400;

/// The certificates of `examples/gen-certs.rs`, in a temporary directory.
fn certificates() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    write_all(dir.path()).expect("write the certificates");
    dir
}

/// A TLS server for `dir`'s certificates; with `mtls`, client certificates
/// signed by the same CA are required and the caller policy lets only the
/// load generator's identity call the decision RPCs. Stopped when the
/// sender is dropped.
async fn tls_server(dir: &Path, mtls: bool) -> (SocketAddr, oneshot::Sender<()>) {
    let files = TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
        client_ca: mtls.then(|| dir.join("ca.crt")),
    };
    let policy = mtls.then(|| {
        let text = format!(
            "callers:\n  - identity: \"{CLIENT_IDENTITY}\"\n    rpcs: [\"tollgate.v1.DecisionService/*\"]\n"
        );
        CallerPolicy::parse(&text, "policy.yaml").expect("a caller policy")
    });
    let tls = TlsSettings::load(files, policy).expect("TLS settings");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    let (tx, rx) = oneshot::channel::<()>();
    let options = ServeOptions {
        server: ServerOptions {
            tls: Some(tls),
            ..ServerOptions::default()
        },
        ..ServeOptions::default()
    };
    // The listener is bound and the bundle is loaded before anything is
    // served, so the load generator's first connection is answered.
    tokio::spawn(tollgate::app::serve_with(
        listener,
        BundleSource::Embedded,
        None,
        options,
        async move {
            let _ = rx.await;
        },
    ));
    (addr, tx)
}

/// Runs `tollgate-bench --json` against `target` with `flags`.
async fn bench(target: String, flags: Vec<String>) -> Output {
    let mut args: Vec<String> = ["--json", "--warmup", "0", "--connections", "3"]
        .map(str::to_owned)
        .to_vec();
    args.extend(["--concurrency".to_owned(), "12".to_owned()]);
    args.extend(["--requests".to_owned(), REQUESTS.to_string()]);
    args.extend(["--target".to_owned(), target]);
    args.extend(flags);
    crate::bench(args).await
}

fn path(dir: &TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_drives_a_tls_server() {
    let certs = certificates();
    let (addr, _stop) = tls_server(certs.path(), false).await;
    // The host is an IP address; the server certificate names it.
    let out = bench(
        format!("https://{addr}"),
        vec!["--tls-ca".into(), path(&certs, "ca.crt")],
    )
    .await;
    let json = report(&out);
    assert_eq!(json["requests"], REQUESTS, "{json}");
    assert_eq!(json["ok"], REQUESTS, "{json}");
    assert_eq!(json["errors"], serde_json::json!({}), "{json}");
    assert_eq!(json["target"], format!("https://{addr}"), "{json}");

    // The same server, not trusted: no report, a failure.
    let other = certificates();
    let refused = bench(
        format!("https://{addr}"),
        vec!["--tls-ca".into(), path(&other, "ca.crt")],
    )
    .await;
    assert!(!refused.status.success(), "an untrusted server was driven");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_drives_a_mutual_tls_server_as_an_allowed_caller() {
    let certs = certificates();
    let (addr, _stop) = tls_server(certs.path(), true).await;
    // The certificate is checked against the name given, not the address.
    let target = format!("https://{addr}");
    let ca = ["--tls-ca".to_owned(), path(&certs, "ca.crt")];
    let identity = [
        "--tls-cert".to_owned(),
        path(&certs, "client.crt"),
        "--tls-key".to_owned(),
        path(&certs, "client.key"),
        "--tls-server-name".to_owned(),
        "localhost".to_owned(),
    ];
    let out = bench(target.clone(), [&ca[..], &identity[..]].concat()).await;
    let json = report(&out);
    assert_eq!(json["requests"], REQUESTS, "{json}");
    assert_eq!(json["ok"], REQUESTS, "{json}");
    assert_eq!(json["errors"], serde_json::json!({}), "{json}");

    // Without a client certificate the server refuses the load generator.
    let anonymous = bench(target, ca.to_vec()).await;
    assert!(
        !anonymous.status.success(),
        "a client without a certificate was served: {}",
        String::from_utf8_lossy(&anonymous.stdout)
    );
}
