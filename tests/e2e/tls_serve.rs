//! `tollgate serve` as a process with the TLS settings in its config file
//! (one from its `TOLLGATE_*` variable, the caller policy inline): mutual
//! TLS and the caller policy are wired in, and a missing file stops it with
//! exit code 64 and a message naming the flag and file.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    pki::{Pki, check_health, connect, write},
    tls::{BILLING, POLICY, assert_denied, plan_change, status},
};

/// Starting a debug binary (it compiles the demo bundle) takes a moment; a
/// bound against hanging, not a speed requirement.
const START: Duration = Duration::from_secs(20);

/// The server process, killed when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_takes_tls_settings_from_its_config_file_and_environment() {
    let pki = Pki::new();
    let files = pki.files(true);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let client_ca = files.client_ca.as_ref().expect("a client CA");
    // The caller policy inline, under `callers:`, after the flags' keys.
    let config = format!(
        "listen: 127.0.0.1:{port}\nadmin-listen: \"off\"\ntls-cert: {}\ntls-key: {}\n{POLICY}",
        files.cert.display(),
        files.key.display(),
    );
    let config = write(pki.dir.path(), "tollgate.yaml", &config);
    let _serve = Serve(
        Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("TOLLGATE_CLIENT_CA", client_ca)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tollgate serve"),
    );
    let billing = pki.ca.client(&[BILLING], &[]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let give_up = Instant::now() + START;
    let channel = loop {
        let ready = async {
            let channel = connect(addr, &pki.ca.pem, Some(&billing)).await?;
            check_health(channel.clone()).await.map(|()| channel)
        };
        match ready.await {
            Ok(channel) => break channel,
            Err(last) => assert!(Instant::now() < give_up, "never served: {last}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    plan_change(channel.clone())
        .await
        .expect("billing may decide");
    let rpc = "BundleService/GetBundleStatus";
    assert_denied(status(channel).await, BILLING, rpc);
}

#[test]
fn a_missing_certificate_stops_serve_naming_the_flag_and_file() {
    let pki = Pki::new();
    let key = pki.files(false).key;
    let missing = pki.dir.path().join("missing.crt");
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&missing)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .expect("run tollgate serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "bad configuration: {stderr}");
    let want = format!("--tls-cert `{}`: cannot read", missing.display());
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!stderr.contains("serving gRPC"), "{stderr}");
}
