//! Per-ID accounting: the single source of truth for the summary.
//!
//! Every ID read is counted once as read and then lands in exactly one
//! bucket. Duplicates and invalid IDs are counted as they are read; every
//! valid ID travels inside a [`Batch`], and a batch can only end by being
//! settled, explicitly or, if it is dropped on any path (an error, an
//! aborted task, Ctrl-C), by its `Drop`: as failed if it was ever sent, else
//! as unsent. So the identity
//! `ids_read = duplicates + invalid + confirmed + failed + unsent`
//! holds by construction, and every unconfirmed ID is kept for
//! `--failed-ids`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::api::Problem;
use crate::ids::list::split_picked;
use crate::ids::{IdList, IdSet};
use crate::journal::sink::{Origins, Settled, SinkTx};
use crate::report::Outcome;

const MAX_DISTINCT_PROBLEMS: usize = 100;

/// The counters and the unconfirmed IDs of one run.
#[derive(Default)]
pub struct Ledger {
    ids_read: AtomicU64,
    duplicates: AtomicU64,
    invalid: AtomicU64,
    batched: AtomicU64,
    confirmed: AtomicU64,
    failed: AtomicU64,
    unsent: AtomicU64,
    missing: AtomicU64,
    not_found: AtomicU64,
    /// Keep the confirmed IDs (for `tag --verify`, which reads them back).
    keep_confirmed: std::sync::atomic::AtomicBool,
    confirmed_ids: Mutex<Vec<IdList>>,
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    isolation_requests: AtomicU64,
    next_seq: AtomicU64,
    resumed: AtomicU64,
    /// Set by [`Ledger::close`]: what settles after it was already counted.
    /// Settlements hold it for reading, so none straddles the close.
    closed: RwLock<bool>,
    unconfirmed: Mutex<Vec<Unconfirmed>>,
    problems: Mutex<Vec<(Problem, u64)>>,
    /// The `--journal` / `--report` sink: settlements go there too.
    sink: Mutex<Option<SinkTx>>,
    /// The IDs a `--journal` confirmed, until the reader takes them.
    preloaded: Mutex<Option<IdSet>>,
}

/// IDs not confirmed, with where they stood in their batch when it was
/// split (a 422 settles some IDs of a batch before the rest).
struct Unconfirmed {
    bucket: Bucket,
    seq: u64,
    positions: Option<Vec<u16>>,
    ids: IdList,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every ID read, valid or not.
    pub ids_read: u64,
    /// Repeats of an ID read before.
    pub duplicates: u64,
    /// IDs that do not match the API's pattern.
    pub invalid: u64,
    /// Valid IDs put into batches so far.
    pub batched: u64,
    /// IDs answered by a 204 (in this run, or in the one a `--journal`
    /// resumes: those are also in `resumed`).
    pub confirmed: u64,
    /// IDs an earlier run's `--journal` recorded as confirmed; not sent.
    pub resumed: u64,
    /// IDs sent but not confirmed.
    pub failed: u64,
    /// IDs never sent.
    pub unsent: u64,
    /// Verify: returned without (or, for `absent`, with) the tag.
    pub missing: u64,
    /// Verify: asked for and not returned.
    pub not_found: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Requests that repeated a batch (429, 5xx, network).
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Extra requests spent isolating IDs the server rejected (422).
    pub isolation_requests: u64,
}

impl Counts {
    /// IDs in batches that are not settled yet.
    pub fn pending(&self) -> u64 {
        // Resumed IDs are confirmed without a batch.
        (self.batched + self.resumed).saturating_sub(self.done())
    }

    /// IDs settled one way or another.
    pub fn done(&self) -> u64 {
        self.confirmed + self.failed + self.unsent + self.missing + self.not_found
    }

    /// Whether the accounting identity holds.
    pub fn balanced(&self) -> bool {
        self.ids_read == self.duplicates + self.invalid + self.done()
    }
}

/// A request counter of the ledger.
#[derive(Debug, Clone, Copy)]
pub enum Tally {
    /// One request sent.
    Request,
    /// One retry.
    Retry,
    /// One 429.
    RateLimited,
    /// One isolation request.
    Isolation,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere; the data is still the best
    // record there is, and the summary must still be written.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ledger {
    /// A new, shared ledger.
    pub fn new() -> Arc<Ledger> {
        Arc::new(Ledger::default())
    }

    /// Counts what a reader saw since its last report: IDs read, of which
    /// duplicates and invalid. The rest arrive in batches.
    pub fn read(&self, ids: u64, duplicates: u64, invalid: u64) {
        self.ids_read.fetch_add(ids, Relaxed);
        self.duplicates.fetch_add(duplicates, Relaxed);
        self.invalid.fetch_add(invalid, Relaxed);
    }

    /// Opens a batch for valid, unique IDs.
    pub fn batch(self: &Arc<Self>, ids: IdList) -> Batch {
        self.batched.fetch_add(ids.len() as u64, Relaxed);
        Batch {
            seq: self.next_seq.fetch_add(1, Relaxed) + 1,
            positions: None,
            ids,
            ledger: Arc::clone(self),
            tried: false,
            settled: false,
            origins: None,
            note: Note::default(),
        }
    }

    /// Sends every settlement to `sink` as well (`--journal`, `--report`).
    /// Confirmed IDs are then counted when the sink says they are durable,
    /// through [`Ledger::durable`].
    pub fn attach(&self, sink: SinkTx) {
        *lock(&self.sink) = Some(sink);
    }

    /// Stops sending to the sink (at the end of the run).
    pub fn detach(&self) -> Option<SinkTx> {
        lock(&self.sink).take()
    }

    /// The sink, for the reader's rows.
    pub fn sink(&self) -> Option<SinkTx> {
        lock(&self.sink).clone()
    }

    /// `n` confirmed IDs are on the disk (the sink's callback).
    pub fn durable(&self, n: u64) {
        self.confirmed.fetch_add(n, Relaxed);
    }

    /// Hands the reader the IDs an earlier run confirmed.
    pub fn set_preloaded(&self, set: IdSet) {
        *lock(&self.preloaded) = Some(set);
    }

    /// Takes them (once).
    pub fn take_preloaded(&self) -> Option<IdSet> {
        lock(&self.preloaded).take()
    }

    /// Counts IDs read that an earlier run confirmed: confirmed, resumed.
    pub fn resumed(&self, n: u64) {
        self.resumed.fetch_add(n, Relaxed);
        self.confirmed.fetch_add(n, Relaxed);
    }

    /// Opens a batch whose IDs' origins travel with it (for `--report`).
    pub fn batch_from(self: &Arc<Self>, ids: IdList, origins: Option<Origins>) -> Batch {
        let mut batch = self.batch(ids);
        batch.origins = origins.map(Arc::new);
        batch
    }

    /// Counts a request event.
    pub fn tally(&self, what: Tally) {
        let counter = match what {
            Tally::Request => &self.requests,
            Tally::Retry => &self.retries,
            Tally::RateLimited => &self.rate_limited,
            Tally::Isolation => &self.isolation_requests,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Records a problem for the summary; the same problem again (its
    /// `instance` aside, which names each occurrence) is counted, not
    /// repeated.
    pub fn problem(&self, problem: &Problem) {
        let same = |p: &Problem| {
            p.status == problem.status
                && p.kind == problem.kind
                && p.title == problem.title
                && p.detail == problem.detail
                && p.invalid_fields == problem.invalid_fields
        };
        let mut problems = lock(&self.problems);
        if let Some((_, n)) = problems.iter_mut().find(|(p, _)| same(p)) {
            *n += 1;
        } else if problems.len() < MAX_DISTINCT_PROBLEMS {
            problems.push((problem.clone(), 1));
        }
    }

    /// The distinct problems met, with how often each was met.
    pub fn problems(&self) -> Vec<(Problem, u64)> {
        lock(&self.problems).clone()
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        // Settled buckets are read before `batched`, so a concurrent
        // settlement can never make `pending` negative.
        // `resumed` after `confirmed`: it is added first.
        let confirmed = self.confirmed.load(Relaxed);
        let resumed = self.resumed.load(Relaxed);
        let failed = self.failed.load(Relaxed);
        let unsent = self.unsent.load(Relaxed);
        let missing = self.missing.load(Relaxed);
        let not_found = self.not_found.load(Relaxed);
        Counts {
            ids_read: self.ids_read.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            invalid: self.invalid.load(Relaxed),
            batched: self.batched.load(Relaxed),
            confirmed,
            resumed,
            failed,
            unsent,
            missing,
            not_found,
            requests: self.requests.load(Relaxed),
            retries: self.retries.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            isolation_requests: self.isolation_requests.load(Relaxed),
        }
    }

    /// Ends the run's accounting and returns the final counts. Batches not
    /// settled by now (still with a reader thread that was left behind after
    /// an abort) were never sent: they are counted as unsent here, and
    /// anything that settles later changes nothing.
    pub fn close(&self) -> Counts {
        let mut closed = self.closed.write().unwrap_or_else(|p| p.into_inner());
        *closed = true;
        let pending = self.counts().pending();
        self.unsent.fetch_add(pending, Relaxed);
        self.counts()
    }

    /// Writes every unconfirmed ID, in input order, one per line.
    pub fn write_unconfirmed(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut lists = std::mem::take(&mut *lock(&self.unconfirmed));
        lists.sort_by_key(|u| u.seq);
        let mut result = Ok(());
        for group in lists.chunk_by(|a, b| a.seq == b.seq) {
            result = result.and_then(|_| write_group(group, out));
        }
        *lock(&self.unconfirmed) = lists;
        result
    }

    /// Keeps the confirmed IDs from now on, for [`Ledger::take_confirmed`].
    pub fn keep_confirmed(&self) {
        self.keep_confirmed.store(true, Relaxed);
    }

    /// The confirmed IDs kept since [`Ledger::keep_confirmed`].
    pub fn take_confirmed(&self) -> Vec<IdList> {
        std::mem::take(&mut *lock(&self.confirmed_ids))
    }

    /// Takes the `missing` IDs back out of their bucket (they count as
    /// neither batched nor settled any more), to be checked again.
    pub fn take_missing(&self) -> Vec<IdList> {
        let _closed = self.closed.read().unwrap_or_else(|p| p.into_inner());
        let mut all = lock(&self.unconfirmed);
        let (missing, rest): (Vec<Unconfirmed>, Vec<Unconfirmed>) = std::mem::take(&mut *all)
            .into_iter()
            .partition(|u| matches!(u.bucket, Bucket::Missing));
        *all = rest;
        let n: u64 = missing.iter().map(|u| u.ids.len() as u64).sum();
        self.missing.fetch_sub(n, Relaxed);
        self.batched.fetch_sub(n, Relaxed);
        missing.into_iter().map(|u| u.ids).collect()
    }

    fn settle(
        &self,
        seq: u64,
        positions: &mut Option<Vec<u16>>,
        ids: &mut IdList,
        bucket: Bucket,
        note: &Note,
    ) {
        let closed = self.closed.read().unwrap_or_else(|p| p.into_inner());
        if *closed {
            return;
        }
        let n = ids.len() as u64;
        if n > 0
            && let Some(sink) = &*lock(&self.sink)
        {
            let outcome = match bucket {
                Bucket::Confirmed => Outcome::Confirmed,
                Bucket::Failed => Outcome::Failed,
                Bucket::Unsent => Outcome::Unsent,
                Bucket::Missing => Outcome::Missing,
                Bucket::NotFound => Outcome::NotFound,
            };
            let confirmed = matches!(bucket, Bucket::Confirmed);
            if confirmed && n > 0 && self.keep_confirmed.load(Relaxed) {
                // tag --verify reads them back, journaled or not.
                lock(&self.confirmed_ids).push(ids.clone());
            }
            let settled = Settled {
                // Confirmed IDs are not kept here; the others are, for
                // --failed-ids.
                ids: if confirmed {
                    std::mem::take(ids)
                } else {
                    ids.clone()
                },
                positions: if confirmed {
                    positions.take()
                } else {
                    positions.clone()
                },
                origins: note.origins.clone(),
                outcome,
                status: if confirmed { Some(204) } else { note.status },
                detail: note
                    .detail
                    .clone()
                    .filter(|_| !confirmed)
                    .unwrap_or_else(|| Arc::from("")),
            };
            if sink.settled(settled) && confirmed {
                // Counted when durable.
                return;
            }
        }
        match bucket {
            Bucket::Confirmed => {
                self.confirmed.fetch_add(n, Relaxed);
                if n > 0 && self.keep_confirmed.load(Relaxed) {
                    lock(&self.confirmed_ids).push(std::mem::take(ids));
                }
                return;
            }
            Bucket::Failed => self.failed.fetch_add(n, Relaxed),
            Bucket::Unsent => self.unsent.fetch_add(n, Relaxed),
            Bucket::Missing => self.missing.fetch_add(n, Relaxed),
            Bucket::NotFound => self.not_found.fetch_add(n, Relaxed),
        };
        if n > 0 {
            lock(&self.unconfirmed).push(Unconfirmed {
                bucket,
                seq,
                positions: positions.take(),
                ids: std::mem::take(ids),
            });
        }
    }
}

/// Writes the unconfirmed parts of one batch in their original order.
fn write_group(group: &[Unconfirmed], out: &mut impl Write) -> std::io::Result<()> {
    if let [one] = group
        && one.positions.is_none()
    {
        return one.ids.write_lines(out);
    }
    let mut pairs: Vec<(u16, &str)> = group
        .iter()
        .flat_map(|u| {
            u.ids.iter().enumerate().map(|(i, id)| {
                let pos = u.positions.as_ref().map_or(i as u16, |p| p[i]);
                (pos, id)
            })
        })
        .collect();
    pairs.sort_by_key(|(pos, _)| *pos);
    for (_, id) in pairs {
        out.write_all(id.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Confirmed,
    Failed,
    Unsent,
    Missing,
    NotFound,
}

/// Valid IDs on their way to the server. See the module docs for why it
/// settles itself when dropped.
pub struct Batch {
    seq: u64,
    /// Each ID's index in the batch as first made; `None` until a split.
    positions: Option<Vec<u16>>,
    ids: IdList,
    ledger: Arc<Ledger>,
    tried: bool,
    settled: bool,
    origins: Option<Arc<Origins>>,
    note: Note,
}

/// The last word on a batch, for `--report`.
#[derive(Default, Clone)]
struct Note {
    origins: Option<Arc<Origins>>,
    status: Option<u16>,
    detail: Option<Arc<str>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("seq", &self.seq)
            .field("len", &self.ids.len())
            .finish()
    }
}

impl Batch {
    /// The batch's number, 1-based, in the order batches were made.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The IDs.
    pub fn ids(&self) -> &IdList {
        &self.ids
    }

    /// The number of IDs.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Notes the last answer (status, reason) for the report.
    pub fn note(&mut self, status: Option<u16>, detail: &str) {
        self.note.status = status;
        self.note.detail = Some(Arc::from(detail));
    }

    /// Whether a request that may have reached the server was sent.
    pub fn tried(&self) -> bool {
        self.tried
    }

    /// Marks whether a request for this batch may have been acted on. A
    /// refusal (429, 401/403, 422) was not, so the runner sets this back
    /// after one.
    pub fn set_tried(&mut self, tried: bool) {
        self.tried = tried;
    }

    /// The server confirmed every ID.
    pub fn confirm(self) {
        self.finish(Bucket::Confirmed);
    }

    /// The IDs were sent and not confirmed.
    pub fn fail(self) {
        self.finish(Bucket::Failed);
    }

    /// The IDs were never acted on.
    pub fn leave_unsent(self) {
        self.finish(Bucket::Unsent);
    }

    /// Settles each ID of a verify read as its fate says (one per ID, in
    /// order): matching as confirmed, unchecked as failed.
    pub fn settle_fates(mut self, fates: &[crate::api::customers::Fate]) {
        use crate::api::customers::Fate;
        let positions = self.positions();
        for (fate, bucket) in [
            (Fate::Matching, Bucket::Confirmed),
            (Fate::Missing, Bucket::Missing),
            (Fate::NotFound, Bucket::NotFound),
            (Fate::Unchecked, Bucket::Failed),
        ] {
            let picked: Vec<usize> = (0..self.ids.len())
                .filter(|&i| fates.get(i).copied().unwrap_or(Fate::Unchecked) == fate)
                .collect();
            if picked.is_empty() {
                continue;
            }
            let mut ids: IdList = picked.iter().map(|&i| self.ids.get(i)).collect();
            let mut part = Some(picked.iter().map(|&i| positions[i]).collect());
            self.ledger
                .settle(self.seq, &mut part, &mut ids, bucket, &self.note);
        }
        self.settled = true;
    }

    /// Splits into two batches, for bisection.
    pub fn halves(mut self) -> (Batch, Batch) {
        let (a, b) = self.ids.halves();
        let positions = self.positions();
        let (pa, pb) = positions.split_at(a.len());
        self.settled = true;
        (self.child(a, pa.to_vec()), self.child(b, pb.to_vec()))
    }

    /// Splits off the IDs at `indices` (sorted, in range): `(picked, rest)`.
    pub fn pick(mut self, indices: &[usize]) -> (Batch, Batch) {
        let (picked, rest) = self.ids.partition(indices);
        let (pp, pr): (Vec<u16>, Vec<u16>) = split_picked(self.positions(), indices);
        self.settled = true;
        (self.child(picked, pp), self.child(rest, pr))
    }

    fn positions(&mut self) -> Vec<u16> {
        self.positions
            .take()
            .unwrap_or_else(|| (0..self.ids.len() as u16).collect())
    }

    fn child(&self, ids: IdList, positions: Vec<u16>) -> Batch {
        Batch {
            seq: self.seq,
            positions: Some(positions),
            ids,
            ledger: Arc::clone(&self.ledger),
            tried: self.tried,
            settled: false,
            origins: self.origins.clone(),
            note: self.note.clone(),
        }
    }

    fn finish(mut self, bucket: Bucket) {
        self.settle_now(bucket);
    }

    fn settle_now(&mut self, bucket: Bucket) {
        let note = Note {
            origins: self.origins.clone(),
            ..std::mem::take(&mut self.note)
        };
        self.ledger
            .settle(self.seq, &mut self.positions, &mut self.ids, bucket, &note);
        self.settled = true;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.settled {
            let bucket = if self.tried {
                Bucket::Failed
            } else {
                Bucket::Unsent
            };
            self.settle_now(bucket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[&str]) -> IdList {
        ids.iter().copied().collect()
    }

    #[test]
    fn every_path_settles_exactly_once() {
        let ledger = Ledger::new();
        ledger.read(13, 1, 1);
        ledger.batch(list(&["a", "b"])).confirm();
        let mut tried = ledger.batch(list(&["c"]));
        tried.set_tried(true);
        drop(tried);
        drop(ledger.batch(list(&["d"])));
        let (x, y) = ledger.batch(list(&["e", "f", "g"])).pick(&[1]);
        x.fail();
        y.confirm();
        // A split batch's unconfirmed IDs come out in their input order.
        let (bad, rest) = ledger.batch(list(&["h", "i", "j", "k"])).pick(&[2]);
        bad.fail();
        let (l, r) = rest.halves();
        r.fail();
        l.leave_unsent();
        let c = ledger.counts();
        assert_eq!((c.confirmed, c.failed, c.unsent, c.pending()), (4, 5, 2, 0));
        assert!(c.balanced());
        let mut out = Vec::new();
        ledger.write_unconfirmed(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "c\nd\nf\nh\ni\nj\nk\n");
    }

    #[test]
    fn closing_counts_what_is_still_pending_as_unsent_once() {
        let ledger = Ledger::new();
        ledger.read(3, 0, 0);
        ledger.batch(list(&["a"])).confirm();
        let stuck = ledger.batch(list(&["b", "c"]));
        let c = ledger.close();
        assert_eq!((c.confirmed, c.unsent, c.pending()), (1, 2, 0));
        assert!(c.balanced());
        // Settling after the close changes nothing.
        drop(stuck);
        assert_eq!(ledger.counts(), c);
    }

    #[test]
    fn identical_problems_are_counted_once() {
        let ledger = Ledger::new();
        let p = Problem::from_response(500, None, b"");
        ledger.problem(&p);
        ledger.problem(&p);
        assert_eq!(ledger.problems(), [(p, 2)]);
    }
}
