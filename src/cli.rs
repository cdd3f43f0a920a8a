//! The command line, declared once: the help text and the completions both
//! come from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  tagctl tag VIP cus_1 cus_2                      tag two customers
  tagctl tag VIP -f ids.csv                        IDs from a CSV (column customerId/id)
  tagctl tag 'Big Spender' -f report.csv --column 3
  some-query | tagctl untag VIP                    IDs from standard input
  tagctl tag VIP -f ids.txt --output json --failed-ids retry.txt
  tagctl tag VIP -f ids.txt --create-tag --verify  create the tag if needed, check after
  tagctl verify VIP -f ids.txt --wait 120          which customers carry VIP now

Credentials come from REBILLY_API_KEY (or REBILLY_JWT, or --api-key-file);
the organization from REBILLY_ORGANIZATION_ID. Exit codes: 0 all confirmed
(verify: all match), 1 some IDs invalid/failed/unsent (verify: missing, not
found or unchecked), 2 usage or input error, 3 the API could not be reached,
4 credentials or permission refused, 130 interrupted.
`tagctl man | man -l -` shows the manual.";

const TAG_EXAMPLES: &str = "\
Examples:
  tagctl tag VIP cus_1 cus_2
  tagctl tag VIP -f ids.csv --failed-ids left.txt    then: tagctl tag VIP -f left.txt
  tagctl tag 'Big Spender' -f report.csv --column 3 --sandbox
  some-query | tagctl tag VIP --output json > summary.json
  tagctl tag VIP -f ids.txt --dry-run                 check the input, send nothing
  tagctl tag VIP -f ids.txt --progress plain 2> tag.log
  tagctl tag VIP -f ids.txt --create-tag --verify     create the tag if needed, check after";

const VERIFY_EXAMPLES: &str = "\
Examples:
  tagctl verify VIP -f ids.csv                        which customers carry VIP now
  tagctl verify VIP -f ids.csv --wait 120 --missing-ids missing.txt
  tagctl verify Trial -f ids.txt --expect absent      after an untag";

const UNTAG_EXAMPLES: &str = "\
Examples:
  tagctl untag VIP cus_1 cus_2                        asks first on a terminal
  tagctl untag VIP -f ids.csv --yes                   no question (scripts never get one)
  tagctl untag VIP -f ids.csv --sandbox --failed-ids left.txt
  some-query | tagctl untag VIP --output json";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  tagctl completions bash > ~/.local/share/bash-completion/completions/tagctl
  tagctl completions zsh > ~/.zfunc/_tagctl
  tagctl completions fish > ~/.config/fish/completions/tagctl.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  tagctl man | man -l -
  tagctl man > ~/.local/share/man/man1/tagctl.1";

/// Bulk-tag and untag customers in a Rebilly account.
///
/// Reads customer IDs from arguments, files, CSV or standard input, sends them
/// in batches of up to 1000 to POST (tag) or DELETE (untag)
/// /tags/{tag}/customers, paces itself to the API's rate limit, retries what
/// can be retried and accounts for every ID.
#[derive(Debug, Parser)]
#[command(name = "tagctl", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// Connection, credential and output options (valid before or after the command).
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tag customers: POST /tags/{TAG}/customers.
    #[command(after_help = TAG_EXAMPLES)]
    Tag(JobArgs),
    /// Remove the tag from customers: DELETE /tags/{TAG}/customers.
    #[command(after_help = UNTAG_EXAMPLES)]
    Untag(JobArgs),
    /// Read the customers back and check which carry the tag now (a 204 only
    /// schedules a write): GET /customers?filter=id:….
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), from the same definitions as --help.
    #[command(after_help = MAN_EXAMPLES)]
    Man,
}

/// Options that may stand before or after the command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the
    /// environment or --api-key-file: other users can read process arguments.
    #[arg(long, value_name = "KEY", global = true, help_heading = "Connection")]
    pub api_key: Option<crate::api::Secret>,

    /// Read the API key from a file (its first line, trimmed), '-' for standard input.
    #[arg(long, value_name = "PATH", global = true, help_heading = "Connection")]
    pub api_key_file: Option<PathBuf>,

    /// JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT].
    #[arg(long, value_name = "TOKEN", global = true, help_heading = "Connection")]
    pub jwt: Option<crate::api::Secret>,

    /// Organization ID: adds /organizations/{ID} to the base URL.
    #[arg(
        long,
        value_name = "ID",
        env = "REBILLY_ORGANIZATION_ID",
        hide_env_values = true,
        global = true,
        help_heading = "Connection"
    )]
    pub organization_id: Option<String>,

    /// Use the sandbox host (api-sandbox.rebilly.com) instead of live.
    #[arg(
        long,
        env = "REBILLY_SANDBOX",
        hide_env_values = true,
        value_parser = clap::builder::FalseyValueParser::new(),
        global = true,
        help_heading = "Connection"
    )]
    pub sandbox: bool,

    /// Another API host: a local mock, a proxy (its path prefix is kept).
    #[arg(
        long,
        value_name = "URL",
        env = "REBILLY_API_URL",
        hide_env_values = true,
        global = true,
        help_heading = "Connection"
    )]
    pub api_url: Option<String>,

    /// Allow credentials over plain http:// to a host other than loopback.
    #[arg(long, global = true, help_heading = "Connection")]
    pub allow_insecure_http: bool,

    /// The final summary on standard output.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = OutputFormat::Text,
        global = true,
        help_heading = "Output"
    )]
    pub output: OutputFormat,

    /// Progress on standard error: auto draws a bar on a terminal and prints plain
    /// status lines otherwise (every 30 s, and when a long rate-limit wait begins).
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ProgressMode::Auto,
        global = true,
        help_heading = "Output"
    )]
    pub progress: ProgressMode,

    /// Only errors on standard error (no progress, warnings or text summary).
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub quiet: bool,

    /// One line per request on standard error: method, URL, attempt, status, wait.
    #[arg(short, long, global = true, help_heading = "Output")]
    pub verbose: bool,
}

/// Where the IDs of `tag`, `untag` and `verify` come from, and how they are
/// read: one definition, so the commands cannot drift apart.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Customer IDs.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,

    /// Read IDs from a file, '-' for standard input (repeatable).
    #[arg(
        short = 'f',
        long = "ids-file",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ids_files: Vec<PathBuf>,

    /// How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the
    /// first lines are, else one ID per line).
    #[arg(long, value_enum, default_value_t = InputFormat::Auto, help_heading = "Input")]
    pub format: InputFormat,

    /// The CSV field separator: one character, or 'tab' [default: sniffed from
    /// the header line among , ; tab |, or Excel's sep= line]. Implies CSV.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter, help_heading = "Input")]
    pub delimiter: Option<u8>,

    /// The CSV column holding IDs: a header name (case-insensitive) or a 1-based
    /// index [default: customerId, customer_id, customer id or id, else the first].
    #[arg(long, value_name = "NAME|N", help_heading = "Input")]
    pub column: Option<String>,

    /// The CSV/TSV has no header row.
    #[arg(long, help_heading = "Input")]
    pub no_header: bool,

    /// Skip de-duplication (constant memory) for input known to be unique.
    #[arg(long, help_heading = "Input")]
    pub no_dedupe: bool,
}

/// How `tag`, `untag` and `verify` pace and retry their requests.
#[derive(Debug, Clone, Copy, Args)]
pub struct PacingArgs {
    /// Requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        allow_negative_numbers = true,
        value_parser = |s: &str| parse_count(s, 1, 64),
        help_heading = "Batching"
    )]
    pub concurrency: u32,

    /// Retries of one request after 429, 5xx, timeouts or connection errors.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        allow_negative_numbers = true,
        value_parser = |s: &str| parse_count(s, 0, MAX_RETRIES),
        help_heading = "Batching"
    )]
    pub max_retries: u32,

    /// Timeout of one request, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "30",
        allow_negative_numbers = true,
        value_parser = parse_positive_seconds,
        help_heading = "Batching"
    )]
    pub timeout: f64,

    /// The longest single rate-limit wait, in seconds; past it the run stops
    /// and the rest is reported as unsent (verify: unchecked).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "900",
        allow_negative_numbers = true,
        value_parser = parse_seconds,
        help_heading = "Batching"
    )]
    pub max_wait: f64,
}

/// The options of `tag` and `untag`.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// The tag: letters, digits, spaces and _ @ ~ - . +
    #[arg(value_name = "TAG")]
    pub tag: String,

    /// Where the IDs come from.
    #[command(flatten)]
    pub input: InputArgs,

    /// IDs per request.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        allow_negative_numbers = true,
        value_parser = |s: &str| parse_count(s, 1, 1000),
        help_heading = "Batching"
    )]
    pub batch_size: u32,

    /// Concurrency, retries and waits.
    #[command(flatten)]
    pub pacing: PacingArgs,

    /// Check the input and print the requests that would be sent; sends nothing.
    #[arg(long, help_heading = "Batching")]
    pub dry_run: bool,

    /// Write every valid ID that was not confirmed to this file, one per line.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub failed_ids: Option<PathBuf>,

    /// Record the job and every confirmed batch here (synced to disk); rerun
    /// the same command after a crash to skip what it confirmed.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub journal: Option<PathBuf>,

    /// Write every ID's fate as CSV: customerId,outcome,status,detail,source.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub report: Option<PathBuf>,

    /// (tag) Before the first write, make sure the tag exists as a customer
    /// tag: GET /tags/{TAG}, and POST /tags to create it when it is missing.
    #[arg(long, help_heading = "Tag")]
    pub create_tag: bool,

    /// After the run, read the confirmed customers back and check that they
    /// carry (tag) or lack (untag) the tag; the summary gains "verify".
    #[arg(long, help_heading = "Verify")]
    pub verify: bool,

    /// With --verify: re-check what does not match yet for up to this many seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "60",
        value_parser = parse_seconds,
        requires = "verify",
        help_heading = "Verify"
    )]
    pub verify_wait: f64,

    /// With --verify: write every confirmed ID that does not match to this file.
    #[arg(
        long,
        value_name = "PATH",
        requires = "verify",
        help_heading = "Verify"
    )]
    pub missing_ids: Option<PathBuf>,

    /// Do not ask before removing tags (untag asks only when standard input
    /// and standard error are terminals).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// The options of `verify`: the input and pacing options of `tag`, and what
/// to expect.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The tag: letters, digits, spaces and _ @ ~ - . +
    #[arg(value_name = "TAG")]
    pub tag: String,

    /// Where the IDs come from.
    #[command(flatten)]
    pub input: InputArgs,

    /// Whether the customers should carry the tag (after tag) or not (after untag).
    #[arg(long, value_enum, default_value_t = Expect::Present, help_heading = "Verify")]
    pub expect: Expect,

    /// Re-check the IDs that do not match yet, at growing intervals, until they
    /// do or this many seconds have passed (0: check once).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "0",
        value_parser = parse_seconds,
        help_heading = "Verify"
    )]
    pub wait: f64,

    /// Write every valid ID that does not match (missing, not found or
    /// unchecked) to this file, one per line; empty when all match.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub missing_ids: Option<PathBuf>,

    /// Write every ID's final fate as CSV: customerId,outcome,status,detail,source
    /// (matching, missing, not_found, unchecked, duplicate, invalid).
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub report: Option<PathBuf>,

    /// Concurrency, retries and waits.
    #[command(flatten)]
    pub pacing: PacingArgs,
}

/// At most this many IDs per verify read (`GET /customers?filter=id:…`):
/// short URLs, small answers.
pub const READ_BATCH: u32 = 100;

impl VerifyArgs {
    /// The same job as `tag` would run on this input, so input, credentials
    /// and pacing are prepared by one code path; only the action differs.
    pub fn as_job(&self) -> JobArgs {
        JobArgs {
            tag: self.tag.clone(),
            input: self.input.clone(),
            batch_size: READ_BATCH,
            pacing: self.pacing,
            dry_run: false,
            failed_ids: None,
            journal: None,
            report: self.report.clone(),
            create_tag: false,
            verify: false,
            verify_wait: 0.0,
            missing_ids: self.missing_ids.clone(),
            yes: false,
        }
    }
}

/// What `verify` expects of each customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Expect {
    /// The customer carries the tag (after tag).
    Present,
    /// The customer does not carry the tag (after untag).
    Absent,
}

impl Expect {
    /// The name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Expect::Present => "present",
            Expect::Absent => "absent",
        }
    }
}

/// When progress is shown on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// The bar on a terminal, nothing otherwise (never escapes in a log).
    Bar,
    /// Plain status lines, one every 30 s and one when a long wait begins.
    Plain,
    /// No progress at all.
    None,
}

/// How ID files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// By extension: .csv and .tsv as such; anything else sniffed from its first lines.
    Auto,
    /// One ID per line.
    Lines,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
}

/// The summary's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// One JSON object, for scripts.
    Json,
}

/// The most retries of one batch `--max-retries` accepts.
const MAX_RETRIES: u32 = 1000;

/// A whole number in `min..=max`; the error says the range, never clap's
/// `-- -1` tip (which would make the value a customer ID).
fn parse_count(s: &str, min: u32, max: u32) -> Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(v) if (i64::from(min)..=i64::from(max)).contains(&v) => Ok(v as u32),
        _ => Err(format!("'{s}' is not a whole number from {min} to {max}")),
    }
}

/// `--delimiter`: one ASCII character other than a quote or a line end, or
/// `tab` / `\t`.
fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "TAB" | "\\t" | "\t" => return Ok(b'\t'),
        "\"" | "\n" | "\r" => {
            return Err("a quote or a line end cannot separate fields".to_string());
        }
        _ => {}
    }
    match s.as_bytes() {
        [b] if b.is_ascii() && !b.is_ascii_alphanumeric() => Ok(*b),
        _ => Err(format!(
            "'{}' cannot separate fields: give one ASCII character such as , ; | or 'tab'",
            crate::text::printable(s, 20)
        )),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=31_536_000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds (0 to 31536000, decimals allowed)"
        )),
    }
}

fn parse_positive_seconds(s: &str) -> Result<f64, String> {
    match parse_seconds(s)? {
        v if v > 0.0 => Ok(v),
        _ => Err("must be more than 0 seconds".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_after_the_command() {
        let cli = Cli::try_parse_from(["tagctl", "tag", "VIP", "x", "--sandbox", "-v"]).unwrap();
        assert!(cli.global.sandbox);
        assert!(cli.global.verbose);
    }

    #[test]
    fn parsed_arguments_never_show_the_key() {
        let cli = Cli::try_parse_from([
            "tagctl",
            "--api-key",
            "sk_live_zz",
            "--jwt",
            "ey.zz",
            "tag",
            "t",
            "x",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("sk_live_zz") && !shown.contains("ey.zz"),
            "{shown}"
        );
    }

    #[test]
    fn delimiters_are_one_ascii_character_or_tab() {
        for (arg, want) in [
            (",", b','),
            (";", b';'),
            ("|", b'|'),
            ("tab", b'\t'),
            ("\\t", b'\t'),
            ("\t", b'\t'),
            (" ", b' '),
        ] {
            assert_eq!(parse_delimiter(arg), Ok(want), "{arg:?}");
        }
        for bad in ["", ";;", "é", "\"", "\n", "a", "1", "comma"] {
            assert!(parse_delimiter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn seconds_accept_decimals_and_refuse_nonsense() {
        assert_eq!(parse_seconds("1.5"), Ok(1.5));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_positive_seconds("0").is_err());
    }

    #[test]
    fn counts_say_their_range() {
        for (input, min, max, want) in [
            ("4", 1, 64, Ok(4)),
            (" 1000", 1, 1000, Ok(1000)),
            ("0", 0, 1000, Ok(0)),
            ("-1", 1, 64, Err("'-1' is not a whole number from 1 to 64")),
            ("65", 1, 64, Err("'65' is not a whole number from 1 to 64")),
            (
                "2.5",
                1,
                64,
                Err("'2.5' is not a whole number from 1 to 64"),
            ),
        ] {
            assert_eq!(
                parse_count(input, min, max),
                want.map_err(String::from),
                "{input}"
            );
        }
    }
}
