//! From a parsed command line to an exit code: check everything that can be
//! checked before the first request, run the job, write the summary and
//! `--failed-ids`.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::api::hint::{FirstFix, finish_hint};
use crate::api::{Action, Client, CredentialArgs, CredentialSource, Endpoint, UrlSource};
use crate::cli::{Cli, Command, GlobalArgs, JobArgs, OutputFormat};
use crate::exit::{Exit, Fatal};
use crate::failed_ids::FailedIds;
use crate::ids::IdSet;
use crate::ids::{self, InputSpec};
use crate::journal::sink::{Hooks, SinkEnd, Sinks, SourceTable};
use crate::journal::{self, Journal};
use crate::ledger::Ledger;
use crate::progress::{Display, Reporter, Verbosity};
use crate::report::Report;
use crate::runner::{self, Backoff, DryRunOutput, JobConfig, Policy, Stop, StopReason};
use crate::summary::Summary;

/// The program: parses `args` and runs. `main.rs` is only this call.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    run(cli).into()
}

/// A panic is a bug; it must still end in one line, not a backtrace (the
/// machine's RUST_BACKTRACE may well be set).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {what} (please report this bug)");
    }));
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a write error,
            // and `tagctl completions bash | head` is a broken pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tagctl", &mut script);
            let _ = std::io::stdout().lock().write_all(&script);
            Exit::Success
        }
        Command::Man => {
            let _ = std::io::stdout().lock().write_all(&crate::man::render());
            Exit::Success
        }
        Command::Tag(job) => run_job(&cli.global, job, Action::Tag),
        Command::Untag(job) => run_job(&cli.global, job, Action::Untag),
    }
}

fn run_job(global: &GlobalArgs, mut job: JobArgs, action: Action) -> Exit {
    let verbosity = if global.verbose {
        Verbosity::Verbose
    } else if global.quiet || global.progress == crate::cli::ProgressMode::None {
        // `--progress none`, like `-q`, leaves standard error to errors.
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let display = Display::choose(
        global.progress,
        global.quiet,
        std::io::stderr().is_terminal(),
    );
    let reporter = Arc::new(Reporter::new(verbosity, display));
    if let Some(tag) = ids::validate::trimmed_tag(&job.tag).map(str::to_string) {
        reporter.warn(&format!("the tag has spaces around it; using \"{tag}\""));
        job.tag = tag;
    }
    match prepare(global, &job, action, &reporter) {
        Ok(prepared) => execute(global, job, action, prepared, reporter),
        Err(fatal) => {
            reporter.error(&fatal.message, &[]);
            fatal.exit
        }
    }
}

struct Prepared {
    client: Client,
    endpoint: String,
    sources: Vec<ids::Opened>,
    /// `--failed-ids`, `--journal`, `--report`.
    outputs: Outputs,
}

/// The endpoint, knowing where `--api-url` came from: the flag and the
/// variable fill one field, so equal to the variable, it came from there
/// (or both say the same).
fn endpoint(global: &GlobalArgs, tag: &str) -> Result<Endpoint, Fatal> {
    let api_source = match (&global.api_url, std::env::var("REBILLY_API_URL")) {
        (Some(flag), Ok(env)) if *flag == env => UrlSource::Environment,
        _ => UrlSource::Flag,
    };
    Endpoint::from_source(
        global.api_url.as_deref(),
        api_source,
        global.sandbox,
        global.organization_id.as_deref(),
        tag,
    )
}

/// Standard input serves one purpose and standard output holds the
/// summary. True when the key comes from standard input.
fn check_standard_streams(global: &GlobalArgs, job: &JobArgs) -> Result<bool, Fatal> {
    let key_from_stdin = global
        .api_key_file
        .as_deref()
        .is_some_and(crate::api::secret::is_stdin);
    if key_from_stdin && job.ids_files.iter().any(|f| f.as_os_str() == "-") {
        return Err(Fatal::usage(
            "--api-key-file - and --ids-file - both want standard input; give one of them a file",
        ));
    }
    if job
        .failed_ids
        .as_ref()
        .is_some_and(|f| f.as_os_str() == "-")
    {
        return Err(Fatal::usage(
            "--failed-ids -: standard output holds the summary; give a file name",
        ));
    }
    Ok(key_from_stdin)
}

/// Everything that can fail before a request, in the order a user fixes it.
fn prepare(
    global: &GlobalArgs,
    job: &JobArgs,
    action: Action,
    reporter: &Reporter,
) -> Result<Prepared, Fatal> {
    ids::check_tag(&job.tag).map_err(|why| {
        Fatal::usage(format!(
            "invalid tag \"{}\": {why}",
            crate::text::printable(&job.tag, 60)
        ))
    })?;
    let endpoint = endpoint(global, &job.tag)?;
    let key_from_stdin = check_standard_streams(global, job)?;
    let credentials = crate::api::secret::resolve(
        CredentialArgs {
            api_key: global.api_key.clone(),
            api_key_file: global.api_key_file.clone(),
            jwt: global.jwt.clone(),
        },
        |name| std::env::var(name).ok(),
        &mut |w| reporter.warn(&w),
    )?;
    if credentials.is_none() && !job.dry_run {
        return Err(Fatal::usage(
            "no credentials: set REBILLY_API_KEY (or REBILLY_JWT), or pass --api-key-file",
        ));
    }
    if credentials.is_some() {
        // The rule protects the credentials; a dry run without any sends
        // nothing to protect.
        endpoint.check_transport(global.allow_insecure_http)?;
    }
    if let Some((_, CredentialSource::Flag(flag))) = &credentials {
        reporter.warn(&format!(
            "{flag} on the command line is visible to other users of this machine; prefer REBILLY_API_KEY / REBILLY_JWT or --api-key-file"
        ));
    }
    let spec = InputSpec {
        args: job.ids.clone(),
        files: job.ids_files.clone(),
        format: job.format,
        column: job.column.clone(),
        header: !job.no_header,
        stdin_when_empty: !key_from_stdin && !std::io::stdin().is_terminal(),
        delimiter: job.delimiter,
    };
    if spec.args.is_empty() && spec.files.is_empty() && !spec.stdin_when_empty {
        return Err(Fatal::usage(
            "no customer IDs: give them as arguments, with --ids-file, or on standard input",
        ));
    }
    if action == Action::Untag && !job.yes && !job.dry_run {
        // Before the input is opened: `-f -` on a terminal reads the IDs
        // after the answer.
        crate::confirm::before_untag(&job.tag, &endpoint)?;
    }
    let sources = ids::open(&spec, &mut |n| reporter.notice(&n))?;
    let journal_job = journal::Job::new(action.name(), &job.tag, endpoint.display());
    let base = endpoint.base().to_string();
    let client = Client::new(
        endpoint,
        action,
        credentials.as_ref().map(|(c, _)| c),
        Duration::from_secs_f64(job.timeout),
        job.concurrency as usize,
    )?;
    let client = match &credentials {
        Some((c, source)) => client.with_credential_source(c, *source),
        None => client,
    };
    let outputs = open_outputs(job, &spec, &journal_job, reporter)?;
    Ok(Prepared {
        client,
        endpoint: base,
        sources,
        outputs,
    })
}

/// The files a run writes besides the summary.
struct Outputs {
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
fn open_outputs(
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
            n => format!("{} IDs", journal::thousands(n as u64)),
        },
        journal::format_utc(started)
    ));
    Ok((journal, Some(set)))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The runner's knobs from the command line.
fn job_config(job: &JobArgs, json: bool) -> JobConfig {
    JobConfig {
        batch_size: job.batch_size as usize,
        concurrency: job.concurrency as usize,
        policy: Policy {
            max_retries: job.max_retries,
            max_wait: Duration::from_secs_f64(job.max_wait),
            backoff: Backoff::default(),
        },
        dedupe: !job.no_dedupe,
        dry_run: job.dry_run.then_some(if json {
            DryRunOutput::Stderr
        } else {
            DryRunOutput::Stdout
        }),
    }
}

fn execute(
    global: &GlobalArgs,
    job: JobArgs,
    action: Action,
    prepared: Prepared,
    reporter: Arc<Reporter>,
) -> Exit {
    let json = global.output == OutputFormat::Json;
    let config = job_config(&job, json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            reporter.error(&format!("cannot start: {e}"), &[]);
            return Exit::Usage;
        }
    };
    let ledger = Ledger::new();
    let (stop, abort) = (Stop::new(), Stop::new());
    let (failed_ids, sinks) = match begin(
        prepared.outputs,
        &prepared.sources,
        &ledger,
        &stop,
        &reporter,
    ) {
        Ok(started) => started,
        Err(exit) => return exit,
    };
    let end = runtime.block_on(async {
        tokio::spawn(watch_signals(
            stop.clone(),
            abort.clone(),
            Arc::clone(&reporter),
        ));
        runner::run(
            prepared.sources,
            prepared.client,
            config,
            Arc::clone(&ledger),
            Arc::clone(&reporter),
            stop.clone(),
            abort.clone(),
        )
        .await
    });
    let (counts, lost) = end_outputs(sinks, failed_ids, &ledger, &end, job.dry_run, &reporter);
    let summary = Summary {
        action,
        tag: job.tag,
        counts,
        elapsed_ms: end.elapsed.as_millis() as u64,
        problems: ledger.problems(),
        dry_run: job.dry_run,
        stop: end.stop.clone(),
        read_error: end.read_error.as_ref().map(ToString::to_string),
        // A journal or report that could not be written is never success either.
        failed_ids_lost: lost,
        endpoint: prepared.endpoint,
    };
    runtime.shutdown_timeout(Duration::from_millis(100));
    if summary.no_input() {
        reporter.error(
            "no customer IDs in the input (it was empty or only blank lines)",
            &[],
        );
        return summary.exit();
    }
    print_summary(global, &summary, job.failed_ids.as_deref());
    summary.exit()
}

/// The summary on standard output: JSON, or text unless quiet.
fn print_summary(global: &GlobalArgs, summary: &Summary, failed_ids: Option<&std::path::Path>) {
    if global.output == OutputFormat::Json {
        let _ = writeln!(std::io::stdout().lock(), "{}", summary.to_json());
    } else if !global.quiet {
        let text = summary.to_text() + &how_to_finish(summary, failed_ids);
        let _ = write!(std::io::stdout().lock(), "{text}");
    }
}

/// The text summary's last line when IDs are left: how to finish the job
/// (with the `--failed-ids` file, if it was written).
fn how_to_finish(summary: &Summary, failed_ids: Option<&std::path::Path>) -> String {
    if summary.dry_run {
        return String::new();
    }
    let unconfirmed = summary.counts.failed + summary.counts.unsent;
    let path = failed_ids.filter(|_| !summary.failed_ids_lost);
    let first = match &summary.stop {
        Some(StopReason::Unauthorized) => FirstFix::Credentials,
        Some(StopReason::Unreachable(_)) => FirstFix::Reachability,
        _ => FirstFix::Nothing,
    };
    finish_hint(unconfirmed, path, first).unwrap_or_default()
}

/// The run starts: `--failed-ids` loses an earlier run's content, the
/// journal's IDs go to the reader, the sink thread starts.
fn begin(
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
fn end_outputs(
    sinks: Option<Sinks>,
    failed_ids: Option<FailedIds>,
    ledger: &Arc<Ledger>,
    end: &runner::RunEnd,
    dry_run: bool,
    reporter: &Reporter,
) -> (crate::ledger::Counts, bool) {
    let sink_end = sinks
        .map(|sinks| close_sinks(sinks, ledger, end, dry_run))
        .unwrap_or_default();
    reporter.finish();
    report_run_errors(end, &sink_end, failed_ids.as_ref(), reporter);
    let counts = ledger.close();
    let failed_ids_lost = failed_ids.is_some_and(|f| !write_failed_ids(f, ledger, end, reporter));
    (counts, failed_ids_lost || sink_lost(&sink_end))
}

/// Drains the sinks; the journal's last record says whether anything is
/// left (it stays unfinished while input was left unread).
fn close_sinks(sinks: Sinks, ledger: &Arc<Ledger>, end: &runner::RunEnd, dry_run: bool) -> SinkEnd {
    ledger.detach();
    let whole = !end.input_unread && end.read_error.is_none() && !dry_run;
    let ledger = Arc::clone(ledger);
    sinks.close(Box::new(move || {
        let c = ledger.counts();
        let left = c.failed + c.unsent + c.pending();
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

/// First Ctrl-C / SIGTERM: stop sending, finish what is in flight. Second:
/// abandon it.
async fn watch_signals(stop: Stop, abort: Stop, reporter: Arc<Reporter>) {
    let Some(mut signals) = Signals::new() else {
        return;
    };
    signals.next().await;
    // No stale frame stays above the warning and the summary.
    reporter.finish();
    reporter.warn("interrupted: finishing the requests in flight (interrupt again to abort)");
    stop.request(StopReason::Interrupted);
    signals.next().await;
    abort.request(StopReason::Interrupted);
}

/// Ctrl-C and SIGTERM, registered once so that none is missed between two.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Option<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Signals {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Signals {})
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
