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
    /// A read job (verify): the report says matching/unchecked, and
    /// matching IDs are counted at once (no journal to wait for).
    reads: std::sync::atomic::AtomicBool,
    /// While verify's re-checks may follow, `missing` IDs go to the sink
    /// only at [`Ledger::release_missing`]: one row per ID, its last fate.
    defer_missing: std::sync::atomic::AtomicBool,
}

/// IDs not confirmed, with where they stood in their batch when it was
/// split (a 422 settles some IDs of a batch before the rest).
struct Unconfirmed {
    bucket: Bucket,
    seq: u64,
    positions: Option<Vec<u16>>,
    ids: IdList,
    /// A `missing` settlement not sent to the sink yet.
    deferred: Option<Deferred>,
}

/// What a deferred `missing` row will say.
struct Deferred {
    /// Each ID's source, by its index in the entry (with `--report`).
    origins: Option<Origins>,
    status: Option<u16>,
    detail: Option<Arc<str>>,
}

impl Deferred {
    fn new(note: &Note, origins: Option<Origins>) -> Deferred {
        Deferred {
            origins,
            status: note.status,
            detail: note.detail.clone(),
        }
    }
}

/// IDs handed back for another pass (verify's re-checks, `tag --verify`'s
/// read-back), with what they keep of their first batch: its number and
/// their positions in it (so `--missing-ids` stays in input order) and,
/// with `--report`, their sources.
#[derive(Debug, Default)]
pub struct Part {
    ids: IdList,
    /// The batch they were first made in, and each ID's position there.
    order: Option<(u64, Vec<u16>)>,
    /// Each ID's source, by its index in `ids`.
    origins: Option<Origins>,
}

impl From<IdList> for Part {
    fn from(ids: IdList) -> Part {
        Part {
            ids,
            ..Part::default()
        }
    }
}

impl Part {
    /// The number of IDs.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
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
    /// neither batched nor settled any more), to be checked again, in input
    /// order, each with its place and source.
    pub fn take_missing(&self) -> Vec<Part> {
        let _closed = self.closed.read().unwrap_or_else(|p| p.into_inner());
        let mut all = lock(&self.unconfirmed);
        let (mut missing, rest): (Vec<Unconfirmed>, Vec<Unconfirmed>) = std::mem::take(&mut *all)
            .into_iter()
            .partition(|u| matches!(u.bucket, Bucket::Missing));
        *all = rest;
        let n: u64 = missing.iter().map(|u| u.ids.len() as u64).sum();
        self.missing.fetch_sub(n, Relaxed);
        self.batched.fetch_sub(n, Relaxed);
        missing.sort_by_key(|u| u.seq);
        missing
            .into_iter()
            .map(|u| {
                let n = u.ids.len() as u16;
                Part {
                    order: Some((u.seq, u.positions.unwrap_or_else(|| (0..n).collect()))),
                    origins: u.deferred.and_then(|d| d.origins),
                    ids: u.ids,
                }
            })
            .collect()
    }

    /// From now on `missing` IDs wait for [`Ledger::release_missing`]
    /// before they go to the sink (verify's re-checks may change them).
    pub fn defer_missing(&self) {
        self.defer_missing.store(true, Relaxed);
    }

    /// Sends the deferred `missing` settlements to the sink: their fate is
    /// final now.
    pub fn release_missing(&self) {
        self.defer_missing.store(false, Relaxed);
        let sink = lock(&self.sink).clone();
        let mut all = lock(&self.unconfirmed);
        for u in all.iter_mut() {
            let (Some(d), Some(sink)) = (u.deferred.take(), &sink) else {
                continue;
            };
            sink.settled(Settled {
                ids: u.ids.clone(),
                positions: None,
                origins: d.origins.map(Arc::new),
                outcome: Outcome::Missing,
                status: d.status,
                detail: d.detail.unwrap_or_else(|| Arc::from("")),
            });
        }
    }

    /// This ledger counts a read job (verify): matching IDs settle as
    /// confirmed, and the report names the verify outcomes.
    pub fn judge_reads(&self) {
        self.reads.store(true, Relaxed);
    }

    /// Whether the confirmed IDs are kept (`tag --verify`).
    pub fn keeps_confirmed(&self) -> bool {
        self.keep_confirmed.load(Relaxed)
    }

    /// Keeps IDs an earlier run's journal confirmed, for the read-back.
    pub fn keep_resumed(&self, ids: IdList) {
        if !ids.is_empty() && self.keeps_confirmed() {
            lock(&self.confirmed_ids).push(ids);
        }
    }

    /// Batches of at most `size` IDs out of `parts`, handed to `send` (false:
    /// stop); each ID keeps its first batch's place and its source.
    pub fn rebatch(
        self: &Arc<Self>,
        parts: Vec<Part>,
        size: usize,
        mut send: impl FnMut(Batch) -> bool,
    ) {
        let reporting = parts.iter().any(|p| p.origins.is_some());
        let mut next = Rebatch::new(size, reporting);
        for part in parts {
            for (i, id) in part.ids.iter().enumerate() {
                next.push(&part, i, id);
                if next.ids.len() == size && !send(next.take(self)) {
                    return;
                }
            }
        }
        if !next.ids.is_empty() {
            send(next.take(self));
        }
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
        let n = ids.len() as u64;
        if *closed || n == 0 {
            return;
        }
        if bucket == Bucket::Confirmed && self.keeps_confirmed() {
            // tag --verify reads them back, journaled or not.
            lock(&self.confirmed_ids).push(ids.clone());
        }
        let deferred = bucket == Bucket::Missing && self.defer_missing.load(Relaxed);
        if !deferred && self.to_sink(positions, ids, bucket, note) {
            // Counted when durable.
            return;
        }
        match bucket {
            Bucket::Confirmed => {
                self.confirmed.fetch_add(n, Relaxed);
                return;
            }
            Bucket::Failed => self.failed.fetch_add(n, Relaxed),
            Bucket::Unsent => self.unsent.fetch_add(n, Relaxed),
            Bucket::Missing => self.missing.fetch_add(n, Relaxed),
            Bucket::NotFound => self.not_found.fetch_add(n, Relaxed),
        };
        self.keep_unconfirmed(
            seq,
            positions.take(),
            std::mem::take(ids),
            bucket,
            note,
            deferred,
        );
    }

    /// Sends a settlement to the sink, if there is one; true when the sink
    /// will count it (a confirmed write, once journaled). Confirmed IDs are
    /// taken; the others stay, for `--failed-ids`.
    fn to_sink(
        &self,
        positions: &mut Option<Vec<u16>>,
        ids: &mut IdList,
        bucket: Bucket,
        note: &Note,
    ) -> bool {
        // Held through the send, so that `detach` (and the sink's final
        // record) waits for a settlement already on its way; the send itself
        // only waits when the sink's bounded queue is full (a disk slower
        // than the API), which is the back-pressure that keeps memory flat.
        let sink = lock(&self.sink);
        let Some(sink) = &*sink else {
            return false;
        };
        let reads = self.reads.load(Relaxed);
        let outcome = match (bucket, reads) {
            (Bucket::Confirmed, false) => Outcome::Confirmed,
            (Bucket::Confirmed, true) => Outcome::Matching,
            (Bucket::Failed, false) => Outcome::Failed,
            (Bucket::Unsent, false) => Outcome::Unsent,
            (Bucket::Failed | Bucket::Unsent, true) => Outcome::Unchecked,
            (Bucket::Missing, _) => Outcome::Missing,
            (Bucket::NotFound, _) => Outcome::NotFound,
        };
        let write_confirmed = outcome == Outcome::Confirmed;
        let confirmed = bucket == Bucket::Confirmed;
        let settled = Settled {
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
            status: if write_confirmed {
                Some(204)
            } else {
                note.status
            },
            detail: note
                .detail
                .clone()
                .filter(|_| !write_confirmed)
                .unwrap_or_else(|| Arc::from("")),
        };
        sink.settled(settled) && write_confirmed
    }

    /// Keeps unconfirmed IDs for `--failed-ids` / `--missing-ids` (and for
    /// re-checks), under the batch they were first made in: a re-check's
    /// batch gives each ID back its first batch and position.
    fn keep_unconfirmed(
        &self,
        seq: u64,
        positions: Option<Vec<u16>>,
        ids: IdList,
        bucket: Bucket,
        note: &Note,
        deferred: bool,
    ) {
        let with_origins = deferred && note.origins.is_some();
        if note.former.is_none() && !with_origins {
            let deferred = deferred.then(|| Deferred::new(note, None));
            lock(&self.unconfirmed).push(Unconfirmed {
                bucket,
                seq,
                positions,
                ids,
                deferred,
            });
            return;
        }
        let mut entries: Vec<Unconfirmed> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let p = positions.as_ref().map_or(i, |p| p[i] as usize);
            let (first, pos) = note.former.as_ref().map_or((seq, p as u16), |f| f[p]);
            if entries.last().is_none_or(|u| u.seq != first) {
                entries.push(Unconfirmed {
                    bucket,
                    seq: first,
                    positions: Some(Vec::new()),
                    ids: IdList::default(),
                    deferred: deferred
                        .then(|| Deferred::new(note, with_origins.then(Origins::default))),
                });
            }
            let Some(u) = entries.last_mut() else {
                continue;
            };
            u.ids.push(id);
            u.positions.get_or_insert_default().push(pos);
            if let (
                Some(from),
                Some(Deferred {
                    origins: Some(to), ..
                }),
            ) = (&note.origins, &mut u.deferred)
            {
                let (source, line) = from.get(p);
                to.push(source, line);
            }
        }
        lock(&self.unconfirmed).extend(entries);
    }
}

/// The re-check batch being filled by [`Ledger::rebatch`].
struct Rebatch {
    size: usize,
    ids: IdList,
    /// Each ID's first batch and position; `None` once an ID has none.
    former: Option<Vec<(u64, u16)>>,
    origins: Option<Origins>,
    reporting: bool,
}

impl Rebatch {
    fn new(size: usize, reporting: bool) -> Rebatch {
        Rebatch {
            size,
            ids: IdList::with_capacity(size),
            former: Some(Vec::with_capacity(size)),
            origins: None,
            reporting,
        }
    }

    fn push(&mut self, part: &Part, i: usize, id: &str) {
        self.ids.push(id);
        match (&mut self.former, &part.order) {
            (Some(former), Some((seq, positions))) => former.push((*seq, positions[i])),
            _ => self.former = None,
        }
        if self.reporting {
            let (source, line) = part.origins.as_ref().map_or((0, 0), |o| o.get(i));
            self.origins.get_or_insert_default().push(source, line);
        }
    }

    fn take(&mut self, ledger: &Arc<Ledger>) -> Batch {
        let full = std::mem::replace(self, Rebatch::new(self.size, self.reporting));
        let mut batch = ledger.batch_from(full.ids, full.origins);
        batch.note.former = full.former.map(Arc::new);
        batch
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
    /// A re-check batch: each ID's first batch and position there.
    former: Option<Arc<Vec<(u64, u16)>>>,
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

    /// Settles each ID of a verify read (a 200) as its fate says (one per
    /// ID, in order): matching as confirmed, unchecked as failed; each with
    /// the reason the report gives. `present`: what was expected.
    pub fn settle_fates(mut self, fates: &[crate::api::customers::Fate], present: bool) {
        use crate::api::customers::Fate;
        let positions = self.positions();
        let missing = if present {
            "the tag is missing"
        } else {
            "the customer still carries the tag"
        };
        for (fate, bucket, detail) in [
            (Fate::Matching, Bucket::Confirmed, ""),
            (Fate::Missing, Bucket::Missing, missing),
            (Fate::NotFound, Bucket::NotFound, "no such customer"),
            (
                Fate::Unchecked,
                Bucket::Failed,
                "the answer did not show this customer's tags",
            ),
        ] {
            let picked: Vec<usize> = (0..self.ids.len())
                .filter(|&i| fates.get(i).copied().unwrap_or(Fate::Unchecked) == fate)
                .collect();
            if picked.is_empty() {
                continue;
            }
            let mut ids: IdList = picked.iter().map(|&i| self.ids.get(i)).collect();
            let mut part = Some(picked.iter().map(|&i| positions[i]).collect());
            let note = Note {
                origins: self.origins.clone(),
                status: Some(200),
                detail: Some(Arc::from(detail)),
                former: self.note.former.clone(),
            };
            self.ledger
                .settle(self.seq, &mut part, &mut ids, bucket, &note);
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
    fn rechecked_ids_keep_their_input_place_and_missing_ones_settle_once() {
        use crate::api::customers::Fate::*;
        let ledger = Ledger::new();
        ledger.read(5, 0, 0);
        ledger.defer_missing();
        ledger
            .batch(list(&["a", "b", "c"]))
            .settle_fates(&[Missing, NotFound, Missing], true);
        ledger
            .batch(list(&["d", "e"]))
            .settle_fates(&[Matching, Missing], true);
        let parts = ledger.take_missing();
        assert_eq!(parts.iter().map(Part::len).collect::<Vec<_>>(), [2, 1]);
        let mut batches = Vec::new();
        ledger.rebatch(parts, 2, |b| {
            batches.push(b);
            true
        });
        let ids: Vec<Vec<&str>> = batches.iter().map(|b| b.ids().iter().collect()).collect();
        assert_eq!(ids, [vec!["a", "c"], vec!["e"]]);
        let mut batches = batches.into_iter();
        let first = batches.next().unwrap();
        first.settle_fates(&[Matching, Missing], true);
        batches.next().unwrap().settle_fates(&[Missing], true);
        let c = ledger.counts();
        assert_eq!(
            (c.confirmed, c.missing, c.not_found, c.pending()),
            (2, 2, 1, 0)
        );
        assert!(c.balanced());
        let mut out = Vec::new();
        ledger.write_unconfirmed(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "b\nc\ne\n", "input order");
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
