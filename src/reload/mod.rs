//! How a bundle arrives and is kept: reading it (a directory, a `.tar.gz`,
//! the embedded demo, or a URL), verifying it off the request path, swapping
//! it in atomically, keeping the last good one, and watching or polling for
//! changes. The servers read the result as a [`crate::live::LiveBundle`],
//! which [`BundleStore`] implements.

mod error;
mod remote;
mod source;
mod store;
mod watch;

use std::{sync::Arc, time::Duration};

pub use error::{ArchiveError, SourceError, StartError, TokenProblem};
pub use remote::{REQUEST_TIMEOUT, RemoteSource, cached_archive};
pub use source::BundleSource;
pub use store::{BundleStore, Origin};
pub use watch::{WatchHandle, spawn_watcher};

/// Loads the store's first bundle and keeps it current until the handle is
/// dropped: a path is watched (and re-read every `poll`, if given); a URL
/// is polled on its own schedule, starting from its cache. A bad or missing
/// first bundle does not fail: the server stays NOT_SERVING until a good one
/// arrives.
pub async fn start(
    store: Arc<BundleStore>,
    poll: Option<Duration>,
) -> Result<WatchHandle, StartError> {
    if let BundleSource::Remote(source) = store.source() {
        let source = source.clone();
        let task = remote::start(store, &source).await?;
        return Ok(WatchHandle { task });
    }
    {
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || store.reload()).await;
    }
    spawn_watcher(store, poll)
}
