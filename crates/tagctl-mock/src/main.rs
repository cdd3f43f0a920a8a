//! `tagctl-mock`: run the local mock of Rebilly's "tag customers" API from a shell, for
//! demos and for testing scripts against failures a real account cannot produce on demand.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use tagctl_mock::{
    Fault, InvalidFieldsStyle, MissingTag, MockConfig, MockServer, ProblemContentType, RateLimit,
    RetryAfterStyle, TagSeed, Universe,
};

/// A local mock of Rebilly's tag/untag customers API.
///
/// Serves POST/DELETE …/tags/{TAG}/customers[/{ID}], GET …/customers, GET/POST …/tags and
/// GET …/tags/{TAG} under any path prefix, plus an admin API: GET /__mock/requests,
/// GET|POST /__mock/tags, GET /__mock/tags/{TAG}, GET /__mock/customers[/{ID}],
/// GET /__mock/stats, POST /__mock/faults (JSON array of fault names), POST /__mock/reset.
///
/// Prints `tagctl-mock listening on URL` on standard output once ready, then one line per
/// request on standard error. Stops on Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "tagctl-mock", version)]
struct Args {
    /// Address to listen on [default: 127.0.0.1]. Anything but loopback exposes a server
    /// that accepts any credential to the network, so it must be asked for here.
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,

    /// Port to listen on; 0 picks a free one (read it from the first line of output).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Accept only this REB-APIKEY (default: any non-empty key or token).
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,

    /// Accept only this `Authorization: Bearer` token (default: any non-empty key or token).
    #[arg(long, value_name = "TOKEN")]
    jwt: Option<String>,

    /// Answer 403 to this key or token (repeatable).
    #[arg(long = "forbid-key", value_name = "KEY")]
    forbid_keys: Vec<String>,

    /// Fixed-window rate limit, e.g. 10/2s or 3000/10m; windows align to the Unix epoch.
    #[arg(long, value_name = "N/WINDOW")]
    rate_limit: Option<RateLimit>,

    /// How a 429 says when to retry: X-RateLimit-Retry-After timestamp (as Rebilly does),
    /// Retry-After seconds, Retry-After HTTP date, or nothing.
    #[arg(
        long,
        value_name = "STYLE",
        default_value = "timestamp",
        value_parser = PossibleValuesParser::new(["timestamp", "seconds", "http-date", "none"])
            .try_map(|s| s.parse::<RetryAfterStyle>())
    )]
    retry_after_style: RetryAfterStyle,

    /// Pretend the server clock is off by this many seconds (Date and reset times shift).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_offset: i64,

    /// Wait this many milliseconds before answering each API request.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,

    /// Refuse this well-formed customer ID with 422 "Customer not found" (repeatable).
    #[arg(long = "reject-id", value_name = "ID")]
    reject_ids: Vec<String>,

    /// How a 422 names bad IDs: customerIds.17, customerIds[17], or customerIds alone.
    #[arg(
        long,
        value_name = "STYLE",
        default_value = "indexed",
        value_parser = PossibleValuesParser::new(["indexed", "bracketed", "bare"])
            .try_map(|s| s.parse::<InvalidFieldsStyle>())
    )]
    invalid_fields: InvalidFieldsStyle,

    /// Queue a one-shot fault for the next API request (repeatable, consumed in order): 500,
    /// html502, empty503, drop, slow:MS, 429[:SECS], redirect:STATUS:URL, huge,
    /// raw:STATUS:CONTENT-TYPE:BODY.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<Fault>,

    /// Probability (0 to 1) that a request gets a random fault from --fault-kinds.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    fault_rate: f64,

    /// Comma-separated faults drawn by --fault-rate [default: 500,html502,empty503,drop,429].
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    fault_kinds: Vec<Fault>,

    /// Seed for --fault-rate, to replay the same sequence of random faults.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Serve problem details as application/json instead of application/problem+json.
    #[arg(long)]
    json_problems: bool,

    /// Which customers exist: all (every well-formed ID), a count N (cus_00000 …), a
    /// comma-separated list, or @PATH (one ID per line).
    #[arg(long, value_name = "all|N|IDS|@PATH", default_value = "all", value_parser = parse_universe)]
    customers: Universe,

    /// A write takes effect this many milliseconds after its 204 (reads show the old
    /// tags until then).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    apply_delay_ms: u64,

    /// A write never reaches this customer, though it is answered 204 (repeatable).
    #[arg(long = "never-apply", value_name = "ID")]
    never_apply: Vec<String>,

    /// A tag that exists from the start: NAME or NAME:TYPE, TYPE one of customer,
    /// kyc-document, aml-check (repeatable).
    #[arg(long = "tag", value_name = "NAME[:TYPE]")]
    tags: Vec<TagSeed>,

    /// What a write to a tag that does not exist gets: create (the tag, as a customer
    /// tag), 404, or 422 naming the field `tag`.
    #[arg(
        long,
        value_name = "ANSWER",
        default_value = "create",
        value_parser = PossibleValuesParser::new(["create", "404", "422"])
            .try_map(|s| s.parse::<MissingTag>())
    )]
    missing_tag: MissingTag,

    /// Answer GET /customers and GET /tags as if no filter were given (a broken server).
    #[arg(long)]
    ignore_filter: bool,

    /// Count GET requests toward --rate-limit too (the sandbox limits non-GET only).
    #[arg(long)]
    rate_limit_reads: bool,

    /// Only count requests; keep no log, IDs or tags (for benchmarks with millions of IDs).
    #[arg(long)]
    no_record: bool,

    /// Do not log requests on standard error.
    #[arg(short, long)]
    quiet: bool,
}

/// Reads a probability, refusing anything outside 0..=1 (so clap reports it as a usage error).
fn parse_probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a probability from 0 to 1".to_owned()),
    }
}

/// Reads `--customers`: `@PATH` is a file of IDs, one per line; anything else as
/// [`Universe::from_str`](std::str::FromStr) reads it.
fn parse_universe(text: &str) -> Result<Universe, String> {
    let Some(path) = text.strip_prefix('@') else {
        return text
            .parse()
            .map_err(|e: tagctl_mock::InvalidOption| e.to_string());
    };
    let content = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let ids: std::collections::BTreeSet<String> = content
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(format!("{path} holds no customer IDs"));
    }
    Ok(Universe::Listed(ids))
}

impl Args {
    /// The server options these arguments ask for.
    fn config(&self) -> MockConfig {
        MockConfig {
            api_key: self.api_key.clone(),
            jwt: self.jwt.clone(),
            forbidden: self.forbid_keys.iter().cloned().collect(),
            rate_limit: self.rate_limit,
            retry_after_style: self.retry_after_style,
            clock_offset_secs: self.clock_offset,
            latency: Duration::from_millis(self.latency_ms),
            reject_ids: self.reject_ids.iter().cloned().collect(),
            invalid_fields_style: self.invalid_fields,
            problem_content_type: if self.json_problems {
                ProblemContentType::Json
            } else {
                ProblemContentType::ProblemJson
            },
            fault_rate: self.fault_rate,
            fault_kinds: self.fault_kinds.clone(),
            seed: self.seed,
            record: !self.no_record,
            log_requests: !self.quiet,
            customers: self.customers.clone(),
            apply_delay: Duration::from_millis(self.apply_delay_ms),
            never_apply: self.never_apply.iter().cloned().collect(),
            tags: self.tags.clone(),
            missing_tag: self.missing_tag,
            ignore_filter: self.ignore_filter,
            rate_limit_reads: self.rate_limit_reads,
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C, or SIGTERM on Unix).
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` gives the cause chain on one line, and no backtrace whatever the env says.
            eprintln!("tagctl-mock: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until asked to stop.
async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config();
    // Only an explicit --bind can leave loopback; say so, since any key is accepted.
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !ip.is_loopback() {
        eprintln!(
            "tagctl-mock: warning: listening on {ip}, reachable from other machines; \
             it is a test server and records every credential it is sent"
        );
    }
    let server = MockServer::start(config, SocketAddr::new(ip, args.port))
        .await
        .with_context(|| format!("cannot listen on {}", SocketAddr::new(ip, args.port)))?;
    server.push_faults(args.faults.iter().cloned());

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "tagctl-mock listening on {}", server.url())?;
    stdout.flush()?;
    drop(stdout);

    stop_requested().await;
    server.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_come_from_a_count_a_list_or_a_file() {
        assert_eq!(parse_universe("all"), Ok(Universe::All));
        assert_eq!(parse_universe("7"), Ok(Universe::Numbered(7)));
        let path = std::env::temp_dir().join(format!("tagctl-mock-ids-{}", std::process::id()));
        std::fs::write(&path, "b\n\n a \n").unwrap();
        let listed = parse_universe(&format!("@{}", path.display()));
        std::fs::write(&path, "\n").unwrap();
        let empty = parse_universe(&format!("@{}", path.display()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            listed,
            Ok(Universe::Listed(["a".to_owned(), "b".to_owned()].into()))
        );
        assert!(empty.unwrap_err().ends_with("holds no customer IDs"));
        assert!(parse_universe("@/no/such/file").is_err());
    }
}
