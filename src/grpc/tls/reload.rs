//! Keeping the served certificate current. cert-manager rewrites the
//! files (in Kubernetes by swapping a secret volume's `..data` symlink);
//! a change seen by the file watcher, or by a periodic re-read in case
//! events are lost, builds a new rustls configuration and swaps it in.
//! New handshakes use it; open connections keep the one they started
//! with. A failed reload keeps the old configuration and logs an error.
//!
//! Like the bundle watcher (`reload::watch`), it watches parent
//! directories rather than the files, since a rename or symlink switch
//! replaces the file itself; unlike it, any change in those directories
//! triggers a re-read, which costs a few small reads and a hash.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher as _};
use rustls::ServerConfig;
use tokio::sync::mpsc;

use super::load::{Contents, TlsError, TlsFiles, not_after};

/// How often the files are re-read even without events.
const RECHECK: Duration = Duration::from_secs(60);

/// The configuration new handshakes use, and where it came from.
#[derive(Debug)]
pub(super) struct Current {
    files: TlsFiles,
    config: ArcSwap<ServerConfig>,
    /// The digest of the files the active configuration was built from.
    digest: Mutex<[u8; 32]>,
}

impl Current {
    /// Reads the files; any problem is an error, as at start-up nothing
    /// is served without them.
    pub(super) fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let contents = Contents::read(&files)?;
        let (config, leaf) = contents.server_config(&files)?;
        log_loaded(&files, &leaf, "TLS certificate loaded");
        Ok(Self {
            digest: Mutex::new(contents.digest()),
            config: ArcSwap::new(config),
            files,
        })
    }

    /// The configuration for the next handshake.
    pub(super) fn config(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }

    /// Re-reads the files and swaps in a new configuration if they changed;
    /// on error the old one stays.
    fn reload(&self) -> Result<(), TlsError> {
        let contents = Contents::read(&self.files)?;
        let digest = contents.digest();
        let mut active = self.digest.lock().unwrap_or_else(PoisonError::into_inner);
        if *active == digest {
            return Ok(());
        }
        let (config, leaf) = contents.server_config(&self.files)?;
        self.config.store(config);
        *active = digest;
        log_loaded(&self.files, &leaf, "TLS certificate reloaded");
        Ok(())
    }
}

fn log_loaded(files: &TlsFiles, leaf: &[u8], what: &str) {
    let expires = not_after(leaf).map(|t| t.to_string()).unwrap_or_default();
    tracing::info!(
        cert = %files.cert.display(),
        client_ca = files.client_ca.as_ref().map(|p| p.display().to_string()),
        expires,
        "{what}"
    );
}

/// Stops the reloading when dropped.
pub(super) struct ReloadHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReloadHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts re-reading `current`'s files on change and every [`RECHECK`].
pub(super) fn spawn(current: Arc<Current>) -> ReloadHandle {
    let (tx, rx) = mpsc::channel::<()>(1);
    let watches = Watches::new(&current.files, tx.clone());
    let task = tokio::spawn(run(current, watches, rx, tx));
    ReloadHandle { task }
}

/// A watcher on the directories of the files as named and as they resolve
/// now. Events count when they name one of the files (as named or
/// resolved) or an entry starting with `..`: Kubernetes' atomic writer
/// swaps a secret volume's `..data` symlink to a new `..<timestamp>`
/// directory. Other files in the same directories (a log, say) do not
/// trigger re-reads.
struct Watches {
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
}

impl Watches {
    /// `None` (logged) if the platform refuses, leaving the periodic check.
    fn new(files: &TlsFiles, tx: mpsc::Sender<()>) -> Option<Self> {
        let mut names = BTreeSet::new();
        for path in paths(files) {
            names.extend(path.file_name().map(ToOwned::to_owned));
            if let Ok(target) = std::fs::canonicalize(path) {
                names.extend(target.file_name().map(ToOwned::to_owned));
            }
        }
        let made = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let relevant = match event {
                // Our own reads are access events.
                Ok(e) => !e.kind.is_access() && e.paths.iter().any(|p| matters(&names, p)),
                // The event queue overflowed: what mattered may be lost.
                Err(_) => true,
            };
            if relevant {
                // A full channel already holds a pending check.
                let _ = tx.try_send(());
            }
        });
        match made {
            Ok(watcher) => {
                let mut watches = Self {
                    watcher,
                    watched: BTreeSet::new(),
                };
                watches.refresh(files);
                Some(watches)
            }
            Err(e) => {
                tracing::warn!(error = %e, every_s = RECHECK.as_secs(), "cannot watch the TLS files; re-reading them periodically");
                None
            }
        }
    }

    /// Watches the directories the files are in now: a switched symlink
    /// may point into a new one. A directory that was removed took its
    /// watch with it.
    fn refresh(&mut self, files: &TlsFiles) {
        let mut dirs = BTreeSet::new();
        for path in paths(files) {
            dirs.extend(parent(path));
            if let Ok(target) = std::fs::canonicalize(path) {
                dirs.extend(parent(&target));
            }
        }
        for dir in dirs {
            if self.watched.contains(&dir) && dir.exists() {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir);
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot watch a TLS file's directory");
                }
            }
        }
    }
}

fn paths(files: &TlsFiles) -> impl Iterator<Item = &PathBuf> {
    [
        Some(&files.cert),
        Some(&files.key),
        files.client_ca.as_ref(),
    ]
    .into_iter()
    .flatten()
}

fn matters(names: &BTreeSet<std::ffi::OsString>, path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| names.contains(n) || n.as_encoded_bytes().starts_with(b".."))
}

fn parent(path: &Path) -> Option<PathBuf> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()
}

async fn run(
    current: Arc<Current>,
    mut watches: Option<Watches>,
    mut rx: mpsc::Receiver<()>,
    // Held so the channel stays open when there is no watcher.
    _tx: mpsc::Sender<()>,
) {
    let mut tick = tokio::time::interval(RECHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            event = rx.recv() => if event.is_none() { return },
            _ = tick.tick() => {}
        }
        crate::debounce::settle(&mut rx).await;
        let reloading = current.clone();
        match tokio::task::spawn_blocking(move || reloading.reload()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "TLS reload failed; still serving the previous certificate");
            }
            Err(e) => tracing::error!(error = %e, "TLS reload task failed"),
        }
        if let Some(w) = watches.as_mut() {
            w.refresh(&current.files);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    #[test]
    fn a_failed_reload_keeps_the_active_certificate() {
        let dir = tempfile::TempDir::new().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
            client_ca: None,
        };
        let (cert_a, key_a) = pair();
        let (cert_b, key_b) = pair();
        let write = |cert: &str, key: &str| {
            std::fs::write(&files.cert, cert).unwrap();
            std::fs::write(&files.key, key).unwrap();
        };
        write(&cert_a, &key_a);
        let current = Current::load(files.clone()).unwrap();
        let first = current.config();
        current.reload().unwrap();
        assert!(
            Arc::ptr_eq(&first, &current.config()),
            "unchanged files, same config"
        );

        write("not a certificate", &key_a);
        let e = current.reload().unwrap_err().to_string();
        assert!(e.starts_with("--tls-cert `"), "{e}");
        assert!(Arc::ptr_eq(&first, &current.config()));

        // The new certificate is written before its key.
        write(&cert_b, &key_a);
        let e = current.reload().unwrap_err().to_string();
        assert!(e.contains("--tls-key"), "{e}");
        assert!(Arc::ptr_eq(&first, &current.config()));

        write(&cert_b, &key_b);
        current.reload().unwrap();
        assert!(
            !Arc::ptr_eq(&first, &current.config()),
            "the new pair is live"
        );
    }
}
