//! Reading a bundle's files: a directory read flat (symlinks followed, so a
//! Kubernetes ConfigMap mount works), a `.tar.gz`, or the embedded demo.
//! A remote source is not read here: its poller downloads it.

use std::{
    fmt, fs,
    io::Read as _,
    path::{Path, PathBuf},
};

use super::{ArchiveError, RemoteSource, SourceError};
use crate::bundle::{BundleFiles, is_yaml, signature::SIGNATURES_FILE};

// `DEMO_FILES`: every file of `bundles/demo/`, embedded by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/demo_bundle.rs"));

/// Largest bundle archive we unpack, to refuse decompression bombs.
const MAX_ARCHIVE_BYTES: u64 = 64 * 1024 * 1024;

/// Where a bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleSource {
    /// The demo bundle compiled into the binary.
    Embedded,
    /// A directory or a `.tar.gz` on disk.
    Path(PathBuf),
    /// A `.tar.gz` behind an `http://` or `https://` URL, polled.
    Remote(RemoteSource),
}

impl fmt::Display for BundleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("embedded:demo"),
            Self::Path(p) => write!(f, "{}", p.display()),
            Self::Remote(r) => write!(f, "{r}"),
        }
    }
}

impl BundleSource {
    /// Whether re-reading can find other content. The embedded bundle is
    /// compiled into the binary: a re-read of it confirms nothing, so it is
    /// never polled and its age (`--max-bundle-age`) counts from its load.
    pub fn can_change(&self) -> bool {
        !matches!(self, Self::Embedded)
    }

    /// Reads the bundle's files as they are now.
    pub fn read(&self) -> Result<BundleFiles, SourceError> {
        match self {
            Self::Embedded => {
                let mut files = BundleFiles::default();
                for (name, content) in DEMO_FILES {
                    files.insert(*name, content.to_vec());
                }
                Ok(files)
            }
            Self::Path(path) => read_path(path),
            Self::Remote(r) => Err(SourceError::Remote {
                shown: r.to_string(),
            }),
        }
    }
}

fn read_path(path: &Path) -> Result<BundleFiles, SourceError> {
    let path_buf = || path.to_path_buf();
    let meta = fs::metadata(path).map_err(|error| SourceError::Read {
        path: path_buf(),
        error,
    })?;
    if meta.is_dir() {
        read_dir(path)
    } else if path.to_string_lossy().ends_with(".tar.gz")
        || path.to_string_lossy().ends_with(".tgz")
    {
        let file = fs::File::open(path).map_err(|error| SourceError::Open {
            path: path_buf(),
            error,
        })?;
        read_archive(file).map_err(|error| SourceError::ArchiveFile {
            path: path_buf(),
            error,
        })
    } else {
        Err(SourceError::NotABundle { path: path_buf() })
    }
}

fn read_dir(dir: &Path) -> Result<BundleFiles, SourceError> {
    read_dir_limited(dir, MAX_ARCHIVE_BYTES)
}

/// [`read_dir`] with the total-size limit given: a directory bundle is held
/// to the limit an archive is (a 50 MB file was accepted before).
fn read_dir_limited(dir: &Path, limit: u64) -> Result<BundleFiles, SourceError> {
    let mut files = BundleFiles::default();
    let mut total: u64 = 0;
    let cannot_list = |error| SourceError::List {
        path: dir.to_path_buf(),
        error,
    };
    let entries = fs::read_dir(dir).map_err(cannot_list)?;
    for entry in entries {
        let entry = entry.map_err(cannot_list)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let signatures = name == SIGNATURES_FILE;
        // ConfigMap mounts keep `..data` and `..<timestamp>` beside the
        // files; editors leave `.swp` files. Neither is part of the bundle.
        if !signatures && (name.starts_with('.') || !is_yaml(&name)) {
            continue;
        }
        let path = entry.path();
        // `fs::metadata` follows symlinks, as ConfigMap files are symlinks.
        match fs::metadata(&path) {
            Ok(m) if m.is_file() && total.saturating_add(m.len()) > limit => {
                return Err(SourceError::DirectoryTooLarge {
                    path: dir.to_path_buf(),
                    limit,
                });
            }
            Ok(m) if m.is_file() => match fs::read(&path) {
                Ok(content) => {
                    total = total.saturating_add(m.len());
                    if signatures {
                        files.set_signatures(content);
                    } else {
                        files.insert(name, content);
                    }
                }
                Err(error) => return Err(SourceError::Read { path, error }),
            },
            Ok(_) => {}
            Err(error) => return Err(SourceError::Read { path, error }),
        }
    }
    Ok(files)
}

/// Reads the YAML files of a gzipped tar, and its `.signatures.json`, by
/// base name; refuses an archive that unpacks to more than 64 MiB.
pub(crate) fn read_archive(reader: impl std::io::Read) -> Result<BundleFiles, ArchiveError> {
    read_archive_limited(reader, MAX_ARCHIVE_BYTES)
}

/// [`read_archive`] with the unpacked-size limit given.
pub(crate) fn read_archive_limited(
    reader: impl std::io::Read,
    limit: u64,
) -> Result<BundleFiles, ArchiveError> {
    // One byte past the limit tells an archive that is too large from one
    // that ends exactly there; `take` alone would cut it off silently.
    let gz = flate2::read::GzDecoder::new(reader).take(limit.saturating_add(1));
    let mut archive = tar::Archive::new(gz);
    let files = read_entries(&mut archive);
    if archive.into_inner().limit() == 0 {
        return Err(ArchiveError::TooLarge { limit });
    }
    files
}

fn read_entries(
    archive: &mut tar::Archive<impl std::io::Read>,
) -> Result<BundleFiles, ArchiveError> {
    let mut files = BundleFiles::default();
    let entries = archive.entries().map_err(ArchiveError::NotTarGz)?;
    for entry in entries {
        let mut entry = entry.map_err(ArchiveError::NotTarGz)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(ArchiveError::EntryName)?.into_owned();
        let escapes = path.components().any(|c| {
            matches!(
                c,
                std::path::Component::ParentDir
                    | std::path::Component::RootDir
                    | std::path::Component::Prefix(_)
            )
        });
        if escapes {
            return Err(ArchiveError::UnsafePath(path.display().to_string()));
        }
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        // Read by base name like the YAML files, so a bundle packed with
        // its directory (`billing/.signatures.json`) is found too; OPA
        // writes it at the root. Two are refused below.
        let signatures = name == SIGNATURES_FILE;
        if !signatures && (name.starts_with('.') || !is_yaml(&name)) {
            continue;
        }
        if files.contains(&name) || (signatures && files.signatures().is_some()) {
            return Err(ArchiveError::Duplicate(name));
        }
        let mut content = Vec::new();
        if let Err(error) = entry.read_to_end(&mut content) {
            return Err(ArchiveError::Entry { name, error });
        }
        if signatures {
            files.set_signatures(content);
        } else {
            files.insert(name, content);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, content.as_slice())
                .unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    /// An archive of one entry whose raw name is `name`, written as is (the
    /// tar crate refuses to build such a path itself).
    fn tar_gz_raw(name: &[u8], content: &[u8]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, content).unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_directory_past_the_archive_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plans.yaml"), vec![b'#'; 40 * 1024]).unwrap();
        assert!(read_dir_limited(dir.path(), 64 * 1024).is_ok());
        std::fs::write(dir.path().join("more.yaml"), vec![b'#'; 40 * 1024]).unwrap();
        let err = read_dir_limited(dir.path(), 64 * 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{}`: its YAML files add up to more than 65536 bytes",
                dir.path().display()
            )
        );
    }

    #[test]
    fn entries_that_leave_the_archive_are_refused_by_name() {
        for name in ["../bundle.yaml", "/etc/bundle.yaml", "a/../../plans.yaml"] {
            let archive = tar_gz_raw(name.as_bytes(), b"name: x");
            let err = read_archive_limited(archive.as_slice(), 64 * 1024).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "entry `{name}` leaves the archive: a path with `..` or an absolute path is refused"
                )
            );
        }
        // A nested path that stays inside is read by its base name, as before.
        let archive = tar_gz_raw(b"./b/plans.yaml", b"plans: []");
        let files = read_archive_limited(archive.as_slice(), 64 * 1024).unwrap();
        assert!(files.contains("plans.yaml"));
    }

    #[test]
    fn the_signatures_file_is_read_once_at_any_depth() {
        let archive = tar_gz(&[
            ("b/plans.yaml", b"plans: []".to_vec()),
            ("b/.signatures.json", b"{}".to_vec()),
            ("b/.hidden.yaml", b"x".to_vec()),
        ]);
        let files = read_archive_limited(archive.as_slice(), 64 * 1024).unwrap();
        assert_eq!(files.signatures(), Some(b"{}".as_slice()));
        assert_eq!(files.iter().count(), 1, "only plans.yaml besides it");
        let twice = tar_gz(&[
            ("a/.signatures.json", b"{}".to_vec()),
            ("b/.signatures.json", b"{}".to_vec()),
        ]);
        let err = read_archive_limited(twice.as_slice(), 64 * 1024).unwrap_err();
        assert_eq!(err.to_string(), "two files named `.signatures.json`");
    }

    #[test]
    fn an_archive_within_the_limit_is_read() {
        let archive = tar_gz(&[("b/plans.yaml", b"plans: []".to_vec())]);
        let files = read_archive_limited(archive.as_slice(), 64 * 1024).unwrap();
        assert!(files.contains("plans.yaml"));
    }

    #[test]
    fn an_archive_that_unpacks_past_the_limit_is_refused_not_cut() {
        // A megabyte of zeros compresses to about a kilobyte: a small bomb.
        let archive = tar_gz(&[
            ("plans.yaml", b"plans: []".to_vec()),
            ("padding.bin", vec![0; 1024 * 1024]),
        ]);
        assert!(archive.len() < 8 * 1024);
        let err = read_archive_limited(archive.as_slice(), 64 * 1024).unwrap_err();
        assert_eq!(err.to_string(), "unpacks to more than 65536 bytes");
    }
}
