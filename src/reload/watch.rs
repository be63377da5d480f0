//! Watching a bundle path: file-system events, SIGHUP and an optional poll
//! all trigger a reload; bursts are debounced into one; a single task runs
//! reloads, so they never overlap.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::{BundleSource, BundleStore, StartError};
use crate::debounce::settle;

/// Keeps the watch alive; dropping it stops watching.
pub struct WatchHandle {
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching the store's source. The embedded bundle is never watched
/// or polled; SIGHUP still re-reads it, which changes nothing (not even its
/// age: see [`BundleSource::can_change`]).
pub fn spawn_watcher(
    store: Arc<BundleStore>,
    poll: Option<Duration>,
) -> Result<WatchHandle, StartError> {
    let (tx, rx) = mpsc::channel::<()>(1);
    let watches = match store.source() {
        BundleSource::Embedded => None,
        BundleSource::Path(path) => Some(Watches::new(path, tx.clone())?),
        BundleSource::Remote(r) => {
            return Err(StartError::Remote {
                shown: r.to_string(),
            });
        }
    };
    let task = tokio::spawn(run(store, watches, rx, tx, poll));
    Ok(WatchHandle { task })
}

/// Which paths matter: the bundle path's entry in its parent directory
/// (a rename, a symlink switch, the path appearing), and what the path
/// resolves to now (inside a directory: a ConfigMap's `..data` rename or an
/// edited file; a `.tar.gz`: the file itself).
#[derive(Debug, Clone, Default)]
struct Filter {
    parent: PathBuf,
    name: OsString,
    target: Option<PathBuf>,
    target_is_dir: bool,
}

impl Filter {
    fn matches(&self, p: &Path) -> bool {
        let entry = p.parent() == Some(self.parent.as_path())
            && p.file_name() == Some(self.name.as_os_str());
        let inside = match &self.target {
            Some(t) if self.target_is_dir => p.starts_with(t),
            Some(t) => p == t,
            None => false,
        };
        entry || inside
    }
}

/// The notify watches of a bundle path, re-pointed when the path starts to
/// resolve somewhere else (a directory replaced by rename, a `current`
/// symlink switched to a new release, a path created after start).
struct Watches {
    watcher: notify::RecommendedWatcher,
    path: PathBuf,
    filter: Arc<Mutex<Filter>>,
    // What the second watch is on, if any.
    watched_target: Option<PathBuf>,
}

impl Watches {
    fn new(path: &Path, tx: mpsc::Sender<()>) -> Result<Self, StartError> {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let parent = std::fs::canonicalize(parent).map_err(|error| StartError::Unwatchable {
            path: parent.to_path_buf(),
            error,
        })?;
        let name = path
            .file_name()
            .map(ToOwned::to_owned)
            .ok_or_else(|| StartError::NoName {
                path: path.to_path_buf(),
            })?;
        let filter = Arc::new(Mutex::new(Filter {
            parent: parent.clone(),
            name,
            ..Filter::default()
        }));
        let seen = filter.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let relevant = match &event {
                    Ok(e) => {
                        let f = seen.lock().unwrap_or_else(PoisonError::into_inner);
                        !e.kind.is_access() && e.paths.iter().any(|p| f.matches(p))
                    }
                    // An overflowed event queue may have lost what mattered.
                    Err(_) => true,
                };
                if relevant {
                    // A full channel already holds a pending reload.
                    let _ = tx.try_send(());
                }
            })
            .map_err(|error| StartError::Watcher {
                path: parent.clone(),
                error,
            })?;
        watcher
            .watch(&parent, RecursiveMode::NonRecursive)
            .map_err(|error| StartError::Watcher {
                path: parent.clone(),
                error,
            })?;
        tracing::info!(path = %path.display(), "watching bundle");
        let mut watches = Self {
            watcher,
            path: path.to_path_buf(),
            filter,
            watched_target: None,
        };
        watches.refresh();
        Ok(watches)
    }

    /// Points the second watch at what the path resolves to now.
    fn refresh(&mut self) {
        // Re-watched every time, not only when the resolved path changes: a
        // directory replaced by rename keeps its path but is a new inode,
        // and the old watch died with the old one.
        let target = std::fs::canonicalize(&self.path).ok();
        if let Some(old) = self.watched_target.take() {
            // The old target may be gone already; nothing to undo then.
            let _ = self.watcher.unwatch(&old);
        }
        let is_dir = target.as_ref().is_some_and(|t| t.is_dir());
        if let Some(t) = &target {
            // A file is seen through its own parent, so replacing it by rename counts.
            let watch_on = if is_dir {
                Some(t.as_path())
            } else {
                t.parent()
            };
            if let Some(w) = watch_on {
                match self.watcher.watch(w, RecursiveMode::NonRecursive) {
                    Ok(()) => self.watched_target = Some(w.to_path_buf()),
                    Err(e) => {
                        tracing::warn!(path = %w.display(), error = %e, "cannot watch the bundle's target")
                    }
                }
            }
        }
        let mut f = self.filter.lock().unwrap_or_else(PoisonError::into_inner);
        f.target = target;
        f.target_is_dir = is_dir;
    }
}

async fn run(
    store: Arc<BundleStore>,
    mut watches: Option<Watches>,
    mut rx: mpsc::Receiver<()>,
    tx: mpsc::Sender<()>,
    poll: Option<Duration>,
) {
    spawn_sighup(tx.clone());
    // Polling the embedded bundle could find nothing new.
    let poll = poll.filter(|_| store.source().can_change());
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
        settle(&mut rx).await;
        if let Some(w) = watches.as_mut() {
            w.refresh();
        }
        let store = store.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || store.reload()).await {
            tracing::error!(error = %e, "reload task failed");
        }
    }
}

/// Sends on `tx` for every SIGHUP.
#[cfg(unix)]
pub(super) fn spawn_sighup(tx: mpsc::Sender<()>) {
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
pub(super) fn spawn_sighup(_tx: mpsc::Sender<()>) {}
