//! Where settled IDs go besides the counters: the `--journal` and the
//! `--report`, written by one thread of their own, so that no worker ever
//! waits on a file and many batches confirmed at once share one `sync_data`
//! (group commit).
//!
//! The ledger sends every settlement here; the reader thread sends the rows
//! of IDs that never reach a batch (duplicates, invalid, resumed). A
//! confirmed batch is counted as confirmed (through `on_durable`) only after
//! its journal record is on the disk.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ids::IdList;
use crate::journal::Journal;
use crate::report::{Outcome, Report, Source, SourceField};

/// Events waiting for the sink thread; past this, senders wait (bounded
/// memory when the disk is slow).
const QUEUE: usize = 1024;
/// At most one journal sync per this long: batches confirmed meanwhile
/// wait for it (uncounted, so a crash resends them), which keeps the
/// syncs of a fast run to a few hundred a second, whatever the disk.
const COMMIT_WINDOW: Duration = Duration::from_millis(3);

/// The kinds of source an ID can come from, by index; the index is what
/// travels with each ID.
#[derive(Debug, Clone, Default)]
pub struct SourceTable {
    kinds: Vec<SourceKind>,
    /// Each source's report column, formatted once.
    fields: Vec<SourceField>,
}

/// One source of IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// ID arguments.
    Args,
    /// Standard input.
    Stdin,
    /// A file, by the name used in messages.
    File(String),
}

impl SourceTable {
    /// The table for the sources' names in reading order (`arguments`,
    /// `<stdin>`, or a file name, as [`crate::ids::Opened::name`] gives).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> SourceTable {
        let kinds = names
            .into_iter()
            .map(|n| match n {
                "arguments" => SourceKind::Args,
                "<stdin>" => SourceKind::Stdin,
                other => SourceKind::File(other.to_string()),
            })
            .collect::<Vec<_>>();
        let mut table = SourceTable {
            kinds,
            fields: Vec::new(),
        };
        table.fields = (0..table.kinds.len())
            .map(|i| SourceField::new(table.source(i as u16, 0)))
            .collect();
        table
    }

    /// The index of the source an [`crate::ids::Origin`] names.
    pub fn index_of(&self, origin: &crate::ids::Origin<'_>) -> u16 {
        let i = match origin {
            crate::ids::Origin::Arg(_) => self.kinds.iter().position(|k| *k == SourceKind::Args),
            crate::ids::Origin::Line { source, .. } => self.kinds.iter().position(|k| match k {
                SourceKind::Stdin => *source == "<stdin>",
                SourceKind::File(f) => f == source,
                SourceKind::Args => false,
            }),
        };
        i.unwrap_or(0) as u16
    }

    fn field(&self, index: u16) -> &SourceField {
        static ARG: std::sync::OnceLock<SourceField> = std::sync::OnceLock::new();
        self.fields
            .get(index as usize)
            .unwrap_or_else(|| ARG.get_or_init(|| SourceField::new(Source::Arg(0))))
    }

    fn source(&self, index: u16, line: u64) -> Source<'_> {
        match self.kinds.get(index as usize) {
            Some(SourceKind::File(name)) => Source::File(name, line),
            Some(SourceKind::Stdin) => Source::Stdin(line),
            _ => Source::Arg(line),
        }
    }
}

/// The line (or argument number) of an [`crate::ids::Origin`].
pub fn line_of(origin: &crate::ids::Origin<'_>) -> u64 {
    match origin {
        crate::ids::Origin::Arg(n) => *n as u64,
        crate::ids::Origin::Line { line, .. } => *line,
    }
}

/// Where each ID of one batch came from, by its position in the batch as
/// first made: runs of consecutive lines, so a batch read from one clean
/// file costs one entry, not one per ID.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// (end position, exclusive; source index; line of the run's first ID).
    runs: Vec<(u32, u16, u64)>,
}

impl Origins {
    /// Appends the origin of the next ID.
    #[inline]
    pub fn push(&mut self, source: u16, line: u64) {
        let start = self.start_of_last();
        if let Some((end, s, first)) = self.runs.last_mut()
            && *s == source
            && *first + u64::from(*end - start) == line
        {
            *end += 1;
            return;
        }
        let end = self.runs.last().map_or(0, |r| r.0);
        self.runs.push((end + 1, source, line));
    }

    fn start_of_last(&self) -> u32 {
        match self.runs.len() {
            0 | 1 => 0,
            n => self.runs[n - 2].0,
        }
    }

    /// The source index and line of the ID at `position`.
    pub fn get(&self, position: usize) -> (u16, u64) {
        let i = self.runs.partition_point(|r| r.0 as usize <= position);
        let Some(&(_, source, first)) = self.runs.get(i) else {
            return (0, 0);
        };
        let start = if i == 0 { 0 } else { self.runs[i - 1].0 };
        (source, first + (position as u64 - u64::from(start)))
    }

    /// The number of runs (for tests and memory estimates).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

/// Rows of IDs that never reach a batch, gathered by the reader.
#[derive(Debug, Default)]
pub struct ReadRows {
    bytes: Vec<u8>,
    rows: Vec<ReadRow>,
}

#[derive(Debug)]
struct ReadRow {
    end: u32,
    outcome: Outcome,
    detail: &'static str,
    source: u16,
    line: u64,
}

impl ReadRows {
    /// Rows gathered before they are sent on.
    pub const CAPACITY: usize = 1024;

    /// Adds a row.
    pub fn push(
        &mut self,
        id: &[u8],
        outcome: Outcome,
        detail: &'static str,
        source: u16,
        line: u64,
    ) {
        // An invalid line may be long; the row keeps what a person needs.
        let id = &id[..id.len().min(200)];
        self.bytes.extend_from_slice(id);
        self.rows.push(ReadRow {
            end: self.bytes.len() as u32,
            outcome,
            detail,
            source,
            line,
        });
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The reader's side of `--report`: the source of each new ID (into the
/// batch's [`Origins`]) and the rows of IDs that never reach a batch
/// (duplicates, invalid, resumed), sent on in chunks.
pub struct ReaderRows {
    sink: SinkTx,
    table: SourceTable,
    rows: ReadRows,
}

impl ReaderRows {
    /// `Some` when `sink` writes a report; `names` are the sources' names
    /// in reading order.
    pub fn new<'a>(
        sink: Option<SinkTx>,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Option<ReaderRows> {
        let sink = sink.filter(SinkTx::reporting)?;
        Some(ReaderRows {
            sink,
            table: SourceTable::new(names),
            rows: ReadRows::default(),
        })
    }

    /// Notes one record read and what the filter made of it.
    #[inline]
    pub fn observe(
        &mut self,
        origin: &crate::ids::Origin<'_>,
        raw: crate::ids::Raw<'_>,
        verdict: &crate::ids::Verdict<'_>,
        origins: &mut Option<Origins>,
    ) {
        use crate::ids::Verdict;
        let (index, line) = (self.table.index_of(origin), line_of(origin));
        let (outcome, detail) = match verdict {
            Verdict::New(_) => {
                origins.get_or_insert_default().push(index, line);
                return;
            }
            Verdict::Duplicate => (Outcome::Duplicate, ""),
            Verdict::Resumed(_) => (Outcome::Resumed, "confirmed by the run the journal records"),
            Verdict::Invalid(why) => (Outcome::Invalid, why.reason()),
        };
        let field = match raw {
            crate::ids::Raw::Field(f) => f,
            _ => b"",
        };
        self.rows.push(field, outcome, detail, index, line);
        if self.rows.len() >= ReadRows::CAPACITY {
            self.sink.read(std::mem::take(&mut self.rows));
        }
    }

    /// Sends what is left.
    pub fn finish(self) {
        self.sink.read(self.rows);
    }
}

/// What happened to the IDs of one (part of a) batch.
#[derive(Debug)]
pub struct Settled {
    /// The IDs.
    pub ids: IdList,
    /// Each ID's position in its batch as first made (`None`: in order).
    pub positions: Option<Vec<u16>>,
    /// Where the batch's IDs came from, when a report is written.
    pub origins: Option<Arc<Origins>>,
    /// Confirmed, failed or unsent.
    pub outcome: Outcome,
    /// The last HTTP status for these IDs.
    pub status: Option<u16>,
    /// The reason, if any.
    pub detail: Arc<str>,
}

enum Event {
    Settled(Settled),
    Read(ReadRows),
    Finish(FinishFn),
}

/// Asked once every earlier event is written: `Some(unsent)` for the
/// journal's final record, `None` to leave it unfinished.
pub type FinishFn = Box<dyn FnOnce() -> Option<u64> + Send>;

/// The sender side, held by the ledger and the reader.
#[derive(Clone)]
pub struct SinkTx {
    tx: SyncSender<Event>,
    reporting: bool,
}

impl std::fmt::Debug for SinkTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkTx")
            .field("reporting", &self.reporting)
            .finish()
    }
}

impl SinkTx {
    /// Whether a report is written (so origins are worth carrying).
    pub fn reporting(&self) -> bool {
        self.reporting
    }

    /// Hands over a settlement; false if the sink is gone.
    pub fn settled(&self, s: Settled) -> bool {
        self.tx.send(Event::Settled(s)).is_ok()
    }

    /// Hands over reader rows.
    pub fn read(&self, rows: ReadRows) {
        if !rows.is_empty() {
            let _ = self.tx.send(Event::Read(rows));
        }
    }
}

/// How the sinks ended.
#[derive(Debug, Default)]
pub struct SinkEnd {
    /// The first journal write that failed (the journal stopped there).
    pub journal_error: Option<String>,
    /// The first report write that failed.
    pub report_error: Option<String>,
    /// Report rows written.
    pub rows: u64,
}

/// The sink thread.
pub struct Sinks {
    tx: SinkTx,
    thread: JoinHandle<SinkEnd>,
}

/// Callbacks into the run, from the sink thread.
pub struct Hooks {
    /// `n` confirmed IDs are now durable (journaled), or written.
    pub on_durable: Box<dyn Fn(u64) + Send>,
    /// A file write failed: the run should stop.
    pub on_error: Box<dyn Fn(String) + Send>,
}

impl Sinks {
    /// Starts the thread.
    pub fn start(
        journal: Option<Journal>,
        report: Option<Report<BufWriter<File>>>,
        sources: SourceTable,
        hooks: Hooks,
    ) -> std::io::Result<Sinks> {
        let (tx, rx) = sync_channel(QUEUE);
        let reporting = report.is_some();
        let thread = std::thread::Builder::new()
            .name("tagctl-sinks".into())
            .spawn(move || sink_loop(rx, journal, report, sources, hooks))?;
        Ok(Sinks {
            tx: SinkTx { tx, reporting },
            thread,
        })
    }

    /// A sender for the ledger and the reader.
    pub fn sender(&self) -> SinkTx {
        self.tx.clone()
    }

    /// Finishes: every event sent so far is written, then `finish` says
    /// what the journal's final record is. Later events are lost, so every
    /// other sender should be done by now.
    pub fn close(self, finish: FinishFn) -> SinkEnd {
        let _ = self.tx.tx.send(Event::Finish(finish));
        drop(self.tx);
        self.thread.join().unwrap_or_default()
    }
}

fn sink_loop(
    rx: Receiver<Event>,
    journal: Option<Journal>,
    report: Option<Report<BufWriter<File>>>,
    sources: SourceTable,
    hooks: Hooks,
) -> SinkEnd {
    let mut w = Writer {
        journal,
        report,
        sources,
        hooks,
        end: SinkEnd::default(),
    };
    let mut finish = None;
    let mut last_commit = Instant::now() - COMMIT_WINDOW;
    while finish.is_none()
        && let Ok(first) = rx.recv()
    {
        let mut pending = 0u64;
        let mut event = Some(first);
        // Everything queued now, and what comes within the commit window
        // once a confirmed batch waits, shares one sync.
        while let Some(e) = event
            .take()
            .or_else(|| next_within(&rx, pending > 0, last_commit + COMMIT_WINDOW))
        {
            match e {
                Event::Finish(f) => {
                    finish = Some(f);
                    break;
                }
                Event::Read(rows) => w.read_rows(&rows),
                Event::Settled(s) => pending += w.settled(&s),
            }
        }
        w.commit(pending);
        last_commit = Instant::now();
    }
    w.finish(finish.and_then(|f: FinishFn| f()))
}

/// The next queued event; when `waiting` (a confirmed batch is not synced
/// yet), also one that arrives before `until`.
fn next_within(rx: &Receiver<Event>, waiting: bool, until: Instant) -> Option<Event> {
    match rx.try_recv() {
        Ok(e) => Some(e),
        Err(_) if waiting => {
            let left = until.saturating_duration_since(Instant::now());
            (!left.is_zero())
                .then(|| rx.recv_timeout(left).ok())
                .flatten()
        }
        Err(_) => None,
    }
}

/// The sink thread's files.
struct Writer {
    journal: Option<Journal>,
    report: Option<Report<BufWriter<File>>>,
    sources: SourceTable,
    hooks: Hooks,
    end: SinkEnd,
}

fn cannot_write(what: &str, e: &std::io::Error) -> String {
    format!("{what}: cannot write: {}", crate::ids::read::io_message(e))
}

impl Writer {
    fn read_rows(&mut self, rows: &ReadRows) {
        if let Some(r) = &mut self.report {
            let written = write_read_rows(r, rows, &self.sources);
            self.check_report(written);
        }
    }

    /// Adds a settlement; returns the IDs it confirmed.
    fn settled(&mut self, s: &Settled) -> u64 {
        let mut confirmed = 0;
        if s.outcome == Outcome::Confirmed {
            if let Some(j) = &mut self.journal {
                j.add_batch(s.ids.iter());
            }
            confirmed = s.ids.len() as u64;
        }
        if let Some(r) = &mut self.report {
            let written = write_settled(r, s, &self.sources);
            self.check_report(written);
        }
        confirmed
    }

    /// Syncs the journal, then counts the `pending` confirmed IDs.
    fn commit(&mut self, pending: u64) {
        if let Some(j) = &mut self.journal
            && let Err(e) = j.commit()
        {
            let message = cannot_write("--journal", &e);
            (self.hooks.on_error)(message.clone());
            self.end.journal_error = Some(message);
            // What is on the disk ends in a torn record at worst; nothing
            // more is appended after it.
            self.journal = None;
        }
        if pending > 0 {
            // The API confirmed them whether or not the journal could say so.
            (self.hooks.on_durable)(pending);
        }
        if let Some(r) = &mut self.report {
            let flushed = r.flush();
            self.check_report(flushed);
        }
    }

    fn check_report(&mut self, written: std::io::Result<()>) {
        if let Err(e) = written {
            let message = cannot_write("--report", &e);
            if self.end.report_error.is_none() {
                (self.hooks.on_error)(message.clone());
                self.end.report_error = Some(message);
            }
            self.report = None;
        }
    }

    /// The journal's last record, if `unsent` says what it is.
    fn finish(mut self, unsent: Option<u64>) -> SinkEnd {
        if let (Some(unsent), Some(j)) = (unsent, &mut self.journal)
            && let Err(e) = j.finish(unsent)
            && self.end.journal_error.is_none()
        {
            self.end.journal_error = Some(cannot_write("--journal", &e));
        }
        if let Some(r) = &mut self.report {
            let _ = r.flush();
            self.end.rows = r.rows();
        }
        self.end
    }
}

fn write_read_rows(
    report: &mut Report<BufWriter<File>>,
    rows: &ReadRows,
    sources: &SourceTable,
) -> std::io::Result<()> {
    let mut start = 0;
    for row in &rows.rows {
        let id = &rows.bytes[start..row.end as usize];
        start = row.end as usize;
        report.row(
            id,
            row.outcome,
            None,
            row.detail,
            sources.source(row.source, row.line),
        )?;
    }
    Ok(())
}

fn write_settled(
    report: &mut Report<BufWriter<File>>,
    s: &Settled,
    sources: &SourceTable,
) -> std::io::Result<()> {
    let middle = crate::report::middle(s.outcome, s.status, &s.detail);
    for (i, id) in s.ids.iter().enumerate() {
        let position = s.positions.as_ref().map_or(i, |p| p[i] as usize);
        let (source, line) = s.origins.as_ref().map_or((0, 0), |o| o.get(position));
        report.valid_row(id, &middle, sources.field(source), line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_runs_of_lines() {
        let mut o = Origins::default();
        let ids = [(0, 1), (0, 2), (0, 3), (0, 5), (1, 6), (1, 7), (2, 1)];
        for (s, l) in ids {
            o.push(s, l);
        }
        assert_eq!(o.runs(), 4);
        for (i, want) in ids.iter().enumerate() {
            assert_eq!(o.get(i), *want, "position {i}");
        }
        let mut clean = Origins::default();
        for l in 2..1002 {
            clean.push(0, l);
        }
        assert_eq!((clean.runs(), clean.get(999)), (1, (0, 1001)));
    }

    #[test]
    fn confirmed_ids_count_once_journaled_and_every_settlement_is_a_row() {
        use crate::ledger::Ledger;
        let dir = tempfile::tempdir().unwrap();
        let job = crate::journal::Job::new("tag", "VIP", "http://x/tags/VIP/customers".into());
        let journal = Journal::open(&dir.path().join("j"), &job, 1, &mut |_| {})
            .unwrap()
            .journal;
        let report_path = dir.path().join("r.csv");
        let report = Report::new(BufWriter::new(File::create(&report_path).unwrap())).unwrap();
        let ledger = Ledger::new();
        let hooks = Hooks {
            on_durable: {
                let ledger = Arc::clone(&ledger);
                Box::new(move |n| ledger.durable(n))
            },
            on_error: Box::new(|e| panic!("{e}")),
        };
        let sinks = Sinks::start(
            Some(journal),
            Some(report),
            SourceTable::new(["a.txt"]),
            hooks,
        )
        .unwrap();
        ledger.attach(sinks.sender());
        ledger.read(4, 0, 0);
        let mut origins = Origins::default();
        for line in 1..=4 {
            origins.push(0, line);
        }
        let list: IdList = ["a", "b", "c", "d"].into_iter().collect();
        let (mut bad, good) = ledger.batch_from(list, Some(origins)).pick(&[1]);
        bad.note(Some(422), "Customer not found");
        bad.fail();
        good.confirm();
        ledger.detach();
        let end = sinks.close(Box::new(|| Some(1)));
        assert_eq!(
            (end.journal_error, end.report_error, end.rows),
            (None, None, 4)
        );
        let c = ledger.close();
        assert_eq!((c.confirmed, c.failed, c.pending()), (3, 1, 0));
        assert!(c.balanced());
        let mut rows: Vec<String> = std::fs::read_to_string(&report_path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        rows[1..].sort();
        assert_eq!(
            rows,
            [
                "customerId,outcome,status,detail,source",
                "a,confirmed,204,,a.txt:1",
                "b,failed,422,Customer not found,a.txt:2",
                "c,confirmed,204,,a.txt:3",
                "d,confirmed,204,,a.txt:4",
            ]
        );
        let mut journaled = Vec::new();
        let bytes = std::fs::read(dir.path().join("j")).unwrap();
        let scan = crate::journal::scan(&bytes[..], &job, &mut |id| {
            journaled.push(String::from_utf8(id.to_vec()).unwrap())
        })
        .unwrap();
        assert_eq!(journaled, ["a", "c", "d"]);
        assert_eq!(scan.state, crate::journal::State::Unfinished { started: 1 });
    }

    #[test]
    fn sources_by_name() {
        let t = SourceTable::new(["arguments", "<stdin>", "a.csv"]);
        let line = |source| crate::ids::Origin::Line { source, line: 4 };
        assert_eq!(t.index_of(&crate::ids::Origin::Arg(3)), 0);
        assert_eq!(t.index_of(&line("<stdin>")), 1);
        assert_eq!(t.index_of(&line("a.csv")), 2);
        assert_eq!(t.source(2, 4).to_string(), "a.csv:4");
        assert_eq!(t.source(1, 4).to_string(), "stdin:4");
        assert_eq!(t.source(0, 3).to_string(), "arg:3");
    }
}
