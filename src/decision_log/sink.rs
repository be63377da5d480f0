//! The writer: a dedicated thread that takes events off the queue, turns
//! them into JSON lines and writes them to stdout or a file (appended,
//! reopened on request, rotated by size), taking events in batches and
//! flushing when the queue stays empty for a moment. Blocking I/O lives
//! here, never on the request path.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::{mpsc, oneshot};

use super::{
    Stats,
    event::{self, Record},
    mask::{ErasePath, Masker},
};

/// Where decision-log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (logs of the server itself go to stderr).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// What travels on the queue.
#[derive(Debug)]
pub(super) enum Msg {
    /// One decision.
    Event(Box<Record>),
    /// Write what is queued, flush and stop.
    Close,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub target: Target,
    /// A file opened up front (so configuration errors show before the
    /// server binds); `None` means open on the first event.
    pub file: Option<File>,
    pub masker: Masker,
    pub erase: Vec<ErasePath>,
    pub max_bytes: u64,
    pub reopen: Arc<AtomicBool>,
    pub stats: Arc<Stats>,
}

struct Open {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Bytes in the current file, buffered ones included.
    size: u64,
}

/// How long the writer waits for more events when the queue runs dry,
/// before it flushes and parks: the most a line waits to reach the sink.
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

impl Writer {
    /// Runs until `Close` arrives or every sender is gone; then reports on
    /// `done`.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Msg>, done: oneshot::Sender<()>) {
        let mut open = self.file.take().map(|f| self.wrap(f));
        let mut pending = 0u64;
        let mut line = Vec::with_capacity(1024);
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Under load more events are on their way: wait a moment
                    // and take them as a batch, rather than parking at once
                    // (a wake-up per event for the request path) and flushing
                    // per event (a write per line).
                    std::thread::sleep(BATCH_WAIT);
                    match rx.try_recv() {
                        Ok(msg) => msg,
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                        Err(mpsc::error::TryRecvError::Empty) => {
                            self.flush(&mut open, &mut pending);
                            match rx.blocking_recv() {
                                Some(msg) => msg,
                                None => break,
                            }
                        }
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            match msg {
                Msg::Event(record) => self.write(&mut open, &mut pending, &mut line, &record),
                Msg::Close => {
                    // Refuse new events (they count as dropped), keep the queued.
                    rx.close();
                    while let Ok(msg) = rx.try_recv() {
                        if let Msg::Event(record) = msg {
                            self.write(&mut open, &mut pending, &mut line, &record);
                        }
                    }
                    break;
                }
            }
        }
        self.flush(&mut open, &mut pending);
        let _ = done.send(());
    }

    fn write(
        &self,
        open: &mut Option<Open>,
        pending: &mut u64,
        line: &mut Vec<u8>,
        record: &Record,
    ) {
        line.clear();
        if let Err(e) = event::write_line(line, record, &self.masker, &self.erase) {
            tracing::warn!(error = %e, "decision log: cannot encode an event");
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let len = line.len() as u64;
        let rotate = self.max_bytes > 0
            && open
                .as_ref()
                .is_some_and(|o| o.size > 0 && o.size + len > self.max_bytes);
        if self.reopen.swap(false, Ordering::Relaxed) || rotate {
            self.flush(open, pending);
            *open = None;
            if rotate
                && let Target::File(path) = &self.target
                && let Err(e) = std::fs::rename(path, rotated(path))
            {
                tracing::warn!(path = %path.display(), error = %e, "decision log: cannot rotate");
            }
        }
        if open.is_none() {
            *open = self.open();
        }
        let Some(o) = open.as_mut() else {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match o.out.write_all(line) {
            Ok(()) => {
                o.size += len;
                *pending += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, "decision log: write failed; reopening");
                // What was buffered may be lost with it.
                self.stats.failed.fetch_add(*pending + 1, Ordering::Relaxed);
                *pending = 0;
                *open = None;
            }
        }
    }

    fn flush(&self, open: &mut Option<Open>, pending: &mut u64) {
        let Some(o) = open.as_mut() else { return };
        match o.out.flush() {
            Ok(()) => {
                self.stats.written.fetch_add(*pending, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, "decision log: flush failed; reopening");
                self.stats.failed.fetch_add(*pending, Ordering::Relaxed);
                *open = None;
            }
        }
        *pending = 0;
    }

    fn open(&self) -> Option<Open> {
        match &self.target {
            Target::Stdout => Some(Open {
                out: BufWriter::new(Box::new(std::io::stdout())),
                size: 0,
            }),
            Target::File(path) => match open_append(path) {
                Ok(file) => Some(self.wrap(file)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "decision log: cannot open");
                    None
                }
            },
        }
    }

    fn wrap(&self, file: File) -> Open {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Open {
            out: BufWriter::with_capacity(64 * 1024, Box::new(file)),
            size,
        }
    }
}

/// Opens `path` for appending, creating it.
pub(super) fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Where a rotated file goes: `PATH.1`.
pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}
