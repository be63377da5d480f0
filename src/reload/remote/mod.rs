//! A bundle behind an `http://` or `https://` URL, for many replicas: one
//! task per process polls it with `If-None-Match`, so an unchanged bundle
//! costs a 304 and nothing else; a new archive goes through the store's
//! verified reload like any other; the last good archive is kept in
//! `--bundle-cache` for a restart while the source is down. Failures keep
//! the active bundle and back off (see [`backoff`]).

mod backoff;
mod cache;
mod fetch;

pub use cache::archive_in as cached_archive;

use std::{fmt, path::PathBuf, sync::Arc, time::Duration};

use reqwest::Url;
use tokio::sync::{mpsc, oneshot};

pub use self::fetch::REQUEST_TIMEOUT;
use self::{
    cache::Cache,
    fetch::{Fetched, Fetcher},
};
use super::{
    BundleStore, SourceError, StartError, source::read_archive, store::Origin, watch::spawn_sighup,
};

/// Where and how to poll a remote bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// The archive's URL.
    pub url: Url,
    /// Where the last good archive is kept, if anywhere.
    pub cache: Option<PathBuf>,
    /// The delay between polls while the source answers.
    pub poll_min: Duration,
    /// The longest delay between polls after failures.
    pub poll_max: Duration,
    /// A file holding a bearer token, read for every request.
    pub token_file: Option<PathBuf>,
    /// The largest archive downloaded, in bytes.
    pub max_bytes: u64,
    /// The longest one poll's request may take, download included: shorter
    /// than the poll interval, so a source that trickles bytes cannot hold
    /// back the polls after it.
    pub download_timeout: Duration,
}

/// The URL without credentials or query, which may hold secrets: this is
/// what logs and the bundle status show.
impl fmt::Display for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        // Only URLs that cannot carry credentials refuse these.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let query = shown.query().is_some();
        shown.set_query(None);
        shown.set_fragment(None);
        write!(f, "{shown}{}", if query { "?…" } else { "" })
    }
}

/// The polling task of a remote source.
struct Poller {
    store: Arc<BundleStore>,
    fetcher: Fetcher,
    cache: Option<Cache>,
    poll_min: Duration,
    poll_max: Duration,
    /// The ETag of the last archive downloaded, sent as `If-None-Match`.
    etag: Option<String>,
    /// Whether the archive with that ETag was refused, so a 304 for it
    /// means the source still offers a bad bundle.
    rejected: bool,
    /// Failed polls in a row.
    failures: u32,
}

/// How long the server's start waits for the first poll when there is no
/// cached bundle; after that it serves (NOT_SERVING until a bundle arrives).
const FIRST_POLL_WAIT: Duration = Duration::from_secs(10);

/// Starts polling the store's remote source. A cached bundle is activated
/// first; without one, the first poll is awaited (up to 10 s), so the
/// server starts with the bundle when the source is up. Aborting the task
/// stops polling.
pub(super) async fn start(
    store: Arc<BundleStore>,
    source: &RemoteSource,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let mut poller = Poller {
        fetcher: Fetcher::new(source)?,
        cache: source.cache.as_deref().map(|dir| Cache::new(dir, source)),
        poll_min: source.poll_min,
        poll_max: source.poll_max,
        store,
        etag: None,
        rejected: false,
        failures: 0,
    };
    tracing::info!(source = %source, every = ?source.poll_min, "polling bundle");
    let from_cache = poller.activate_cache().await;
    let (first_done, first_polled) = oneshot::channel();
    let task = tokio::spawn(poller.run(first_done));
    if !from_cache {
        // Waited for, not cancelled: a poll cut short would lose its ETag.
        let _ = tokio::time::timeout(FIRST_POLL_WAIT, first_polled).await;
    }
    Ok(task)
}

impl Poller {
    /// Activates the cached archive, if there is one and it verifies.
    async fn activate_cache(&mut self) -> bool {
        let Some(cache) = self.cache.clone() else {
            return false;
        };
        let store = self.store.clone();
        let activated = tokio::task::spawn_blocking(move || {
            let cached = cache.load()?;
            tracing::info!(path = %cached.path.display(), "activating the cached bundle");
            // On failure the store has logged why; the source is polled instead.
            let result = store.reload_from(Origin::Cache, || {
                read_archive(cached.body.as_slice()).map_err(SourceError::Archive)
            });
            result.ok().map(|_| cached.etag)
        })
        .await;
        match activated {
            Ok(Some(etag)) => {
                self.etag = etag;
                true
            }
            Ok(None) | Err(_) => false,
        }
    }

    /// Polls now, tells `first_done`, then polls on schedule for ever.
    async fn run(mut self, first_done: oneshot::Sender<()>) {
        let (tx, mut hangups) = mpsc::channel(1);
        spawn_sighup(tx);
        self.poll().await;
        let _ = first_done.send(());
        loop {
            let delay = backoff::delay(
                self.poll_min,
                self.poll_max,
                self.failures,
                backoff::random_unit(),
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                // A SIGHUP polls at once (its handler logs it).
                Some(()) = hangups.recv() => {}
            }
            self.poll().await;
        }
    }

    /// One poll: a 304 changes nothing; an archive is verified and, when
    /// good, activated and cached; every failure is recorded in the status.
    async fn poll(&mut self) {
        let fetched = self.fetcher.fetch(self.etag.as_deref()).await;
        let store = self.store.clone();
        match fetched {
            Ok(Fetched::NotModified) if self.rejected => {
                self.failures = self.failures.saturating_add(1);
            }
            Ok(Fetched::NotModified) => {
                self.failures = 0;
                store.confirm();
            }
            Ok(Fetched::Bundle { body, etag }) => {
                let accepted = self.activate(body, etag.clone()).await;
                self.failures = if accepted {
                    0
                } else {
                    self.failures.saturating_add(1)
                };
                // A refused archive's ETag is kept too: polling with it
                // costs a 304 until the source offers something else.
                self.rejected = !accepted && etag.is_some();
                if accepted || etag.is_some() {
                    self.etag = etag;
                }
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                let _ = tokio::task::spawn_blocking(move || {
                    store.reload_from(Origin::Source, || Err(e))
                })
                .await;
            }
        }
    }

    /// Verifies and activates a downloaded archive, and caches it when it
    /// is new (a new bundle or a new ETag); whether it was accepted.
    async fn activate(&self, body: Vec<u8>, etag: Option<String>) -> bool {
        let store = self.store.clone();
        let cache = self.cache.clone();
        let etag_changed = etag != self.etag;
        let outcome = tokio::task::spawn_blocking(move || {
            let result = store.reload_from(Origin::Source, || {
                read_archive(body.as_slice()).map_err(SourceError::Archive)
            });
            if let (Ok(activated), Some(cache)) = (&result, &cache)
                && (*activated || etag_changed)
                && let Err(e) = cache.save(&body, etag.as_deref())
            {
                tracing::warn!(error = %e, "cannot cache the bundle");
            }
            result.is_ok()
        })
        .await;
        outcome.unwrap_or_else(|e| {
            tracing::error!(error = %e, "reload task failed");
            false
        })
    }
}
