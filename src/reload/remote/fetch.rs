//! One conditional GET of a remote bundle: `If-None-Match` with the last
//! ETag, an optional bearer token read from its file for every request (so
//! a rotated token is used at once), a size limit enforced while the body
//! streams in, and a bound on the whole request's time (a source that sends
//! a byte a second is cut off, not waited for until the next poll is due).
//! The token never appears in a message or a log.

use std::{path::PathBuf, sync::Arc, time::Duration};

use reqwest::{
    StatusCode, Url,
    header::{AUTHORIZATION, ETAG, HeaderValue, IF_NONE_MATCH},
};

use super::RemoteSource;
use crate::reload::{SourceError, StartError, TokenProblem};

/// The longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a whole request may take, download included, whatever
/// `--bundle-download-timeout` says.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the source answered.
pub(super) enum Fetched {
    /// 304: the bundle with the ETag we sent is still current.
    NotModified,
    /// 200: a bundle archive, and its ETag if the source gave one.
    Bundle {
        /// The archive's bytes.
        body: Vec<u8>,
        /// The `ETag` header, verbatim.
        etag: Option<String>,
    },
}

/// An HTTP client for one remote source.
pub(super) struct Fetcher {
    client: reqwest::Client,
    url: Url,
    shown: String,
    token_file: Option<PathBuf>,
    max_bytes: u64,
    download_timeout: Duration,
}

impl Fetcher {
    /// A client with rustls on the `ring` provider and the platform's
    /// trusted roots.
    pub(super) fn new(source: &RemoteSource) -> Result<Self, StartError> {
        use rustls_platform_verifier::BuilderVerifierExt as _;
        let shown = source.to_string();
        let tls_error = |error| StartError::Tls {
            shown: shown.clone(),
            error,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_platform_verifier()
            .map_err(tls_error)?
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| StartError::Client {
                shown: shown.clone(),
                error,
            })?;
        Ok(Self {
            client,
            url: source.url.clone(),
            shown,
            token_file: source.token_file.clone(),
            max_bytes: source.max_bytes,
            download_timeout: source.download_timeout.min(REQUEST_TIMEOUT),
        })
    }

    /// GETs the bundle, conditional on `etag` when there is one, within
    /// the download timeout.
    pub(super) async fn fetch(&self, etag: Option<&str>) -> Result<Fetched, SourceError> {
        tokio::time::timeout(self.download_timeout, self.get(etag))
            .await
            .unwrap_or_else(|_| {
                Err(SourceError::TooSlow {
                    url: self.shown.clone(),
                    limit: self.download_timeout,
                })
            })
    }

    async fn get(&self, etag: Option<&str>) -> Result<Fetched, SourceError> {
        let mut request = self.client.get(self.url.clone());
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(token) = self.token().await? {
            request = request.header(AUTHORIZATION, token);
        }
        let mut response = request.send().await.map_err(|e| self.request_error(&e))?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified),
            StatusCode::OK => {}
            status => {
                return Err(SourceError::Status {
                    url: self.shown.clone(),
                    status,
                });
            }
        }
        let too_large = || SourceError::TooLarge {
            url: self.shown.clone(),
            limit: self.max_bytes,
        };
        // A declared length over the limit is refused before any byte is
        // read; a missing or false one is caught while reading.
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(too_large());
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(ToOwned::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.request_error(&e))? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Bundle { body, etag })
    }

    /// `Bearer <token>` from the token file, read now, marked sensitive so
    /// that no debug output of the request shows it.
    async fn token(&self) -> Result<Option<HeaderValue>, SourceError> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let bad = |problem| SourceError::Token {
            path: path.display().to_string(),
            problem,
        };
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| bad(TokenProblem::Unreadable(e)))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(bad(TokenProblem::Empty));
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| bad(TokenProblem::NotAHeader))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// The error with its causes ("connection refused" is a cause), without
    /// the URL that reqwest would print in full: a query may hold a secret.
    fn request_error(&self, e: &reqwest::Error) -> SourceError {
        let mut why = if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "request failed".to_owned()
        };
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            why.push_str(": ");
            why.push_str(&c.to_string());
            cause = c.source();
        }
        SourceError::Request {
            url: self.shown.clone(),
            why,
        }
    }
}
