//! The batch runner: a reader thread turns the input into batches while up to
//! `--concurrency` workers send them, all behind one [`pacing`] gate. What to
//! do about each reply is [`decide`]d by a pure function; the workers only
//! carry it out.
//!
//! The stages are joined by a bounded channel, so the first request leaves as
//! soon as the first batch is full, and memory does not grow with the input
//! (beyond the de-duplication set).

pub mod backoff;
mod batcher;
pub mod decide;
pub mod pacing;
mod reach;
pub mod stop;
mod worker;

use std::cell::RefCell;
use std::io::Write;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::api::Client;
use crate::ids::diagnose::{EarlyCheck, Step};
use crate::ids::read::estimate_records;
use crate::ids::{Filter, Opened, ReadError, Verdict, describe_invalid, read_all, stream};
use crate::journal::sink::ReaderRows;
use crate::ledger::{Batch, Ledger, Part};
use crate::progress::Reporter;
pub use backoff::Backoff;
use batcher::Batcher;
pub use decide::{Decision, FILTER_IGNORED, Policy, ReadCheck, decide, decide_read};
pub use pacing::Pacing;
pub use stop::{Stop, StopReason};

/// After a second Ctrl-C, how long the reader may go on counting the rest
/// of the input as unsent.
const ABORT_READ_GRACE: Duration = Duration::from_secs(1);
/// After a stop, how long the reader may read nothing before it is left
/// behind (a pipe that stays open must not keep the summary from being
/// written).
const READER_IDLE: Duration = Duration::from_secs(1);
/// The reader publishes its progress every this many records.
const PROGRESS_EVERY: u64 = 4096;

/// The knobs of one job.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// IDs per request, 1 to 1000.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries, the longest wait, backoff: what [`decide`] needs.
    pub policy: Policy,
    /// Drop repeated IDs.
    pub dedupe: bool,
    /// Print the requests instead of sending them.
    pub dry_run: Option<DryRunOutput>,
    /// A read job (verify): what each returned customer is checked for.
    /// Writes are `None`.
    pub read: Option<ReadCheck>,
    /// The pacing state; clones of the config share it, so the passes of
    /// one job (verify's re-checks) remember the rate limit between them.
    pub pacing: SharedPacing,
}

/// One [`Pacing`], shared by every run of a job's config.
#[derive(Clone, Default)]
pub struct SharedPacing(pub Arc<Pacing>);

impl std::fmt::Debug for SharedPacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedPacing")
    }
}

/// Where a dry run prints its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRunOutput {
    /// Standard output (text summaries).
    Stdout,
    /// Standard error (so standard output stays one JSON object).
    Stderr,
}

/// How the run ended, beyond the ledger's counts.
#[derive(Debug, Default)]
pub struct RunEnd {
    /// Why it stopped early, if it did.
    pub stop: Option<StopReason>,
    /// A second Ctrl-C cut it short.
    pub aborted: bool,
    /// The run ended before the whole input was read (an abort, or a stop
    /// while the input stalled): `--failed-ids` lacks the rest.
    pub input_unread: bool,
    /// The input broke after the run had started.
    pub read_error: Option<ReadError>,
    /// From the start of the run to its end.
    pub elapsed: Duration,
}

/// Everything a worker needs, shared.
pub(crate) struct Shared {
    pub client: Client,
    pub pacing: Arc<Pacing>,
    pub stop: Stop,
    pub ledger: Arc<Ledger>,
    pub reporter: Arc<Reporter>,
    pub config: JobConfig,
    /// Records read so far (roughly), to tell a busy reader from a stuck one.
    pub progress: std::sync::atomic::AtomicU64,
    /// Whether the API has answered yet.
    pub reach: reach::Reach,
}

/// What one run works with: the client, the knobs, the ledger it settles,
/// standard error, and its two stop signals. `stop` asks for a graceful end
/// (nothing new is sent); `abort` for an immediate one (requests in flight
/// are abandoned). Cheap to clone: a verify's passes share it.
#[derive(Clone)]
pub struct Job {
    /// The API client (its action: tag, untag or verify).
    pub client: Client,
    /// The knobs.
    pub config: JobConfig,
    /// Where every ID settles.
    pub ledger: Arc<Ledger>,
    /// Standard error.
    pub reporter: Arc<Reporter>,
    /// A graceful stop.
    pub stop: Stop,
    /// An immediate stop.
    pub abort: Stop,
}

/// Runs a job to its end: reads `sources`, sends every batch, settles every
/// ID in the job's ledger.
pub async fn run(sources: Vec<Opened>, job: Job) -> RunEnd {
    let feeder = move |shared: &Shared, tx| feed(sources, shared, tx);
    run_with(feeder, job).await
}

/// Runs a job on IDs already read and checked (a verify's re-check of what
/// did not match yet, `tag --verify`'s read-back of the confirmed IDs),
/// batched anew, each keeping its place and source; with `count_as_read`
/// they are counted as read in `ledger`.
pub async fn run_lists(parts: Vec<Part>, count_as_read: bool, job: Job) -> RunEnd {
    let feeder = move |shared: &Shared, tx: mpsc::Sender<Batch>| {
        if count_as_read {
            let n: usize = parts.iter().map(Part::len).sum();
            shared.ledger.read(n as u64, 0, 0);
        }
        shared
            .ledger
            .rebatch(parts, shared.config.batch_size, |batch| {
                tx.blocking_send(batch).is_ok()
            });
        Ok(())
    };
    run_with(feeder, job).await
}

/// The runner behind [`run`] and [`run_lists`]: `feeder` runs on the reader
/// thread and sends batches down the channel.
async fn run_with(
    feeder: impl FnOnce(&Shared, mpsc::Sender<Batch>) -> Result<(), ReadError> + Send + 'static,
    job: Job,
) -> RunEnd {
    let start = Instant::now();
    let abort = job.abort;
    let shared = Arc::new(Shared {
        client: job.client,
        pacing: Arc::clone(&job.config.pacing.0),
        stop: job.stop,
        ledger: job.ledger,
        reporter: job.reporter,
        config: job.config,
        progress: Default::default(),
        reach: Default::default(),
    });
    let (tx, rx) = mpsc::channel::<Batch>(shared.config.concurrency * 2);
    let reading_done = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (shared, done) = (Arc::clone(&shared), Arc::clone(&reading_done));
        std::thread::Builder::new()
            .name("tagctl-reader".into())
            .spawn(move || {
                let result = feeder(&shared, tx);
                done.store(true, Ordering::SeqCst);
                result
            })
    };
    let feeder = match feeder {
        Ok(f) => f,
        Err(e) => {
            return RunEnd {
                read_error: Some(ReadError {
                    source_name: "input".into(),
                    message: format!("cannot start the reader: {e}"),
                }),
                ..RunEnd::default()
            };
        }
    };
    // The progress's clock (the bar, or the plain lines of a log); nothing
    // to show, nothing to tick.
    let ticker = shared.reporter.ticks().then(|| {
        let (shared, done) = (Arc::clone(&shared), Arc::clone(&reading_done));
        tokio::spawn(async move {
            loop {
                let counts = shared.ledger.counts();
                shared.reporter.update(
                    &counts,
                    done.load(Ordering::Relaxed),
                    shared.pacing.paused_for(),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });

    let (aborted, input_unread) = send_all(&shared, rx, &abort, &reading_done).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    let read_error = if reading_done.load(Ordering::SeqCst) {
        feeder.join().ok().and_then(Result::err)
    } else {
        None
    };
    RunEnd {
        stop: shared.stop.reason(),
        aborted,
        input_unread,
        read_error,
        elapsed: start.elapsed(),
    }
}

/// Sends every batch the reader makes, until the input ends, the run stops
/// or `abort` cuts it short; then settles whatever is left. Returns whether
/// it was aborted, and whether the reader had to be left behind.
async fn send_all(
    shared: &Arc<Shared>,
    mut rx: mpsc::Receiver<Batch>,
    abort: &Stop,
    reading_done: &AtomicBool,
) -> (bool, bool) {
    let mut tasks = JoinSet::new();
    let finished = tokio::select! {
        unread = async {
            dispatch(shared, &mut rx, &mut tasks).await;
            let unread = drain(shared, &mut rx, Drain::WhileReading).await;
            while tasks.join_next().await.is_some() {}
            unread
        } => Some(unread),
        _ = abort.wait() => None,
    };
    let aborted = finished.is_none();
    let mut input_unread = finished.unwrap_or(false);
    if aborted {
        // Abandon what is in flight: the batches are dropped, and settle as
        // failed (sent, fate unknown) or unsent.
        tasks.shutdown().await;
        input_unread = drain(shared, &mut rx, Drain::For(ABORT_READ_GRACE)).await;
    }
    rx.close();
    while let Ok(batch) = rx.try_recv() {
        batch.leave_unsent();
    }
    // A batch the reader was handing over settles as soon as it sees the
    // channel closed.
    for _ in 0..20 {
        if reading_done.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (aborted, input_unread)
}

/// Hands batches to workers, at most `concurrency` at a time, until the
/// input ends or the run stops ([`drain`] then deals with the rest).
async fn dispatch(shared: &Arc<Shared>, rx: &mut mpsc::Receiver<Batch>, tasks: &mut JoinSet<()>) {
    let slots = Arc::new(Semaphore::new(shared.config.concurrency));
    loop {
        let permit = tokio::select! {
            biased;
            _ = shared.stop.wait() => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let batch = tokio::select! {
            biased;
            _ = shared.stop.wait() => break,
            b = rx.recv() => match b {
                Some(b) => b,
                None => break,
            },
        };
        if let Some(out) = shared.config.dry_run {
            print_dry_run(shared, &batch, out);
            batch.leave_unsent();
            continue;
        }
        // Finished tasks are collected as we go, so a run of millions of
        // small batches keeps constant memory.
        while tasks.try_join_next().is_some() {}
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            worker::process(batch, &shared).await;
            drop(permit);
        });
    }
}

/// How long the rest of the input may take to read once nothing more is
/// sent.
enum Drain {
    /// As long as the reader makes progress (a file, however long), but not
    /// while it waits on a pipe or a terminal that sends nothing.
    WhileReading,
    /// At most this long (after an abort).
    For(Duration),
}

/// Counts whatever the reader still sends as unsent, so that `--failed-ids`
/// holds everything a rerun needs. True if the reader had to be left behind
/// before the end of its input.
async fn drain(shared: &Shared, rx: &mut mpsc::Receiver<Batch>, limit: Drain) -> bool {
    let start = Instant::now();
    let (mut seen, mut last_progress) = (shared.progress.load(Ordering::Relaxed), Instant::now());
    loop {
        tokio::select! {
            batch = rx.recv() => match batch {
                Some(batch) => batch.leave_unsent(),
                None => return false,
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                let now = shared.progress.load(Ordering::Relaxed);
                if now != seen {
                    (seen, last_progress) = (now, Instant::now());
                }
                let give_up = match limit {
                    Drain::WhileReading => last_progress.elapsed() >= READER_IDLE,
                    Drain::For(limit) => start.elapsed() >= limit,
                };
                if give_up {
                    return true;
                }
            }
        }
    }
}

fn print_dry_run(shared: &Shared, batch: &Batch, out: DryRunOutput) {
    let ids = batch.ids().describe();
    let line = format!(
        "{} {} ({ids})",
        shared.client.method(),
        shared.client.endpoint().display(),
    );
    match out {
        DryRunOutput::Stdout => {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
        DryRunOutput::Stderr => shared.reporter.note(&line),
    }
}

/// Validation and de-duplication for the reader; IDs a `--journal`
/// confirmed are in its set already, to be judged resumed, not sent.
fn reader_filter(shared: &Shared, sources: &[Opened]) -> Filter {
    match shared.ledger.take_preloaded() {
        Some(set) => Filter::resuming(shared.config.dedupe, set),
        None => Filter::with_expected(shared.config.dedupe, estimate_records(sources)),
    }
}

/// The reader thread: validate, de-duplicate, batch, send down the channel.
/// A partial batch also leaves when a streamed input pauses
/// ([`batcher::Batcher::on_pause`]); a source whose early records are
/// nearly all invalid stops the reading with a diagnosis
/// ([`EarlyCheck`]).
fn feed(sources: Vec<Opened>, shared: &Shared, tx: mpsc::Sender<Batch>) -> Result<(), ReadError> {
    let mut filter = reader_filter(shared, &sources);
    let mut batcher = Batcher::new(shared.config.batch_size, Arc::clone(&shared.ledger), tx);
    batcher.rows = ReaderRows::new(shared.ledger.sink(), sources.iter().map(Opened::name));
    let batcher = Rc::new(RefCell::new(batcher));
    let hook = {
        let batcher = Rc::clone(&batcher);
        move |why| batcher.borrow_mut().on_pause(why)
    };
    let reporter = &shared.reporter;
    let mut records = 0u64;
    let result = stream::with_pause_hook(hook, || {
        for source in sources {
            let name = source.name().to_string();
            let mut check = EarlyCheck::new();
            let mut stopped = None;
            let read = read_all(vec![source], &mut |origin, raw| {
                records += 1;
                if records.is_multiple_of(PROGRESS_EVERY) {
                    shared.progress.store(records, Ordering::Relaxed);
                }
                let mut b = batcher.borrow_mut();
                b.read += 1;
                let verdict = filter.judge(raw);
                b.observe(&origin, raw, &verdict);
                let lines = match verdict {
                    Verdict::New(id) => {
                        if !b.push(id) {
                            return ControlFlow::Break(());
                        }
                        if check.is_done() {
                            return ControlFlow::Continue(());
                        }
                        check.valid()
                    }
                    Verdict::Duplicate | Verdict::Resumed(_) => {
                        match verdict {
                            Verdict::Resumed(id) => b.resume(id),
                            _ => b.duplicates += 1,
                        }
                        if check.is_done() {
                            return ControlFlow::Continue(());
                        }
                        check.valid()
                    }
                    Verdict::Invalid(why) => {
                        b.invalid += 1;
                        match check.invalid(raw, why, describe_invalid(origin, raw, why)) {
                            Step::Print(lines) => lines,
                            Step::Hold => Vec::new(),
                            Step::Stop { shown, diagnosis } => {
                                shown.iter().for_each(|l| reporter.invalid(l));
                                stopped = Some(diagnosis);
                                return ControlFlow::Break(());
                            }
                        }
                    }
                };
                lines.iter().for_each(|l| reporter.invalid(l));
                ControlFlow::Continue(())
            });
            check.finish().iter().for_each(|l| reporter.invalid(l));
            read?;
            if let Some(diagnosis) = stopped {
                batcher.borrow_mut().abandon();
                return Err(ReadError {
                    source_name: name,
                    message: diagnosis,
                });
            }
            if batcher.borrow().closed {
                break;
            }
        }
        Ok(())
    });
    batcher.borrow_mut().finish();
    result
}
