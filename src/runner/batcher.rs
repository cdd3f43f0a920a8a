//! The reader thread's partial batch: filled ID by ID, sent when full, and
//! also when the input pauses (see [`crate::ids::stream`]): after
//! [`IDLE`](crate::ids::stream::IDLE) without a byte, or once its first ID
//! is [`MAX_AGE`] old, so that a slow producer is tagged as it goes.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::ids::IdList;
use crate::ids::stream::{MAX_AGE, Pause};
use crate::ids::{Origin, Raw, Verdict};
use crate::journal::sink::{Origins, ReaderRows};
use crate::ledger::{Batch, Ledger};

/// A batch being filled, and the counts read since the last one left.
pub(crate) struct Batcher {
    size: usize,
    current: IdList,
    started: Instant,
    pub read: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// IDs a `--journal` confirmed (counted, never batched).
    pub resumed: u64,
    /// Those IDs, for `tag --verify` (which reads them back too).
    kept: Option<IdList>,
    /// The current batch's origins, with `--report`.
    pub origins: Option<Origins>,
    /// The reader's `--report` rows, if one is written.
    pub rows: Option<ReaderRows>,
    ledger: Arc<Ledger>,
    tx: mpsc::Sender<Batch>,
    /// The runner hung up: nothing more can be sent.
    pub closed: bool,
}

impl Batcher {
    pub fn new(size: usize, ledger: Arc<Ledger>, tx: mpsc::Sender<Batch>) -> Batcher {
        Batcher {
            size,
            current: IdList::with_capacity(size),
            started: Instant::now(),
            read: 0,
            duplicates: 0,
            invalid: 0,
            resumed: 0,
            kept: ledger.keeps_confirmed().then(IdList::default),
            origins: None,
            rows: None,
            ledger,
            tx,
            closed: false,
        }
    }

    /// Adds an ID, sending the batch when it is full. False once the
    /// runner has hung up.
    #[inline]
    pub fn push(&mut self, id: &str) -> bool {
        if self.current.is_empty() {
            self.started = Instant::now();
        }
        self.current.push(id);
        if self.current.len() == self.size {
            return self.flush();
        }
        !self.closed
    }

    /// Hands the counts to the ledger and sends the partial batch, if any.
    pub fn flush(&mut self) -> bool {
        self.count();
        if !self.current.is_empty() && !self.closed {
            let ids = std::mem::replace(&mut self.current, IdList::with_capacity(self.size));
            let origins = self.origins.as_mut().map(std::mem::take);
            if self
                .tx
                .blocking_send(self.ledger.batch_from(ids, origins))
                .is_err()
            {
                self.closed = true;
            }
        }
        !self.closed
    }

    /// Counts what is left as read and never sent (the input was read the
    /// wrong way: nothing of it should go out).
    pub fn abandon(&mut self) {
        self.count();
        if !self.current.is_empty() {
            let ids = std::mem::take(&mut self.current);
            let origins = self.origins.as_mut().map(std::mem::take);
            self.ledger.batch_from(ids, origins).leave_unsent();
        }
    }

    /// Notes a record for `--report` (its origin, or its row).
    #[inline]
    pub fn observe(&mut self, origin: &Origin<'_>, raw: Raw<'_>, verdict: &Verdict<'_>) {
        if let Some(rows) = &mut self.rows {
            rows.observe(origin, raw, verdict, &mut self.origins);
        }
    }

    /// The end of the input: the last batch and the last rows go.
    pub fn finish(&mut self) {
        self.flush();
        if let Some(rows) = self.rows.take() {
            rows.finish();
        }
    }

    /// An ID an earlier run's journal confirmed: counted, and kept if the
    /// confirmed IDs are read back.
    #[inline]
    pub fn resume(&mut self, id: &str) {
        self.resumed += 1;
        if let Some(kept) = &mut self.kept {
            kept.push(id);
        }
    }

    /// Hands the counts read so far to the ledger.
    fn count(&mut self) {
        self.ledger.read(self.read, self.duplicates, self.invalid);
        self.ledger.resumed(self.resumed);
        if let Some(kept) = self.kept.as_mut().filter(|k| !k.is_empty()) {
            self.ledger.keep_resumed(std::mem::take(kept));
        }
        (self.read, self.duplicates, self.invalid, self.resumed) = (0, 0, 0, 0);
    }

    /// The input paused: send the partial batch when it has been idle, or
    /// when the batch is old.
    pub fn on_pause(&mut self, why: Pause) {
        if !self.current.is_empty() && (why == Pause::Idle || self.started.elapsed() >= MAX_AGE) {
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(batch: &Batch) -> Vec<&str> {
        batch.ids().iter().collect()
    }

    #[test]
    fn a_partial_batch_leaves_when_idle_or_old_and_a_full_one_at_once() {
        let ledger = Ledger::new();
        let (tx, mut rx) = mpsc::channel(8);
        let mut b = Batcher::new(3, Arc::clone(&ledger), tx);
        b.on_pause(Pause::Idle);
        assert!(rx.try_recv().is_err(), "nothing to send");
        for id in ["a", "b"] {
            b.read += 1;
            assert!(b.push(id));
        }
        b.on_pause(Pause::Chunk);
        assert!(rx.try_recv().is_err(), "young and busy: it waits");
        b.on_pause(Pause::Idle);
        let first = rx.try_recv().unwrap();
        assert_eq!(ids(&first), ["a", "b"]);
        b.read += 1;
        b.push("c");
        b.started -= MAX_AGE;
        b.on_pause(Pause::Chunk);
        assert_eq!(ids(&rx.try_recv().unwrap()), ["c"], "old: it leaves");
        for id in ["d", "e", "f"] {
            b.read += 1;
            b.push(id);
        }
        assert_eq!(ids(&rx.try_recv().unwrap()), ["d", "e", "f"], "full");
        assert_eq!(ledger.counts().ids_read, 6);
    }

    #[test]
    fn abandoned_ids_are_counted_unsent_and_never_sent() {
        let ledger = Ledger::new();
        let (tx, mut rx) = mpsc::channel(8);
        let mut b = Batcher::new(10, Arc::clone(&ledger), tx);
        b.read += 2;
        b.invalid += 1;
        b.push("a");
        b.abandon();
        b.flush();
        assert!(rx.try_recv().is_err());
        let c = ledger.counts();
        assert_eq!((c.ids_read, c.invalid, c.unsent), (2, 1, 1));
        assert!(c.balanced());
    }
}
