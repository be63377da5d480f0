//! Certificates for the TLS tests, made with rcgen at test time: CAs,
//! server and client certificates; a Kubernetes-style secret directory
//! whose `..data` symlink is swapped on rotation; and a TLS server with
//! clients that trust, or present, what a test says.

use std::{
    fs,
    net::SocketAddr,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tollgate::{
    app::ServeOptions,
    decision_log::DecisionLog,
    grpc::{ServerOptions, TlsFiles, TlsSettings},
    reload::BundleSource,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::support::{Running, eventually};

/// A certificate authority.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, PEM.
    pub pem: String,
}

/// A certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let pem = params.self_signed(&key).expect("self-signed CA").pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate naming `uris` and `dns` in its SANs.
    pub fn client(&self, uris: &[&str], dns: &[&str]) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().expect("IA5 URI")));
        }
        for name in dns {
            params
                .subject_alt_names
                .push(SanType::DnsName((*name).try_into().expect("IA5 name")));
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, mut params: CertificateParams) -> Leaf {
        params
            .distinguished_name
            .push(DnType::CommonName, "tollgate test");
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A CA, a server certificate it signed, and the files in a directory.
pub struct Pki {
    pub ca: Ca,
    pub server: Leaf,
    pub dir: TempDir,
}

impl Pki {
    pub fn new() -> Self {
        let ca = Ca::new("tollgate test ca");
        let server = ca.server();
        Self {
            ca,
            server,
            dir: TempDir::new().expect("temp dir"),
        }
    }

    /// The server's files; with `mtls`, client certificates signed by the
    /// same CA are required.
    pub fn files(&self, mtls: bool) -> TlsFiles {
        TlsFiles {
            cert: write(self.dir.path(), "tls.crt", &self.server.cert),
            key: write(self.dir.path(), "tls.key", &self.server.key),
            client_ca: mtls.then(|| write(self.dir.path(), "ca.crt", &self.ca.pem)),
        }
    }
}

/// A directory laid out like a mounted Kubernetes secret:
/// `tls.crt -> ..data/tls.crt`, `..data -> ..<version>/`.
pub struct SecretDir {
    dir: TempDir,
    version: AtomicU32,
}

impl SecretDir {
    /// A secret holding the server's `leaf` and, as `ca.crt`, `client_ca`.
    pub fn new(leaf: &Leaf, client_ca: &str) -> Self {
        let secret = Self {
            dir: TempDir::new().expect("temp dir"),
            version: AtomicU32::new(0),
        };
        secret.publish(leaf, client_ca);
        for name in ["tls.crt", "tls.key", "ca.crt"] {
            symlink(format!("..data/{name}"), secret.path(name)).expect("file symlink");
        }
        secret
    }

    /// Writes a new version and switches `..data` to it in one rename, as
    /// the kubelet does.
    pub fn publish(&self, leaf: &Leaf, client_ca: &str) {
        let version = format!("..v{}", self.version.fetch_add(1, Ordering::Relaxed));
        let dir = self.dir.path().join(&version);
        fs::create_dir(&dir).expect("version dir");
        fs::write(dir.join("tls.crt"), &leaf.cert).expect("write tls.crt");
        fs::write(dir.join("tls.key"), &leaf.key).expect("write tls.key");
        fs::write(dir.join("ca.crt"), client_ca).expect("write ca.crt");
        let tmp = self.dir.path().join("..data_tmp");
        symlink(&version, &tmp).expect("..data_tmp symlink");
        fs::rename(&tmp, self.dir.path().join("..data")).expect("swap ..data");
    }

    /// A file of the secret, as the server is told it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A TLS server on 127.0.0.1 serving the demo bundle; stopped when dropped.
pub struct TlsServer {
    pub addr: SocketAddr,
    /// The admin HTTP port (plaintext), for `/metrics`.
    pub admin: SocketAddr,
    running: Running,
}

impl TlsServer {
    /// Starts the server; ready once a client trusting `ca` (presenting
    /// `identity`, if any) passes a health check.
    pub async fn start(
        tls: TlsSettings,
        log: DecisionLog,
        ca: &str,
        identity: Option<&Leaf>,
    ) -> Self {
        let server = ServerOptions {
            tls: Some(tls),
            ..ServerOptions::default()
        };
        Self::start_with(server, log, ca, identity).await
    }

    /// Starts the server with these transport settings (TLS among them).
    pub async fn start_with(
        server: ServerOptions,
        log: DecisionLog,
        ca: &str,
        identity: Option<&Leaf>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let admin_addr = admin.local_addr().expect("local address");
        let options = ServeOptions {
            decision_log: log,
            server,
            admin: Some(admin),
            ..ServeOptions::default()
        };
        let server = Self {
            addr,
            admin: admin_addr,
            running: Running::spawn(listener, BundleSource::Embedded, options),
        };
        eventually("a TLS health check", async || {
            server.check(ca, identity).await
        })
        .await;
        server
    }

    /// A new connection trusting `ca`, presenting `identity` if given.
    pub async fn connect(&self, ca: &str, identity: Option<&Leaf>) -> Result<Channel, String> {
        connect(self.addr, ca, identity).await
    }

    /// A health check on a new connection trusting `ca`, presenting
    /// `identity` if given: `Ok` once it answers SERVING. A refused client
    /// certificate may surface at connect or at the call (TLS 1.3 reports
    /// it after the client's side of the handshake), an `Err` either way.
    pub async fn check(&self, ca: &str, identity: Option<&Leaf>) -> Result<(), String> {
        check_health(self.connect(ca, identity).await?).await
    }

    /// Resolves the shutdown future and waits for the server to return.
    pub async fn stop(self) {
        self.running.stop().await.expect("served without error");
    }
}

/// A new connection to `addr` trusting `ca` for `localhost`, presenting
/// `identity` if given.
pub async fn connect(
    addr: SocketAddr,
    ca: &str,
    identity: Option<&Leaf>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("client TLS config")
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// A health check on `channel`: `Ok` once it answers SERVING.
pub async fn check_health(channel: Channel) -> Result<(), String> {
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map_err(|s| format!("{s:?}"))?;
    match reply.into_inner().status() {
        tonic_health::pb::health_check_response::ServingStatus::Serving => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// A file with `text` in `dir`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write a file");
    path
}
