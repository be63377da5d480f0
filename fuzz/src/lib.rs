//! What the fuzz targets share: the demo bundle, compiled once, and the
//! scratch directory the bundle targets write their input to, so the bundle
//! is read through the public `BundleSource` path as `serve` reads it.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use tollgate::{
    bundle::{self, CompiledBundle},
    reload::BundleSource,
};

/// The demo bundle compiled natively, and compiled for the CEL interpreter.
pub fn demo() -> &'static (CompiledBundle, CompiledBundle) {
    static DEMO: OnceLock<(CompiledBundle, CompiledBundle)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let files = BundleSource::Embedded.read().expect("demo files");
        let native = bundle::compile(&files).expect("demo compiles");
        let interpreted = bundle::compile(&files)
            .expect("demo compiles")
            .interpreted();
        (native, interpreted)
    })
}

/// A directory of this process's own under the system temp directory,
/// emptied on every call.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Reads the bundle at `path` as `serve` does and compiles it: a bundle or
/// errors, never a panic.
pub fn load(path: &Path) {
    if let Ok(files) = BundleSource::Path(path.to_path_buf()).read() {
        let _ = bundle::compile(&files);
    }
}
