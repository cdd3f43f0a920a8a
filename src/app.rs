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
use crate::api::tags;
use crate::api::{
    Action, Client, CredentialArgs, CredentialSource, Credentials, Endpoint, UrlSource,
};
use crate::cli::{Cli, Command, Expect, GlobalArgs, JobArgs, OutputFormat, VerifyArgs};
use crate::exit::{Exit, Fatal};
use crate::failed_ids::FailedIds;
use crate::ids::{self, InputSpec};
use crate::journal;
use crate::ledger::Ledger;
use crate::outputs::{Outputs, begin, end_outputs, end_report, open_outputs};
use crate::progress::{Display, Reporter, Verbosity};
use crate::runner::{self, Backoff, DryRunOutput, JobConfig, Policy, ReadCheck, Stop, StopReason};
use crate::summary::Summary;
use crate::verify::{self, VerifyCounts, VerifySummary};

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
        Command::Verify(args) => run_verify(&cli.global, args),
    }
}

/// The reporter the global options ask for.
fn reporter_for(global: &GlobalArgs) -> Arc<Reporter> {
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
    Arc::new(Reporter::new(verbosity, display))
}

/// A tag with spaces around it is used without them, with a warning.
fn trim_tag(tag: &mut String, reporter: &Reporter) {
    if let Some(trimmed) = ids::validate::trimmed_tag(tag).map(str::to_string) {
        reporter.warn(&format!(
            "the tag has spaces around it; using \"{trimmed}\""
        ));
        *tag = trimmed;
    }
}

fn run_job(global: &GlobalArgs, mut job: JobArgs, action: Action) -> Exit {
    let reporter = reporter_for(global);
    trim_tag(&mut job.tag, &reporter);
    if job.create_tag && action != Action::Tag {
        reporter.error(
            "--create-tag is for tag: untag needs a tag that exists",
            &[],
        );
        return Exit::Usage;
    }
    match prepare(global, &job, action, &reporter) {
        Ok(prepared) => execute(global, job, action, prepared, reporter),
        Err(fatal) => {
            reporter.error(&fatal.message, &[]);
            fatal.exit
        }
    }
}

/// `tagctl verify`: the input prepared as for `tag`, then a read job.
fn run_verify(global: &GlobalArgs, mut args: VerifyArgs) -> Exit {
    let reporter = reporter_for(global);
    trim_tag(&mut args.tag, &reporter);
    let job = args.as_job();
    let prepared = match prepare(global, &job, Action::Verify, &reporter) {
        Ok(prepared) => prepared,
        Err(fatal) => {
            reporter.error(&fatal.message, &[]);
            return fatal.exit;
        }
    };
    let json = global.output == OutputFormat::Json;
    let mut config = job_config(&job, Action::Verify, json);
    config.read = Some(ReadCheck {
        tag: job.tag.clone(),
        present: args.expect == Expect::Present,
    });
    let Some(runtime) = runtime(&reporter) else {
        return Exit::Usage;
    };
    let ledger = Ledger::new();
    let (stop, abort) = (Stop::new(), Stop::new());
    let sinks = match begin(
        prepared.outputs,
        &prepared.sources,
        &ledger,
        &stop,
        &reporter,
    ) {
        Ok((_, sinks)) => sinks,
        Err(exit) => return exit,
    };
    let end = runtime.block_on(async {
        tokio::spawn(watch_signals(
            stop.clone(),
            abort.clone(),
            Arc::clone(&reporter),
        ));
        let job = runner::Job {
            client: prepared.client,
            config,
            ledger: Arc::clone(&ledger),
            reporter: Arc::clone(&reporter),
            stop: stop.clone(),
            abort: abort.clone(),
        };
        let wait = Duration::from_secs_f64(args.wait);
        verify::run(verify::Input::Sources(prepared.sources), wait, job).await
    });
    let report_lost = end_report(sinks, &ledger);
    let verified = Verified {
        tag: job.tag,
        expect: args.expect,
        endpoint: prepared.endpoint,
        missing_ids: prepared.missing_ids,
        report_lost,
    };
    let exit = finish_verify(global, verified, &end, &ledger, &reporter);
    runtime.shutdown_timeout(Duration::from_millis(100));
    exit
}

/// What a verify run's end needs besides its ledger.
struct Verified {
    tag: String,
    expect: Expect,
    endpoint: String,
    missing_ids: Option<FailedIds>,
    /// `--report` could not be written in full.
    report_lost: bool,
}

/// The end of a verify run: `--missing-ids` written, the summary printed;
/// the exit code.
fn finish_verify(
    global: &GlobalArgs,
    run: Verified,
    end: &runner::RunEnd,
    ledger: &Ledger,
    reporter: &Reporter,
) -> Exit {
    reporter.finish();
    report_end(end, reporter, "--missing-ids");
    let counts = ledger.close();
    let missing_ids_lost = run
        .missing_ids
        .is_some_and(|file| !write_leftovers(file, ledger, reporter, unread(end)));
    let summary = VerifySummary {
        tag: run.tag,
        expect: run.expect.name(),
        counts,
        elapsed_ms: end.elapsed.as_millis() as u64,
        problems: ledger.problems(),
        stop: end.stop.clone(),
        read_error: end.read_error.as_ref().map(ToString::to_string),
        missing_ids_lost: missing_ids_lost || run.report_lost,
        endpoint: run.endpoint,
    };
    if summary.no_input() {
        reporter.error(
            "no customer IDs in the input (it was empty or only blank lines)",
            &[],
        );
    } else if global.output == OutputFormat::Json {
        let _ = writeln!(std::io::stdout().lock(), "{}", summary.to_json());
    } else if !global.quiet {
        let _ = write!(std::io::stdout().lock(), "{}", summary.to_text());
    }
    summary.exit()
}

/// The two-thread runtime a job runs on.
fn runtime(reporter: &Reporter) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            reporter.error(&format!("cannot start: {e}"), &[]);
            None
        }
    }
}

/// What the user must know about how the run ended, beyond the summary.
fn report_end(end: &runner::RunEnd, reporter: &Reporter, leftovers: &str) {
    if let Some(e) = &end.read_error {
        reporter.error(&e.to_string(), &[]);
    }
    if end.input_unread {
        reporter.error(
            &format!("stopped before the whole input was read: the unread rest is neither counted nor in {leftovers}"),
            &[],
        );
    }
}

struct Prepared {
    client: Client,
    endpoint: String,
    sources: Vec<ids::Opened>,
    /// `--failed-ids`, `--journal`, `--report`.
    outputs: Outputs,
    missing_ids: Option<FailedIds>,
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
    if key_from_stdin && job.input.ids_files.iter().any(|f| f.as_os_str() == "-") {
        return Err(Fatal::usage(
            "--api-key-file - and --ids-file - both want standard input; give one of them a file",
        ));
    }
    // Standard output holds the summary: no file a run writes may be `-`.
    for (flag, path) in [
        ("--failed-ids", &job.failed_ids),
        ("--missing-ids", &job.missing_ids),
        ("--journal", &job.journal),
        ("--report", &job.report),
    ] {
        if path.as_ref().is_some_and(|f| f.as_os_str() == "-") {
            return Err(Fatal::usage(format!(
                "{flag} -: standard output holds the summary; give a file name"
            )));
        }
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
    let credentials = credentials(global, job, &endpoint, reporter)?;
    let spec = InputSpec {
        args: job.input.ids.clone(),
        files: job.input.ids_files.clone(),
        format: job.input.format,
        column: job.input.column.clone(),
        header: !job.input.no_header,
        stdin_when_empty: !key_from_stdin && !std::io::stdin().is_terminal(),
        delimiter: job.input.delimiter,
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
        Duration::from_secs_f64(job.pacing.timeout),
        job.pacing.concurrency as usize,
    )?;
    let client = match &credentials {
        Some((c, source)) => client.with_credential_source(c, *source),
        None => client,
    };
    // Every input error (a journal of another job, an unwritable report) is
    // exit 2 before any request, --create-tag's included.
    let outputs = open_outputs(job, &spec, &journal_job, reporter)?;
    let stdin_read = spec.args.is_empty() && spec.files.is_empty();
    let mut missing_ids = job
        .missing_ids
        .as_ref()
        .map(|path| FailedIds::open_as("--missing-ids", path, &spec.files, stdin_read))
        .transpose()?;
    if job.create_tag {
        create_tag_first(&client, job, reporter)?;
    }
    // Every check passed: an earlier run's leftovers go now (never stale
    // after a SIGKILL).
    if let Some(Err(e)) = missing_ids.as_mut().map(FailedIds::start) {
        return Err(Fatal::usage(format!(
            "--missing-ids: cannot write: {}",
            ids::read::io_message(&e)
        )));
    }
    Ok(Prepared {
        client,
        endpoint: base,
        sources,
        outputs,
        missing_ids,
    })
}

/// The credentials, from the flags or the environment, and whether they
/// may travel to `endpoint`. `None` only for a dry run.
fn credentials(
    global: &GlobalArgs,
    job: &JobArgs,
    endpoint: &Endpoint,
    reporter: &Reporter,
) -> Result<Option<(Credentials, CredentialSource)>, Fatal> {
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
    Ok(credentials)
}

/// `--create-tag`: make sure the tag exists as a customer tag before the
/// first write (a dry run only says what it would do).
fn create_tag_first(client: &Client, job: &JobArgs, reporter: &Reporter) -> Result<(), Fatal> {
    if job.dry_run {
        reporter.note(&tags::dry_run_note(client));
        return Ok(());
    }
    let check = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::usage(format!("cannot start: {e}")))?
        .block_on(tags::ensure_customer_tag(client, &job.tag))?;
    reporter.note(&check.describe(&job.tag));
    Ok(())
}

/// The runner's knobs from the command line.
fn job_config(job: &JobArgs, action: Action, json: bool) -> JobConfig {
    JobConfig {
        batch_size: job.batch_size as usize,
        concurrency: job.pacing.concurrency as usize,
        policy: Policy {
            max_retries: job.pacing.max_retries,
            max_wait: Duration::from_secs_f64(job.pacing.max_wait),
            backoff: Backoff::default(),
            hint_create_tag: action == Action::Tag && !job.create_tag,
        },
        dedupe: !job.input.no_dedupe,
        dry_run: job.dry_run.then_some(if json {
            DryRunOutput::Stderr
        } else {
            DryRunOutput::Stdout
        }),
        read: None,
        pacing: Default::default(),
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
    let config = job_config(&job, action, json);
    let Some(runtime) = runtime(&reporter) else {
        return Exit::Usage;
    };
    let ledger = Ledger::new();
    let read_back = (job.verify && !job.dry_run).then(|| {
        ledger.keep_confirmed();
        ReadBack::new(&prepared.client, &job, action, json)
    });
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
    let (end, verified) = runtime.block_on(async {
        tokio::spawn(watch_signals(
            stop.clone(),
            abort.clone(),
            Arc::clone(&reporter),
        ));
        let job = runner::Job {
            client: prepared.client,
            config,
            ledger: Arc::clone(&ledger),
            reporter: Arc::clone(&reporter),
            stop: stop.clone(),
            abort: abort.clone(),
        };
        let end = runner::run(prepared.sources, job).await;
        let verified = match read_back {
            Some(read_back) => read_back.after(&end, &ledger, &reporter, stop, abort).await,
            None => None,
        };
        (end, verified)
    });
    let (counts, lost) = end_outputs(sinks, failed_ids, &ledger, &end, job.dry_run, &reporter);
    let failed_path = job.failed_ids.clone();
    let finished = Finished {
        end: &end,
        counts,
        lost,
        verified,
        missing_ids: prepared.missing_ids,
    };
    let mut summary = tag_summary(job, action, finished, &ledger, &reporter);
    summary.endpoint = prepared.endpoint;
    runtime.shutdown_timeout(Duration::from_millis(100));
    if summary.no_input() {
        reporter.error(
            "no customer IDs in the input (it was empty or only blank lines)",
            &[],
        );
        return summary.exit();
    }
    print_summary(global, &summary, failed_path.as_deref());
    summary.exit()
}

/// The end of a tag/untag run: the leftovers written, the read-back
/// counted, the summary.
fn tag_summary(
    job: JobArgs,
    action: Action,
    finished: Finished<'_>,
    ledger: &Ledger,
    reporter: &Reporter,
) -> Summary {
    let Finished {
        end,
        counts,
        lost: failed_ids_lost,
        verified,
        missing_ids,
    } = finished;
    let missing_ids_lost = match (missing_ids, &verified) {
        // The input is the write run's: whether it was read to its end is
        // that run's to say.
        (Some(file), Some((_, read_ledger))) => {
            !write_leftovers(file, read_ledger, reporter, unread(end))
        }
        // Nothing was verified (an interrupt, a dry run): the file was
        // emptied at the start, and an input's content is kept.
        (Some(file), None) => file.finish(unread(end), |_| Ok(())).is_err(),
        (None, _) => false,
    };
    let read_end = verified.map(|(read_end, read_ledger)| {
        let counts = read_ledger.close();
        (
            VerifyCounts::from_ledger(&counts, read_end.stop.as_ref()),
            read_end,
        )
    });
    Summary {
        action,
        tag: job.tag,
        counts,
        elapsed_ms: (end.elapsed + read_end.as_ref().map_or(Duration::ZERO, |(_, r)| r.elapsed))
            .as_millis() as u64,
        problems: ledger.problems(),
        dry_run: job.dry_run,
        stop: end.stop.clone(),
        read_error: end.read_error.as_ref().map(ToString::to_string),
        failed_ids_lost: failed_ids_lost || missing_ids_lost,
        verify: read_end.as_ref().map(|(v, _)| *v),
        verify_stop: read_end.and_then(|(_, r)| r.stop),
        endpoint: String::new(),
    }
}

/// How a tag/untag run ended, its outputs closed.
struct Finished<'a> {
    end: &'a runner::RunEnd,
    /// The ledger's final counts.
    counts: crate::ledger::Counts,
    /// `--failed-ids`, `--journal` or `--report` could not be written.
    lost: bool,
    /// The `--verify` read-back's end and ledger.
    verified: Option<(runner::RunEnd, Arc<Ledger>)>,
    missing_ids: Option<FailedIds>,
}

/// `tag|untag --verify`: the read job that checks the confirmed IDs after the
/// run, on the same connections, credentials and runner.
struct ReadBack {
    client: Client,
    config: JobConfig,
    ledger: Arc<Ledger>,
    wait: Duration,
}

impl ReadBack {
    fn new(client: &Client, job: &JobArgs, action: Action, json: bool) -> ReadBack {
        let mut config = job_config(job, Action::Verify, json);
        config.batch_size = crate::cli::READ_BATCH as usize;
        config.read = Some(ReadCheck {
            tag: job.tag.clone(),
            present: action == Action::Tag,
        });
        ReadBack {
            client: client.with_action(Action::Verify),
            config,
            ledger: Ledger::new(),
            wait: Duration::from_secs_f64(job.verify_wait),
        }
    }

    /// After the write run: verifies what it confirmed, unless the run was
    /// cut short (an interrupt, refused credentials, an abort).
    async fn after(
        self,
        end: &runner::RunEnd,
        ledger: &Ledger,
        reporter: &Arc<Reporter>,
        stop: Stop,
        abort: Stop,
    ) -> Option<(runner::RunEnd, Arc<Ledger>)> {
        let cut_short = matches!(
            end.stop,
            Some(StopReason::Interrupted | StopReason::Unauthorized)
        );
        if cut_short || end.aborted {
            return None;
        }
        reporter.finish();
        let confirmed = ledger.take_confirmed();
        Some(self.run(confirmed, reporter, stop, abort).await)
    }

    /// Verifies `confirmed`; the read job's end and its ledger.
    async fn run(
        self,
        confirmed: Vec<ids::IdList>,
        reporter: &Arc<Reporter>,
        stop: Stop,
        abort: Stop,
    ) -> (runner::RunEnd, Arc<Ledger>) {
        let job = runner::Job {
            client: self.client,
            config: self.config,
            ledger: Arc::clone(&self.ledger),
            reporter: Arc::clone(reporter),
            stop,
            abort,
        };
        let end = verify::run(verify::Input::Lists(confirmed), self.wait, job).await;
        (end, self.ledger)
    }
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

/// Writes the IDs left to do (for verify: not matching) to `file`; false
/// (said on standard error) if they could not be saved. With `unread`, an
/// input file's unread rest is kept after them.
fn write_leftovers(file: FailedIds, ledger: &Ledger, reporter: &Reporter, unread: bool) -> bool {
    let flag = file.flag();
    let written = file.finish(unread, |mut out| ledger.write_unconfirmed(&mut out));
    if let Err(e) = &written {
        reporter.error(
            &format!("{flag}: cannot write: {}", ids::read::io_message(e)),
            &[],
        );
    }
    written.is_ok()
}

/// Whether the run ended before its input was read to the end.
fn unread(end: &runner::RunEnd) -> bool {
    end.input_unread || end.read_error.is_some()
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
