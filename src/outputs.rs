//! The files a tag/untag run writes besides the summary: `--failed-ids`,
//! `--journal` and `--report` (verify writes a `--report` too). They are
//! opened before the first request (an unwritable path costs none), fed by
//! the ledger's sink as batches settle, and closed when the run ends.

use std::sync::Arc;

use crate::cli::JobArgs;
use crate::exit::{Exit, Fatal};
use crate::failed_ids::FailedIds;
use crate::ids::{self, IdSet, InputSpec};
use crate::journal::sink::{Hooks, SinkEnd, Sinks, SourceTable};
use crate::journal::{self, Journal};
use crate::ledger::{Counts, Ledger};
use crate::progress::Reporter;
use crate::report::Report;
use crate::runner::{self, Stop, StopReason};

/// The files a run writes besides the summary.
pub(crate) struct Outputs {
    failed_ids: Option<FailedIds>,
    journal: Option<Journal>,
    report: Option<Report<std::io::BufWriter<std::fs::File>>>,
    /// The IDs the resumed journal confirmed.
    preloaded: Option<IdSet>,
}

/// Opens `--failed-ids`, `--journal` and `--report`, once nothing else can
/// fail: an unwritable path costs no request, and nothing is changed by a
/// run that would end before its start. `--failed-ids` is only emptied
/// when the run starts (see `failed_ids`); opening a journal may start it
/// afresh; a report is created empty.
pub(crate) fn open_outputs(
    job: &JobArgs,
    spec: &InputSpec,
    journal_job: &journal::Job,
    reporter: &Reporter,
) -> Result<Outputs, Fatal> {
    let stdin_read = spec.args.is_empty() && spec.files.is_empty();
    let failed_ids = job
        .failed_ids
        .as_ref()
        .map(|path| FailedIds::open(path, &spec.files, stdin_read))
        .transpose()?;
    let (journal, preloaded) = match &job.journal {
        Some(path) => open_journal(path, journal_job, job.dry_run, reporter)?,
        None => (None, None),
    };
    let report = job.report.as_deref().map(open_report).transpose()?;
    Ok(Outputs {
        failed_ids,
        journal,
        report,
        preloaded,
    })
}

/// Creates the `--report` file, header written.
fn open_report(path: &std::path::Path) -> Result<Report<std::io::BufWriter<std::fs::File>>, Fatal> {
    std::fs::File::create(path)
        .and_then(|f| Report::new(std::io::BufWriter::new(f)))
        .map_err(|e| {
            Fatal::usage(format!(
                "--report: cannot write {}: {}",
                path.display(),
                ids::read::io_message(&e)
            ))
        })
}

/// Opens `--journal` (only reads it for a dry run) and loads the IDs it
/// confirmed into the set that de-duplication will use.
fn open_journal(
    path: &std::path::Path,
    job: &journal::Job,
    dry_run: bool,
    reporter: &Reporter,
) -> Result<(Option<Journal>, Option<IdSet>), Fatal> {
    // About 16 bytes per journaled ID: sized once, not grown by rehashing.
    let guess = std::fs::metadata(path).map_or(0, |m| m.len() / 16);
    let mut set = IdSet::with_capacity(guess.min(50_000_000) as usize);
    let mut add = |id: &[u8]| {
        if ids::check_id(id).is_ok() {
            set.preload(id);
        }
    };
    let fail = |e: String| Fatal::usage(format!("--journal {} {e}", path.display()));
    let (journal, started) = if dry_run {
        (None, journal::peek(path, job, &mut add).map_err(fail)?)
    } else {
        let opened = Journal::open(path, job, unix_now(), &mut add).map_err(fail)?;
        if opened.scan.torn && opened.resumed_from.is_some() {
            reporter.warn(&format!(
                "--journal {}: its last record was cut short (the run was killed while writing it); ignored",
                path.display()
            ));
        }
        (Some(opened.journal), opened.resumed_from)
    };
    let Some(started) = started else {
        // Empty or complete: nothing to skip.
        return Ok((journal, None));
    };
    if set.is_empty() {
        // Killed before its first batch was confirmed: nothing to skip.
        return Ok((journal, Some(set)));
    }
    reporter.note(&format!(
        "resuming: {} already confirmed by the run started {}",
        match set.len() {
            1 => "1 ID".to_string(),
            n => format!("{} IDs", crate::text::thousands(n as u64)),
        },
        crate::text::format_utc(started)
    ));
    Ok((journal, Some(set)))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The run starts: `--failed-ids` loses an earlier run's content, the
/// journal's IDs go to the reader, the sink thread starts.
pub(crate) fn begin(
    outputs: Outputs,
    sources: &[ids::Opened],
    ledger: &Arc<Ledger>,
    stop: &Stop,
    reporter: &Arc<Reporter>,
) -> Result<(Option<FailedIds>, Option<Sinks>), Exit> {
    let mut failed_ids = outputs.failed_ids;
    if let Some(Err(e)) = failed_ids.as_mut().map(FailedIds::start) {
        reporter.error(
            &format!("--failed-ids: cannot write: {}", ids::read::io_message(&e)),
            &[],
        );
        return Err(Exit::Usage);
    }
    if let Some(set) = outputs.preloaded {
        ledger.set_preloaded(set);
    }
    let sinks = start_sinks(
        outputs.journal,
        outputs.report,
        sources,
        ledger,
        stop,
        reporter,
    )?;
    Ok((failed_ids, sinks))
}

/// Starts the thread that writes `--journal` and `--report`, if either is
/// asked for, and ties it to the ledger.
fn start_sinks(
    journal: Option<Journal>,
    report: Option<Report<std::io::BufWriter<std::fs::File>>>,
    sources: &[ids::Opened],
    ledger: &Arc<Ledger>,
    stop: &Stop,
    reporter: &Arc<Reporter>,
) -> Result<Option<Sinks>, Exit> {
    if journal.is_none() && report.is_none() {
        return Ok(None);
    }
    let table = SourceTable::new(sources.iter().map(ids::Opened::name));
    let hooks = Hooks {
        on_durable: {
            let ledger = Arc::clone(ledger);
            Box::new(move |n| ledger.durable(n))
        },
        on_error: {
            let (stop, reporter) = (stop.clone(), Arc::clone(reporter));
            Box::new(move |message: String| {
                if stop.request(StopReason::Fatal(message.clone())) {
                    reporter.error(&format!("{message}; stopping"), &[]);
                }
            })
        },
    };
    match Sinks::start(journal, report, table, hooks) {
        Ok(sinks) => {
            ledger.attach(sinks.sender());
            Ok(Some(sinks))
        }
        Err(e) => {
            reporter.error(&format!("cannot start: {e}"), &[]);
            Err(Exit::Usage)
        }
    }
}

/// The run is over: the sinks drain (every settlement written and the
/// confirmed IDs counted before the counts are read), errors are said, the
/// ledger closes, `--failed-ids` is written. The final counts, and whether
/// a file could not be written.
pub(crate) fn end_outputs(
    sinks: Option<Sinks>,
    failed_ids: Option<FailedIds>,
    ledger: &Arc<Ledger>,
    end: &runner::RunEnd,
    dry_run: bool,
    reporter: &Reporter,
) -> (Counts, bool) {
    let sink_end = sinks
        .map(|sinks| close_sinks(sinks, ledger, end, dry_run))
        .unwrap_or_default();
    reporter.finish();
    report_run_errors(end, &sink_end, failed_ids.as_ref(), reporter);
    let counts = ledger.close();
    let failed_ids_lost = failed_ids.is_some_and(|f| !write_failed_ids(f, ledger, end, reporter));
    (counts, failed_ids_lost || sink_lost(&sink_end))
}

/// The end of a verify run's `--report`: every row written (a failed
/// write was said as it happened); true if the report is not whole.
pub(crate) fn end_report(sinks: Option<Sinks>, ledger: &Ledger) -> bool {
    let Some(sinks) = sinks else {
        return false;
    };
    ledger.detach();
    sinks.close(Box::new(|| None)).report_error.is_some()
}

/// Drains the sinks; the journal's last record says whether anything is
/// left (it stays unfinished while input was left unread).
fn close_sinks(sinks: Sinks, ledger: &Arc<Ledger>, end: &runner::RunEnd, dry_run: bool) -> SinkEnd {
    ledger.detach();
    let whole = !end.input_unread && end.read_error.is_none() && !dry_run;
    let stopped = end.stop.is_some();
    let ledger = Arc::clone(ledger);
    sinks.close(Box::new(move || {
        // The contract: a run that finished with nothing unsent is complete
        // (its failed IDs, say a 422's, are in --failed-ids and the report);
        // one that stopped early stays unfinished while any ID is left.
        let c = ledger.counts();
        let unsent = c.unsent + c.pending();
        let left = if stopped { unsent + c.failed } else { unsent };
        (whole || left > 0).then_some(left)
    }))
}

/// What went wrong after the start, on standard error.
fn report_run_errors(
    end: &runner::RunEnd,
    sink_end: &SinkEnd,
    failed_ids: Option<&FailedIds>,
    reporter: &Reporter,
) {
    if let Some(e) = &sink_end.journal_error
        && end.stop.is_none()
    {
        reporter.error(e, &[]);
    }
    if let Some(e) = &end.read_error {
        reporter.error(&e.to_string(), &[]);
    }
    if end.input_unread {
        let kept = failed_ids.is_some_and(FailedIds::is_input);
        reporter.error(
            if kept {
                "stopped before the whole input was read: the unread rest is not counted; --failed-ids keeps its former content after the leftovers"
            } else {
                "stopped before the whole input was read: the unread rest is neither counted nor in --failed-ids"
            },
            &[],
        );
    }
}

/// Writes `--failed-ids`; false (said on standard error) if the leftovers
/// could not be saved.
fn write_failed_ids(
    file: FailedIds,
    ledger: &Ledger,
    end: &runner::RunEnd,
    reporter: &Reporter,
) -> bool {
    let unread = end.input_unread || end.read_error.is_some();
    let written = file.finish(unread, |mut out| ledger.write_unconfirmed(&mut out));
    if let Err(e) = &written {
        reporter.error(
            &format!("--failed-ids: cannot write: {}", ids::read::io_message(e)),
            &[],
        );
    }
    written.is_ok()
}

/// Whether the journal or the report could not be written in full.
fn sink_lost(end: &SinkEnd) -> bool {
    end.journal_error.is_some() || end.report_error.is_some()
}
