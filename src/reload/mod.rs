//! How a bundle arrives and is kept: reading it (a directory, a `.tar.gz`,
//! or the embedded demo), verifying it off the request path, swapping it in
//! atomically, keeping the last good one, and watching for changes.

mod ready;
mod source;
mod store;
mod watch;

pub use ready::Readiness;
pub use source::BundleSource;
pub use store::{Active, BundleStore, ReloadCounts, ReloadStatus};
pub use watch::spawn_watcher;
