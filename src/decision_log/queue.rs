//! The queue between the threads that answer calls and the writer thread:
//! encoded lines appended to one buffer under a lock, which the writer
//! takes whole, a batch at a time, leaving an empty buffer in its place.
//!
//! A line is encoded by the thread that answered the call, which also frees
//! the request it allocated; the writer only copies bytes to the sink, so
//! one writer thread keeps up with about three times as many lines a second
//! as when it encoded them too (BENCHMARKS.md, "Session 12").

use std::{
    sync::{
        Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::Notify;

/// Lines waiting for the writer, bounded by a count of lines.
#[derive(Debug)]
pub(super) struct Lines {
    pending: Mutex<Pending>,
    /// How many lines wait, read without the lock to skip encoding a line
    /// that a full queue would drop.
    len: AtomicUsize,
    /// Wakes the writer when it waits for lines (or for the close).
    arrived: Condvar,
    /// Wakes handlers that wait for room ([`super::Overflow::Block`]) when
    /// the writer takes a batch, or when the log closes.
    room: Notify,
    /// Lines that may wait before a push is refused.
    capacity: usize,
}

/// Encoded lines: their bytes, and where each one ends.
#[derive(Debug, Default)]
pub(super) struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// Each line, with its newline.
    pub(super) fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| self.bytes.get(start..end).unwrap_or_default())
    }

    /// An empty batch with room for `bytes` bytes of lines.
    pub(super) fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::new(),
        }
    }

    /// Appends `line` (with its newline).
    pub(super) fn push(&mut self, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
    }

    /// How many lines it holds.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it holds no line.
    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Its lines' bytes, one after the other.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where each line ends in [`Batch::bytes`].
    pub(super) fn ends(&self) -> &[usize] {
        &self.ends
    }

    /// Forgets every line, keeping the memory.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Gives back the memory of a burst: a buffer that grew past
    /// [`KEPT_BYTES`] shrinks to it once written. The two buffers take
    /// turns with the writer, so both shrink.
    pub(super) fn trim(&mut self) {
        if self.bytes.capacity() > KEPT_BYTES {
            self.bytes.clear();
            self.bytes.shrink_to(KEPT_BYTES);
            self.ends.clear();
            self.ends.shrink_to(KEPT_BYTES / 512);
        }
    }
}

/// The bytes a batch buffer keeps between bursts: 256 lines of 1 KiB,
/// more than 2 ms of lines at 30,000 calls a second.
const KEPT_BYTES: usize = 256 * 1024;

#[derive(Debug, Default)]
struct Pending {
    batch: Batch,
    closed: bool,
    /// The writer waits on `arrived`: the next push wakes it.
    writer_waits: bool,
}

/// Why a line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// `capacity` lines wait already.
    Full,
    /// The log is closing or closed.
    Closed,
}

/// What [`Lines::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Taken {
    /// Lines to write, now in the caller's batch.
    Lines,
    /// The queue stayed empty for the batch wait: flush, then call
    /// [`Lines::wait`].
    Idle,
    /// The log is closed and every line has been taken.
    Closed,
}

impl Lines {
    /// A queue holding at most `capacity` lines (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            pending: Mutex::default(),
            len: AtomicUsize::new(0),
            arrived: Condvar::new(),
            room: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while the lock was held cannot leave the batch torn
        // (each change is one push), so the data stays usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a push would be refused as full now (read without the lock,
    /// so only a hint).
    pub(super) fn looks_full(&self) -> bool {
        self.len.load(Ordering::Relaxed) >= self.capacity
    }

    /// Queues `line` (one encoded line with its newline), or says why not.
    pub(super) fn push(&self, line: &[u8]) -> Result<(), Refused> {
        let mut pending = self.lock();
        if pending.closed {
            return Err(Refused::Closed);
        }
        if pending.batch.len() >= self.capacity {
            return Err(Refused::Full);
        }
        pending.batch.push(line);
        self.len.store(pending.batch.len(), Ordering::Relaxed);
        let wake = std::mem::take(&mut pending.writer_waits);
        drop(pending);
        if wake {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// Queues `line`, waiting for room while the queue is full; refused
    /// only when the log closes.
    pub(super) async fn push_waiting(&self, line: &[u8]) -> Result<(), Refused> {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before the push is tried, so a batch taken in
            // between still wakes this handler.
            room.as_mut().enable();
            match self.push(line) {
                Err(Refused::Full) => room.await,
                done => return done,
            }
        }
    }

    /// The writer's side: swaps the waiting lines into `into` (which must
    /// be empty). When none wait, sleeps `batch_wait` first, so that under
    /// load lines are taken in batches rather than one wake-up each.
    pub(super) fn take(&self, into: &mut Batch, batch_wait: Duration) -> Taken {
        into.clear();
        let mut pending = self.lock();
        if pending.batch.is_empty() && !pending.closed {
            drop(pending);
            std::thread::sleep(batch_wait);
            pending = self.lock();
        }
        if pending.batch.is_empty() {
            return if pending.closed {
                Taken::Closed
            } else {
                Taken::Idle
            };
        }
        std::mem::swap(&mut pending.batch, into);
        self.len.store(0, Ordering::Relaxed);
        drop(pending);
        self.room.notify_waiters();
        Taken::Lines
    }

    /// The writer's side: blocks until a line arrives or the log closes.
    pub(super) fn wait(&self) {
        let mut pending = self.lock();
        while pending.batch.is_empty() && !pending.closed {
            pending.writer_waits = true;
            pending = self
                .arrived
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Refuses later lines; the waiting ones are still taken. Wakes the
    /// writer and every handler waiting for room.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.arrived.notify_all();
        self.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Batch, Lines, Refused, Taken};

    const NO_WAIT: Duration = Duration::ZERO;

    #[test]
    fn lines_come_out_whole_in_order_and_the_bound_holds() {
        let lines = Lines::new(2);
        assert_eq!(lines.push(b"{\"a\":1}\n"), Ok(()));
        assert_eq!(lines.push(b"{}\n"), Ok(()));
        assert!(lines.looks_full());
        assert_eq!(lines.push(b"{}\n"), Err(Refused::Full));
        let mut batch = Batch::default();
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        let got: Vec<&[u8]> = batch.lines().collect();
        assert_eq!(got, [&b"{\"a\":1}\n"[..], b"{}\n"]);
        assert!(!lines.looks_full());
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Idle);
        assert_eq!(batch.lines().count(), 0);
    }

    #[test]
    fn a_burst_buffer_shrinks_once_written() {
        let lines = Lines::new(10_000);
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..1000 {
            assert_eq!(lines.push(&line), Ok(()));
        }
        let mut batch = Batch::default();
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        assert!(batch.bytes.capacity() >= 1000 * 1024);
        batch.trim();
        assert!(batch.bytes.capacity() <= super::KEPT_BYTES);
        assert_eq!(batch.lines().count(), 0);
        // A small batch keeps its buffer.
        assert_eq!(lines.push(&line), Ok(()));
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        let kept = batch.bytes.capacity();
        batch.trim();
        assert_eq!(batch.bytes.capacity(), kept);
    }

    #[test]
    fn a_close_keeps_the_waiting_lines_and_refuses_new_ones() {
        let lines = Lines::new(4);
        assert_eq!(lines.push(b"1\n"), Ok(()));
        lines.close();
        assert_eq!(lines.push(b"2\n"), Err(Refused::Closed));
        let mut batch = Batch::default();
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        assert_eq!(batch.lines().collect::<Vec<_>>(), [&b"1\n"[..]]);
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Closed);
        // Closed: the writer's wait returns at once.
        lines.wait();
    }

    #[test]
    fn a_waiting_writer_wakes_for_a_line_from_another_thread() {
        let lines = std::sync::Arc::new(Lines::new(4));
        let writer = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                lines.wait();
                let mut batch = Batch::default();
                let taken = lines.take(&mut batch, NO_WAIT);
                (taken, batch.lines().map(<[u8]>::to_vec).collect::<Vec<_>>())
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(lines.push(b"x\n"), Ok(()));
        let (taken, got) = writer.join().unwrap();
        assert_eq!(taken, Taken::Lines);
        assert_eq!(got, [b"x\n".to_vec()]);
    }

    /// A queue of one line, full, and a push waiting for room in it.
    async fn a_blocked_push() -> (
        std::sync::Arc<Lines>,
        tokio::task::JoinHandle<Result<(), Refused>>,
    ) {
        let lines = std::sync::Arc::new(Lines::new(1));
        assert_eq!(lines.push(b"1\n"), Ok(()));
        let blocked = {
            let lines = lines.clone();
            tokio::spawn(async move { lines.push_waiting(b"2\n").await })
        };
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        (lines, blocked)
    }

    #[tokio::test]
    async fn a_blocked_push_goes_in_once_the_writer_takes_a_batch() {
        let (lines, blocked) = a_blocked_push().await;
        let mut batch = Batch::default();
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        assert_eq!(blocked.await.unwrap(), Ok(()));
        assert_eq!(lines.take(&mut batch, NO_WAIT), Taken::Lines);
        assert_eq!(batch.lines().collect::<Vec<_>>(), [&b"2\n"[..]]);
    }

    #[tokio::test]
    async fn a_close_releases_a_blocked_push() {
        let (lines, blocked) = a_blocked_push().await;
        lines.close();
        assert_eq!(blocked.await.unwrap(), Err(Refused::Closed));
    }
}
