//! The local copy of the last good download (`--bundle-cache DIR`): the
//! archive as downloaded, and beside it which URL it came from and its
//! ETag. A replica that restarts while the source is down serves it.
//!
//! Each file is replaced atomically (a temporary file, synced, then
//! renamed), so a crash leaves the old copy or the new one, never half of
//! one. The archive is written before its metadata: a crash between the two
//! pairs a new archive with the old ETag, which only costs one download.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::RemoteSource;

const ARCHIVE: &str = "bundle.tar.gz";
const METADATA: &str = "bundle.json";

/// Where a `--bundle-cache DIR` keeps its archive, for `tollgate check
/// --cache DIR`.
pub fn archive_in(dir: &Path) -> PathBuf {
    dir.join(ARCHIVE)
}

/// What is known about the cached archive.
#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    /// The source, shown without credentials or query (for people).
    source: String,
    /// SHA-256 of the full URL: a cache of another URL is not used.
    url_sha256: String,
    /// The ETag the source gave with the archive.
    etag: Option<String>,
    /// When it was written.
    saved_at: Timestamp,
}

/// A cached archive, ready to be verified and activated.
pub(super) struct Cached {
    /// The archive's bytes.
    pub(super) body: Vec<u8>,
    /// The ETag to poll with.
    pub(super) etag: Option<String>,
    /// Where it was read from, for the log.
    pub(super) path: PathBuf,
}

/// The cache directory of one remote source.
#[derive(Debug, Clone)]
pub(super) struct Cache {
    dir: PathBuf,
    source: String,
    url_sha256: String,
}

impl Cache {
    /// The cache in `dir` for `source`.
    pub(super) fn new(dir: &Path, source: &RemoteSource) -> Self {
        Self {
            dir: dir.to_path_buf(),
            source: source.to_string(),
            url_sha256: url_digest(source),
        }
    }

    /// The cached archive, if there is one for this URL. A missing,
    /// unreadable or foreign cache is logged and ignored: the source is
    /// polled as if there were none.
    pub(super) fn load(&self) -> Option<Cached> {
        let meta_path = self.dir.join(METADATA);
        let meta = match fs::read(&meta_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %meta_path.display(), error = %e, "cannot read the bundle cache");
                return None;
            }
        };
        let meta: Metadata = match serde_json::from_slice(&meta) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(path = %meta_path.display(), error = %e, "the bundle cache's metadata is damaged; ignoring the cache");
                return None;
            }
        };
        if meta.url_sha256 != self.url_sha256 {
            tracing::warn!(cached = %meta.source, source = %self.source, "the bundle cache holds another source's bundle; ignoring it");
            return None;
        }
        let path = self.dir.join(ARCHIVE);
        match fs::read(&path) {
            Ok(body) => Some(Cached {
                body,
                etag: meta.etag,
                path,
            }),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the cached bundle");
                None
            }
        }
    }

    /// Replaces the cached archive; blocking.
    pub(super) fn save(&self, body: &[u8], etag: Option<&str>) -> std::io::Result<()> {
        let meta = Metadata {
            source: self.source.clone(),
            url_sha256: self.url_sha256.clone(),
            etag: etag.map(ToOwned::to_owned),
            saved_at: Timestamp::now(),
        };
        let meta = serde_json::to_vec_pretty(&meta)?;
        write_atomically(&self.dir.join(ARCHIVE), body)?;
        write_atomically(&self.dir.join(METADATA), &meta)
    }
}

fn url_digest(source: &RemoteSource) -> String {
    let digest = Sha256::digest(source.url.as_str().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `path` through a temporary file beside it and a rename; the
/// process id in the temporary name keeps two replicas that share a
/// directory from writing into one temporary file.
fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(content)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        // Best effort: a leftover temporary file is harmless.
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn source(url: &str) -> RemoteSource {
        RemoteSource {
            url: url.parse().unwrap(),
            cache: None,
            poll_min: Duration::from_secs(1),
            poll_max: Duration::from_secs(2),
            token_file: None,
            max_bytes: 1024,
            download_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn what_is_saved_is_loaded_with_its_etag() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), &source("https://example.test/b.tar.gz"));
        assert!(cache.load().is_none());
        cache.save(b"first", Some("\"1\"")).unwrap();
        cache.save(b"second", Some("\"2\"")).unwrap();
        let cached = cache.load().unwrap();
        assert_eq!(cached.body, b"second");
        assert_eq!(cached.etag.as_deref(), Some("\"2\""));
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [METADATA, ARCHIVE], "no temporary file is left");
    }

    #[test]
    fn a_cache_of_another_url_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        Cache::new(dir.path(), &source("https://example.test/a.tar.gz"))
            .save(b"a", None)
            .unwrap();
        let other = Cache::new(dir.path(), &source("https://example.test/b.tar.gz"));
        assert!(other.load().is_none());
    }

    #[test]
    fn damaged_metadata_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), &source("https://example.test/a.tar.gz"));
        cache.save(b"a", None).unwrap();
        fs::write(dir.path().join(METADATA), b"{not json").unwrap();
        assert!(cache.load().is_none());
    }
}
