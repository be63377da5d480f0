//! Reading a bundle's files: a directory read flat (symlinks followed, so a
//! Kubernetes ConfigMap mount works), a `.tar.gz`, or the embedded demo.

use std::{
    fmt, fs,
    io::Read as _,
    path::{Path, PathBuf},
};

use crate::bundle::{BundleError, BundleErrors, BundleFiles, is_yaml};

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
}

impl fmt::Display for BundleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("embedded:demo"),
            Self::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl BundleSource {
    /// Reads the bundle's files as they are now.
    pub fn read(&self) -> Result<BundleFiles, BundleErrors> {
        match self {
            Self::Embedded => {
                let mut files = BundleFiles::default();
                for (name, content) in DEMO_FILES {
                    files.insert(*name, content.to_vec());
                }
                Ok(files)
            }
            Self::Path(path) => read_path(path).map_err(|e| BundleError::whole("", e).into()),
        }
    }
}

fn read_path(path: &Path) -> Result<BundleFiles, String> {
    let shown = path.display();
    let meta = fs::metadata(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if meta.is_dir() {
        read_dir(path)
    } else if path.to_string_lossy().ends_with(".tar.gz")
        || path.to_string_lossy().ends_with(".tgz")
    {
        let file = fs::File::open(path).map_err(|e| format!("cannot open `{shown}`: {e}"))?;
        read_archive(file).map_err(|e| format!("`{shown}`: {e}"))
    } else {
        Err(format!("`{shown}` is neither a directory nor a `.tar.gz`"))
    }
}

fn read_dir(dir: &Path) -> Result<BundleFiles, String> {
    let mut files = BundleFiles::default();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // ConfigMap mounts keep `..data` and `..<timestamp>` beside the
        // files; editors leave `.swp` files. Neither is part of the bundle.
        if name.starts_with('.') || !is_yaml(&name) {
            continue;
        }
        let path = entry.path();
        // `fs::metadata` follows symlinks, as ConfigMap files are symlinks.
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                let content = fs::read(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                files.insert(name, content);
            }
            Ok(_) => {}
            Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        }
    }
    Ok(files)
}

/// Reads the YAML files of a gzipped tar, by base name.
pub(crate) fn read_archive(reader: impl std::io::Read) -> Result<BundleFiles, String> {
    let gz = flate2::read::GzDecoder::new(reader).take(MAX_ARCHIVE_BYTES);
    let mut archive = tar::Archive::new(gz);
    let mut files = BundleFiles::default();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar.gz: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("bad entry name: {e}"))?
            .into_owned();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if name.starts_with('.') || !is_yaml(&name) {
            continue;
        }
        if files.contains(&name) {
            return Err(format!("two files named `{name}`"));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| format!("cannot read `{name}`: {e}"))?;
        files.insert(name, content);
    }
    Ok(files)
}
