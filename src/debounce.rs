//! Turning a burst of change events into one re-read: shared by the bundle
//! watcher (`reload`) and the TLS certificate reloader (`grpc::tls`), which
//! must not depend on each other.

use std::time::Duration;

use tokio::sync::mpsc;

/// Quiet time after the last event before re-reading: a ConfigMap update or
/// an editor's save arrives as a burst of events.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// The longest a re-read waits after the first event of a burst, so a
/// source that never goes quiet (a bundle rewritten every 100 ms) is still
/// picked up.
const MAX_DELAY: Duration = Duration::from_millis(300);

/// After a first event, waits until events stop for [`DEBOUNCE`], but no
/// longer than [`MAX_DELAY`] in all, so a burst (a ConfigMap update, a
/// certificate rotation writing two files) becomes one re-read.
pub async fn settle(rx: &mut mpsc::Receiver<()>) {
    let deadline = tokio::time::Instant::now() + MAX_DELAY;
    loop {
        let quiet = (tokio::time::Instant::now() + DEBOUNCE).min(deadline);
        match tokio::time::timeout_at(quiet, rx.recv()).await {
            Ok(Some(())) if tokio::time::Instant::now() < deadline => {}
            _ => return,
        }
    }
}
