//! The writer: a dedicated thread that takes encoded lines off the queue in
//! batches and writes them to stdout or a file (appended, reopened on
//! request, rotated by size), flushing when the queue stays empty for a
//! moment. Blocking I/O lives here, never on the request path.
//!
//! A full disk (or any failed write) is accounted line by line: the lines
//! that reached the file count as written, the rest as failed, and a line
//! cut short by the failure is truncated away, so every line in the file
//! parses. The next event opens the file again, so logging resumes once
//! there is room.

use std::{
    fs::{File, OpenOptions},
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::oneshot;

use super::{
    Stats,
    queue::{Batch, Lines, Taken},
};

/// Where decision-log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (logs of the server itself go to stderr).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// The writer thread's state.
pub(super) struct Writer {
    pub target: Target,
    /// A file opened up front (so configuration errors show before the
    /// server binds); `None` means open on the first event.
    pub file: Option<File>,
    pub max_bytes: u64,
    pub reopen: Arc<AtomicBool>,
    pub stats: Arc<Stats>,
}

struct Open {
    out: Out,
    /// Encoded lines not yet written, each one's end kept: the lines a
    /// flush counts.
    buf: Batch,
    /// Bytes in the current file, buffered ones included.
    size: u64,
}

/// The sink itself.
enum Out {
    Stdout(std::io::Stdout),
    File(File),
}

impl Out {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(bytes),
            Self::File(file) => file.write(bytes),
        }
    }

    /// Cuts the file back to `len` bytes; stdout cannot be.
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        match self {
            Self::Stdout(_) => Ok(()),
            Self::File(file) => file.set_len(len),
        }
    }
}

/// Bytes buffered before they are written out, as a `BufWriter` would.
const BUFFER_BYTES: usize = 64 * 1024;

/// How long the writer waits for more lines when the queue runs dry,
/// before it flushes and parks: the most a line waits to reach the sink.
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

impl Writer {
    /// Runs until the log closes and every queued line is written; then
    /// reports on `done`.
    pub(super) fn run(mut self, lines: &Lines, done: oneshot::Sender<()>) {
        let mut open = self.file.take().map(|f| self.wrap(f));
        let mut batch = Batch::default();
        loop {
            // Under load more lines are on their way: `take` waits a moment
            // and takes them as a batch, rather than a wake-up per line for
            // the request path and a write per line.
            match lines.take(&mut batch, BATCH_WAIT) {
                Taken::Lines => {
                    for line in batch.lines() {
                        self.write(&mut open, line);
                    }
                    batch.trim();
                }
                Taken::Idle => {
                    self.flush(&mut open);
                    lines.wait();
                }
                Taken::Closed => break,
            }
        }
        self.flush(&mut open);
        let _ = done.send(());
    }

    fn write(&self, open: &mut Option<Open>, line: &[u8]) {
        let len = line.len() as u64;
        let rotate = self.max_bytes > 0
            && open
                .as_ref()
                .is_some_and(|o| o.size > 0 && o.size + len > self.max_bytes);
        if self.reopen.swap(false, Ordering::Relaxed) || rotate {
            self.flush(open);
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
        o.buf.push(line);
        o.size += len;
        if o.buf.bytes().len() >= BUFFER_BYTES {
            self.flush(open);
        }
    }

    /// Writes the buffered lines out. On failure (a full disk), the lines
    /// that reached the sink whole count as written and the rest as
    /// failed; a line cut short is truncated away, and the file is opened
    /// again for the next event.
    fn flush(&self, open: &mut Option<Open>) {
        let Some(o) = open.as_mut() else { return };
        if o.buf.is_empty() {
            return;
        }
        let start = o.size - o.buf.bytes().len() as u64;
        let mut done = 0;
        let result = loop {
            let Some(rest) = o.buf.bytes().get(done..).filter(|r| !r.is_empty()) else {
                break Ok(());
            };
            match o.out.write(rest) {
                Ok(0) => break Err(std::io::Error::from(ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let whole = o.buf.ends().iter().take_while(|end| **end <= done).count();
        let whole_bytes = whole
            .checked_sub(1)
            .and_then(|i| o.buf.ends().get(i))
            .copied()
            .unwrap_or(0);
        self.stats
            .written
            .fetch_add(whole as u64, Ordering::Relaxed);
        let failed = o.buf.len() - whole;
        o.buf.clear();
        let Err(e) = result.and_then(|()| match &mut o.out {
            Out::Stdout(out) => out.flush(),
            Out::File(_) => Ok(()),
        }) else {
            return;
        };
        tracing::warn!(error = %e, written = whole, failed, "decision log: write failed; reopening");
        self.stats
            .failed
            .fetch_add(failed as u64, Ordering::Relaxed);
        if done > whole_bytes
            && let Err(e) = o.out.truncate(start + whole_bytes as u64)
        {
            tracing::warn!(error = %e, "decision log: cannot remove a partial line");
        }
        *open = None;
    }

    fn open(&self) -> Option<Open> {
        match &self.target {
            Target::Stdout => Some(Open {
                out: Out::Stdout(std::io::stdout()),
                buf: Batch::with_capacity(BUFFER_BYTES),
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
            out: Out::File(file),
            buf: Batch::with_capacity(BUFFER_BYTES),
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
