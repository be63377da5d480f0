//! A tiny HTTP/1.1 client for the admin port (one request per connection) and a
//! reader of the text expositions it serves (0.0.4 and OpenMetrics). Shared with `tests/admin_cli.rs`.

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// A bound against hanging, not a speed requirement.
const BOUND: Duration = Duration::from_secs(10);

/// An answer from the admin port.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The `content-type` header, empty when absent.
    pub content_type: String,
    /// The body as text.
    pub body: String,
}

/// `GET path` from `addr` over a fresh connection; `Err` when the
/// connection fails, so a caller can wait for the port to come up.
pub async fn get(addr: SocketAddr, path: &str) -> Result<Answer, String> {
    get_accepting(addr, path, None).await
}

/// [`get`] with an `Accept` header, when `accept` is given.
pub async fn get_accepting(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> Result<Answer, String> {
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    exchange(addr, &format!("GET {path}"), &accept, b"").await
}

/// `POST path` of `body` to `addr` over a fresh connection.
#[allow(
    dead_code,
    reason = "tests/playground.rs posts; the other users only get"
)]
pub async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Result<Answer, String> {
    let length = format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    exchange(addr, &format!("POST {path}"), &length, body).await
}

/// Sends `what` (`GET /path`) with `headers` (each ending in CRLF) and
/// `body`, and reads the answer to the end of the connection.
async fn exchange(
    addr: SocketAddr,
    what: &str,
    headers: &str,
    body: &[u8],
) -> Result<Answer, String> {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await?;
        let request =
            format!("{what} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await?;
        // A server may answer (413) and close before reading a large body.
        let _ = tcp.write_all(body).await;
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let path = what;
    let raw = tokio::time::timeout(BOUND, exchange)
        .await
        .map_err(|_| format!("{path}: no answer within {BOUND:?}"))?
        .map_err(|e| format!("{path}: {e}"))?;
    let text = String::from_utf8(raw).map_err(|e| format!("{path}: not UTF-8: {e}"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{path}: no end of headers in {text:?}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{path}: no status line in {head:?}"))?;
    let mut content_type = String::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name = name.to_ascii_lowercase();
        // Bodies here have a length; a chunked one would need decoding.
        assert!(
            !(name == "transfer-encoding" && value.contains("chunked")),
            "{path}: a chunked body"
        );
        if name == "content-type" {
            value.trim().clone_into(&mut content_type);
        }
    }
    Ok(Answer {
        status,
        content_type,
        body: body.to_owned(),
    })
}

/// One sample of an exposition: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name (`tollgate_decisions_total`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// The samples of an OpenMetrics text exposition. Label values here never
/// hold `,`, `"` or `}`, which keeps the reading simple.
pub fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("`label=\"value\"`");
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value: value.parse().expect("a number"),
        });
    }
    out
}

/// The value of the one sample of `name` whose labels include `labels`;
/// `None` when there is none.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<Sample> = samples(text)
        .into_iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map(|s| s.value)
}
