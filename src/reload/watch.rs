//! Watching a bundle path: file-system events, SIGHUP and an optional poll
//! all trigger a reload; bursts are debounced into one; a single task runs
//! reloads, so they never overlap.

use std::{path::Path, sync::Arc, time::Duration};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::{BundleSource, BundleStore};

/// Quiet time after the last event before reloading: a ConfigMap update or
/// an editor's save arrives as a burst of events.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Keeps the watch alive; dropping it stops watching.
pub struct WatchHandle {
    _watcher: Option<notify::RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching the store's source. The embedded bundle is never watched,
/// but SIGHUP still reloads (a no-op unless the binary changed).
pub fn spawn_watcher(
    store: Arc<BundleStore>,
    poll: Option<Duration>,
) -> anyhow::Result<WatchHandle> {
    let (tx, rx) = mpsc::channel::<()>(1);
    let watcher = match store.source() {
        BundleSource::Embedded => None,
        BundleSource::Path(path) => Some(watch_path(path, tx.clone())?),
    };
    let task = tokio::spawn(run(store, rx, tx, poll));
    Ok(WatchHandle {
        _watcher: watcher,
        task,
    })
}

fn watch_path(path: &Path, tx: mpsc::Sender<()>) -> anyhow::Result<notify::RecommendedWatcher> {
    // A directory is watched itself: a ConfigMap swap renames `..data`
    // inside it. A file is watched through its parent, so that replacing
    // it by rename is seen too.
    let (watched, only) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (
            parent.to_path_buf(),
            path.file_name().map(|n| n.to_os_string()),
        )
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match (&event, &only) {
            (Ok(e), Some(name)) => e
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str())),
            (Ok(e), None) => !e.kind.is_access(),
            (Err(_), _) => true,
        };
        if relevant {
            // A full channel already holds a pending reload.
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(&watched, RecursiveMode::NonRecursive)?;
    tracing::info!(path = %watched.display(), "watching bundle");
    Ok(watcher)
}

async fn run(
    store: Arc<BundleStore>,
    mut rx: mpsc::Receiver<()>,
    tx: mpsc::Sender<()>,
    poll: Option<Duration>,
) {
    spawn_sighup(tx.clone());
    if let Some(every) = poll {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if tx.send(()).await.is_err() {
                    return;
                }
            }
        });
    }
    while rx.recv().await.is_some() {
        // Debounce: wait until events stop for a moment.
        while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.reload()).await {
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reload task failed"),
        }
    }
}

#[cfg(unix)]
fn spawn_sighup(tx: mpsc::Sender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading bundle");
                    if tx.send(()).await.is_err() {
                        return;
                    }
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
    }
}

#[cfg(not(unix))]
fn spawn_sighup(_tx: mpsc::Sender<()>) {}
