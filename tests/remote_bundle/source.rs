//! The bundle source of these tests: a real HTTP/1.1 server (hyper) on a
//! loopback port that serves one published `.tar.gz` with a strong ETag,
//! honours `If-None-Match`, can demand a bearer token, counts what it
//! answered, and can be stopped (connections refused) and started again on
//! the same port.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    fs,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use sha2::{Digest as _, Sha256};
use tokio::{net::TcpListener, task::JoinSet};

/// What the source answered, by kind.
#[derive(Debug, Default)]
struct Counts {
    ok: AtomicUsize,
    not_modified: AtomicUsize,
    unauthorized: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// The archive and its ETag.
    published: Mutex<Option<(Bytes, String)>>,
    /// The bearer token every request must carry, if any.
    token: Mutex<Option<String>>,
    counts: Counts,
}

/// The HTTP source, stopped when dropped.
pub struct Source {
    addr: SocketAddr,
    state: Arc<State>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Source {
    /// A source on a free loopback port, serving nothing yet (404).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(State::default());
        let task = tokio::spawn(accept(listener, state.clone()));
        Self {
            addr,
            state,
            task: Some(task),
        }
    }

    /// The archive's URL.
    pub fn url(&self) -> String {
        format!("http://{}/bundles/demo.tar.gz", self.addr)
    }

    /// Serves `archive` from now on, with a new strong ETag.
    pub fn publish(&self, archive: Vec<u8>) {
        let digest = Sha256::digest(&archive);
        let etag = format!("\"{}\"", hex(&digest[..8]));
        *self.state.published.lock().expect("lock") = Some((Bytes::from(archive), etag));
    }

    /// Demands `Authorization: Bearer <token>` from now on.
    pub fn require_token(&self, token: &str) {
        *self.state.token.lock().expect("lock") = Some(token.to_owned());
    }

    /// 200s answered so far: downloads.
    pub fn ok(&self) -> usize {
        self.state.counts.ok.load(Ordering::SeqCst)
    }

    /// 304s answered so far.
    pub fn not_modified(&self) -> usize {
        self.state.counts.not_modified.load(Ordering::SeqCst)
    }

    /// 401s answered so far.
    pub fn unauthorized(&self) -> usize {
        self.state.counts.unauthorized.load(Ordering::SeqCst)
    }

    /// Stops listening and drops every open connection: from now on a
    /// replica's poll finds the connection refused.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        assert!(self.task.is_none(), "the source is running");
        let listener = TcpListener::bind(self.addr).await.expect("bind again");
        self.task = Some(tokio::spawn(accept(listener, self.state.clone())));
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections; the connection tasks live in a `JoinSet`, so
/// aborting this task drops (and aborts) them all.
async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(answer(&state, &request)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

fn answer(state: &State, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let respond = |status: StatusCode| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = status;
        r
    };
    if let Some(token) = state.token.lock().expect("lock").as_deref() {
        let want = format!("Bearer {token}");
        if request.headers().get(header::AUTHORIZATION)
            != Some(&HeaderValue::from_str(&want).expect("header"))
        {
            state.counts.unauthorized.fetch_add(1, Ordering::SeqCst);
            return respond(StatusCode::UNAUTHORIZED);
        }
    }
    let Some((body, etag)) = state.published.lock().expect("lock").clone() else {
        return respond(StatusCode::NOT_FOUND);
    };
    let sent = request.headers().get(header::IF_NONE_MATCH);
    let mut response = if sent.is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        state.counts.not_modified.fetch_add(1, Ordering::SeqCst);
        respond(StatusCode::NOT_MODIFIED)
    } else {
        state.counts.ok.fetch_add(1, Ordering::SeqCst);
        Response::new(Full::new(body))
    };
    response
        .headers_mut()
        .insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo bundle's files, with `revision` in `bundle.yaml`.
pub fn demo_files(revision: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/demo");
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("list the demo bundle") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut content = fs::read_to_string(&path).expect("read");
        if name == "bundle.yaml" {
            let line = content
                .lines()
                .find(|l| l.starts_with("revision:"))
                .expect("a revision line")
                .to_owned();
            content = content.replace(&line, &format!("revision: \"{revision}\""));
        }
        files.insert(name, content.into_bytes());
    }
    files
}

/// A `.tar.gz` of `files`, under a `bundle/` directory.
pub fn tar_gz(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("bundle/{name}"), content.as_slice())
            .expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip")
}

/// The demo bundle as an archive, at `revision`.
pub fn demo(revision: &str) -> Vec<u8> {
    tar_gz(&demo_files(revision))
}
