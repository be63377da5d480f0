//! The decision log: one JSON line per answered decision, written off the
//! request path.
//!
//! The thread that answered a call masks and encodes its line (about 3 µs
//! on the benchmark machine) into a bounded queue of lines ([`queue`]); a
//! dedicated writer thread ([`sink`]) takes them in batches and does the
//! I/O. When the queue is full the decision is still
//! answered and the event is dropped and counted ([`Overflow::Drop`]),
//! unless [`Overflow::Block`] makes the handler wait for room, which puts
//! the sink's speed on the request path. Sampling is by decision id, so it
//! is deterministic. Personal and payment ids are replaced with keyed
//! hashes ([`mask`]).

mod entries;
pub mod event;
pub mod json;
pub mod mask;
mod queue;
mod sample;
pub mod sink;
mod stats;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use tokio::sync::oneshot;

pub use event::{CallContext, Decided, Logged, Record, ShadowAnswer, ShadowBundle};
pub use mask::{ErasePath, Masker};
pub use sink::Target;
pub use stats::{Stats, StatsSnapshot};

pub use sample::Sample;

/// What to do with an event when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Overflow {
    /// Answer the decision, drop the event and count it.
    #[default]
    Drop,
    /// Wait for room in the queue: no event is lost, but a slow sink slows
    /// every decision down.
    Block,
}

/// How the decision log runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where lines go.
    pub target: Target,
    /// Lines the queue holds before overflow applies (not counting the
    /// batch the writer is writing).
    pub queue: usize,
    /// What a full queue does.
    pub overflow: Overflow,
    /// Fraction of decisions logged, 0.0 to 1.0, chosen by decision id.
    pub sample: f64,
    /// The key of the id hashes; `None` draws a random one for this process.
    pub hash_key: Option<Vec<u8>>,
    /// Whether ids are hashed at all.
    pub mask: bool,
    /// Fields of the event's `input` to remove.
    pub erase: Vec<ErasePath>,
    /// Rotate a file sink (to `PATH.1`) when it would grow past this; 0 never.
    pub max_bytes: u64,
    /// How long shutdown waits for queued events to be written.
    pub close_deadline: Duration,
}

impl Settings {
    /// The defaults for `target`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            queue: 8192,
            overflow: Overflow::Drop,
            sample: 1.0,
            hash_key: None,
            mask: true,
            erase: Vec::new(),
            max_bytes: 0,
            close_deadline: Duration::from_secs(3),
        }
    }
}

/// A handle on the decision log; cheap to clone, off by default.
#[derive(Debug, Clone, Default)]
pub struct DecisionLog {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    lines: Arc<queue::Lines>,
    encoders: event::Encoders,
    overflow: Overflow,
    sample: Sample,
    stats: Arc<Stats>,
    close_deadline: Duration,
    closing: Mutex<Option<Closing>>,
}

#[derive(Debug)]
struct Closing {
    done: oneshot::Receiver<()>,
    signals: Option<tokio::task::JoinHandle<()>>,
}

impl DecisionLog {
    /// A log that records nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// Opens the sink and starts the writer thread (and, for a file, the
    /// SIGUSR1 reopen listener). Must run inside a Tokio runtime.
    pub fn start(settings: Settings) -> anyhow::Result<Self> {
        if settings.erase.len() > json::MAX_ERASED {
            anyhow::bail!(
                "decision log: {} erased fields; at most {} are supported",
                settings.erase.len(),
                json::MAX_ERASED
            );
        }
        let masker = match (settings.mask, &settings.hash_key) {
            (false, _) => Masker::clear(),
            (true, Some(key)) => Masker::keyed(key),
            (true, None) => {
                tracing::warn!(
                    "decision log: no --decision-log-hash-key; using a random key, so hashed ids will not join across restarts"
                );
                Masker::keyed(&mask::random_key()?)
            }
        };
        let file = match &settings.target {
            Target::File(path) if !is_fifo(path) => Some(
                sink::open_append(path)
                    .with_context(|| format!("decision log: cannot open `{}`", path.display()))?,
            ),
            _ => None,
        };
        let lines = Arc::new(queue::Lines::new(settings.queue));
        let (done_tx, done) = oneshot::channel();
        let reopen = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let signals = match &settings.target {
            Target::File(_) => Some(reopen_on_sigusr1(reopen.clone())?),
            Target::Stdout => None,
        };
        let writer = sink::Writer {
            target: settings.target.clone(),
            file,
            max_bytes: settings.max_bytes,
            reopen,
            stats: stats.clone(),
        };
        std::thread::Builder::new()
            .name("decision-log".to_owned())
            .spawn({
                let lines = lines.clone();
                move || writer.run(&lines, done_tx)
            })
            .context("decision log: cannot start the writer thread")?;
        Ok(Self {
            inner: Some(Arc::new(Inner {
                lines,
                encoders: event::Encoders::new(masker, settings.erase),
                overflow: settings.overflow,
                sample: Sample::of(settings.sample),
                stats,
                close_deadline: settings.close_deadline,
                closing: Mutex::new(Some(Closing { done, signals })),
            })),
        })
    }

    /// Whether decisions are recorded at all.
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Encodes `record` (if sampled) and queues its line. With
    /// [`Overflow::Drop`] this never waits, and a full queue is noticed
    /// before the line is made.
    pub async fn record(&self, record: Record) {
        let Some(inner) = &self.inner else { return };
        if !inner.sample.keeps(record.decided.meta().decision_id) {
            inner.stats.sampled_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if inner.overflow == Overflow::Drop && inner.lines.looks_full() {
            inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut encoder = inner.encoders.take();
        let line = encoder.line(&record);
        // Freed here, on the thread that allocated the request.
        drop(record);
        let queued = match (inner.lines.push(line), inner.overflow) {
            (Err(queue::Refused::Full), Overflow::Block) => {
                // The encoder goes back before the wait: waiting handlers
                // hold a copy of their line, not an encoder (and its cache)
                // each, so the pool stays as large as the threads.
                let line = line.to_vec();
                inner.encoders.put(encoder);
                inner.lines.push_waiting(&line).await
            }
            (pushed, _) => {
                inner.encoders.put(encoder);
                pushed
            }
        };
        if queued.is_err() {
            inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters (all zero when off).
    pub fn stats(&self) -> StatsSnapshot {
        self.inner
            .as_ref()
            .map(|i| i.stats.snapshot())
            .unwrap_or_default()
    }

    /// Writes what is queued, flushes and stops the writer, waiting at most
    /// the close deadline; logs the counters. Later events are dropped.
    pub async fn close(&self) {
        let Some(inner) = &self.inner else { return };
        let closing = inner.closing.lock().ok().and_then(|mut c| c.take());
        let Some(closing) = closing else { return };
        if let Some(signals) = closing.signals {
            signals.abort();
        }
        inner.lines.close();
        let drained = tokio::time::timeout(inner.close_deadline, closing.done)
            .await
            .is_ok();
        let s = inner.stats.snapshot();
        if drained {
            tracing::info!(
                written = s.written,
                dropped = s.dropped,
                failed = s.failed,
                sampled_out = s.sampled_out,
                "decision log closed"
            );
        } else {
            tracing::warn!(
                written = s.written,
                dropped = s.dropped,
                failed = s.failed,
                sampled_out = s.sampled_out,
                "decision log: the sink did not drain within {:?}; queued events are lost",
                inner.close_deadline
            );
        }
    }
}

impl Drop for Inner {
    /// The last handle gone: the writer writes what waits and stops.
    fn drop(&mut self) {
        self.lines.close();
    }
}

fn is_fifo(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Sets `reopen` on every SIGUSR1 (logrotate's `postrotate` signal).
fn reopen_on_sigusr1(reopen: Arc<AtomicBool>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut usr1 = signal(SignalKind::user_defined1()).context("listening for SIGUSR1")?;
        Ok(tokio::spawn(async move {
            while usr1.recv().await.is_some() {
                tracing::info!("SIGUSR1: reopening the decision log");
                reopen.store(true, Ordering::Relaxed);
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = reopen;
        Ok(tokio::spawn(async {}))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{DecisionLog, Overflow, Settings, Target, event::tests::record};

    /// Handlers waiting for room hold a copy of their line, not an encoder:
    /// however many wait, the pool holds as many encoders as were encoding
    /// at once (one, on this single-threaded runtime).
    #[tokio::test(flavor = "current_thread")]
    async fn handlers_waiting_for_room_hold_no_encoder() {
        let dir = tempfile::TempDir::new().unwrap();
        let fifo = dir.path().join("stalled.fifo");
        let mkfifo = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(mkfifo.unwrap().success());
        // Nobody reads the FIFO yet: the writer blocks opening it.
        let log = DecisionLog::start(Settings {
            queue: 1,
            overflow: Overflow::Block,
            hash_key: Some(b"k".to_vec()),
            ..Settings::new(Target::File(fifo.clone()))
        })
        .unwrap();
        let (name, revision, digest): (Arc<str>, Arc<str>, Arc<str>) =
            (Arc::from("b"), Arc::from("r"), Arc::from("d"));
        const HANDLERS: usize = 20;
        let handlers: Vec<_> = (0..HANDLERS)
            .map(|_| {
                let (log, event) = (log.clone(), record(&name, &revision, &digest));
                tokio::spawn(async move { log.record(event).await })
            })
            .collect();
        // Until no handler can make progress: one line with the writer,
        // one queued, the others waiting for room, none encoding.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(handlers.iter().filter(|h| !h.is_finished()).count() >= HANDLERS - 2);
        // Every encoder is back in the pool, and there is one.
        let inner = log.inner.as_ref().unwrap();
        assert_eq!(inner.encoders.idle(), 1);

        let reader = std::thread::spawn(move || std::fs::read_to_string(&fifo).unwrap());
        for handler in handlers {
            handler.await.unwrap();
        }
        log.close().await;
        assert_eq!(reader.join().unwrap().lines().count(), HANDLERS);
        assert_eq!(log.stats().dropped, 0);
    }
}
