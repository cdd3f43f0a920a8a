//! `verify` and `tag --verify`: read the customers back on the same runner
//! as the writes (a read job: batches of at most 100, `GET /customers`), and
//! re-check what does not match yet at growing intervals until it does or
//! the wait is over. Then the verify summary and its exit code. While
//! re-checks may follow, `--report` gets a missing ID's row only once its
//! last check is done: one row per ID, its final fate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::api::Problem;
use crate::exit::Exit;
use crate::ids::{IdList, Opened};
use crate::ledger::{Counts, Part};
use crate::runner::{self, FILTER_IGNORED, Job, RunEnd, StopReason};

/// The first wait before re-checking; each next one doubles, up to
/// [`MAX_INTERVAL`], and the last ends exactly when the wait does.
pub const FIRST_INTERVAL: Duration = Duration::from_secs(1);
/// The longest pause between two checks.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30);

/// The pauses between checks for a wait of `total`: 1 s, 2 s, 4 s, … capped
/// at [`MAX_INTERVAL`], the last cut to end at `total`. Checking more often
/// would only spend the rate limit; less often, keep a CI job waiting.
pub fn intervals(total: Duration) -> Vec<Duration> {
    let (mut out, mut spent, mut next) = (Vec::new(), Duration::ZERO, FIRST_INTERVAL);
    while spent < total {
        let step = next.min(total - spent);
        out.push(step);
        spent += step;
        next = (next * 2).min(MAX_INTERVAL);
    }
    out
}

/// What a verify reads first.
pub enum Input {
    /// The command's input (arguments, files, standard input).
    Sources(Vec<Opened>),
    /// IDs already read: the confirmed IDs of a `tag --verify` run.
    Lists(Vec<IdList>),
}

/// `3 customers do not match yet; checking again in 2s`.
fn not_yet(missing: u64, pause: Duration) -> String {
    let who = if missing == 1 {
        "customer does"
    } else {
        "customers do"
    };
    format!(
        "{missing} {who} not match yet; checking again in {:.0}s",
        pause.as_secs_f64()
    )
}

/// Runs a verify job to its end: one pass over `input`, then, while some
/// IDs are `missing` and `wait` allows, passes over just those.
pub async fn run(input: Input, wait: Duration, job: Job) -> RunEnd {
    let start = Instant::now();
    let (ledger, reporter, stop) = (
        Arc::clone(&job.ledger),
        Arc::clone(&job.reporter),
        job.stop.clone(),
    );
    ledger.judge_reads();
    let pauses = intervals(wait);
    if !pauses.is_empty() {
        // A missing ID's row waits for its last check.
        ledger.defer_missing();
    }
    let mut end = match input {
        Input::Sources(sources) => runner::run(sources, job.clone()).await,
        Input::Lists(lists) => {
            let parts = lists.into_iter().map(Part::from).collect();
            runner::run_lists(parts, true, job.clone()).await
        }
    };
    for pause in pauses {
        let missing = ledger.counts().missing;
        if missing == 0 || end.stop.is_some() || end.aborted || stop.is_stopping() {
            break;
        }
        reporter.note(&not_yet(missing, pause));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait() => break,
        }
        let again = runner::run_lists(ledger.take_missing(), false, job.clone()).await;
        end.stop = again.stop.or(end.stop);
        end.aborted |= again.aborted;
    }
    ledger.release_missing();
    end.stop = stop.reason().or(end.stop);
    end.elapsed = start.elapsed();
    end
}

/// The verify counts, as the contract names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerifyCounts {
    /// Returned with (or, for `absent`, without) the tag.
    pub matching: u64,
    /// Returned, not as expected.
    pub missing: u64,
    /// Asked for and not returned: no such customer.
    pub not_found: u64,
    /// Not checked: errors, an interrupt, a server that ignored the filter.
    pub unchecked: u64,
}

impl VerifyCounts {
    /// From a read job's ledger counts: matching IDs settle as confirmed,
    /// unchecked ones as failed or unsent. After a server ignored the
    /// filter, nothing counts as matching.
    pub fn from_ledger(c: &Counts, stop: Option<&StopReason>) -> VerifyCounts {
        let mut v = VerifyCounts {
            matching: c.confirmed,
            missing: c.missing,
            not_found: c.not_found,
            unchecked: c.failed + c.unsent,
        };
        if matches!(stop, Some(StopReason::Fatal(m)) if m == FILTER_IGNORED) {
            v.unchecked += v.matching;
            v.matching = 0;
        }
        v
    }

    /// Whether every ID matched.
    pub fn all_match(&self) -> bool {
        self.missing + self.not_found + self.unchecked == 0
    }
}

/// The end of a `verify` run.
#[derive(Debug, Clone)]
pub struct VerifySummary {
    /// The tag.
    pub tag: String,
    /// `present` or `absent`.
    pub expect: &'static str,
    /// The read job's ledger counts.
    pub counts: Counts,
    /// Wall time, waits included.
    pub elapsed_ms: u64,
    /// Distinct problems met.
    pub problems: Vec<(Problem, u64)>,
    /// Why it stopped early.
    pub stop: Option<StopReason>,
    /// The input broke mid-run.
    pub read_error: Option<String>,
    /// `--missing-ids` could not be written.
    pub missing_ids_lost: bool,
    /// The base URL used (never with a credential).
    pub endpoint: String,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    count: u64,
}

#[derive(Serialize)]
struct JsonVerify<'a> {
    action: &'static str,
    tag: &'a str,
    expect: &'a str,
    ids_read: u64,
    duplicates: u64,
    invalid: u64,
    matching: u64,
    missing: u64,
    not_found: u64,
    unchecked: u64,
    requests: u64,
    retries: u64,
    rate_limited: u64,
    elapsed_ms: u64,
    problems: Vec<JsonProblem<'a>>,
    interrupted: bool,
    stopped: Option<String>,
    endpoint: &'a str,
}

impl VerifySummary {
    /// The contract's counts.
    pub fn verify_counts(&self) -> VerifyCounts {
        VerifyCounts::from_ledger(&self.counts, self.stop.as_ref())
    }

    /// The input held no ID at all.
    pub fn no_input(&self) -> bool {
        self.counts.ids_read == 0 && self.read_error.is_none() && self.stop.is_none()
    }

    /// 0 every valid ID matches (none invalid); 1 some missing, not found,
    /// unchecked or invalid; 2 no input, or unreadable input before any
    /// request; 4 credentials refused; 130 interrupted.
    pub fn exit(&self) -> Exit {
        match &self.stop {
            Some(StopReason::Interrupted) => return Exit::Interrupted,
            Some(StopReason::Unauthorized) => return Exit::Auth,
            Some(StopReason::Unreachable(_)) => return Exit::Unreachable,
            _ => {}
        }
        if self.no_input() || (self.read_error.is_some() && self.counts.requests == 0) {
            return Exit::Usage;
        }
        let v = self.verify_counts();
        if v.all_match()
            && self.counts.invalid == 0
            && self.read_error.is_none()
            && self.stop.is_none()
            && !self.missing_ids_lost
        {
            Exit::Success
        } else {
            Exit::Incomplete
        }
    }

    fn stopped(&self) -> Option<String> {
        self.stop.as_ref().map(StopReason::summary_name)
    }

    /// The one JSON object of `--output json`.
    pub fn to_json(&self) -> String {
        let (c, v) = (&self.counts, self.verify_counts());
        let json = JsonVerify {
            action: "verify",
            tag: &self.tag,
            expect: self.expect,
            ids_read: c.ids_read,
            duplicates: c.duplicates,
            invalid: c.invalid,
            matching: v.matching,
            missing: v.missing,
            not_found: v.not_found,
            unchecked: v.unchecked,
            requests: c.requests,
            retries: c.retries,
            rate_limited: c.rate_limited,
            elapsed_ms: self.elapsed_ms,
            problems: self
                .problems
                .iter()
                .map(|(problem, count)| JsonProblem {
                    problem,
                    count: *count,
                })
                .collect(),
            interrupted: self.stop == Some(StopReason::Interrupted),
            stopped: self.stopped(),
            endpoint: &self.endpoint,
        };
        serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into())
    }

    /// The summary for people.
    pub fn to_text(&self) -> String {
        let (c, v) = (&self.counts, self.verify_counts());
        let valid = v.matching + v.missing + v.not_found + v.unchecked;
        let secs = self.elapsed_ms as f64 / 1000.0;
        let requests = format!(
            "{} request{}",
            c.requests,
            if c.requests == 1 { "" } else { "s" }
        );
        let (carry, customers) = (
            if self.expect == "present" {
                "carry"
            } else {
                "lack"
            },
            if valid == 1 { "customer" } else { "customers" },
        );
        let mut out = if v.all_match() {
            format!(
                "Verified: all {valid} {customers} {carry} \"{}\" ({requests}, {secs:.1}s).\n",
                self.tag
            )
        } else {
            format!(
                "Verified: {} of {valid} {customers} {carry} \"{}\"; {} missing, {} not found, {} unchecked ({requests}, {secs:.1}s).\n",
                v.matching, self.tag, v.missing, v.not_found, v.unchecked
            )
        };
        out.push_str(&format!(
            "  read {}, duplicates {}, invalid {}, matching {}, missing {}, not found {}, unchecked {}\n",
            c.ids_read, c.duplicates, c.invalid, v.matching, v.missing, v.not_found, v.unchecked
        ));
        out.push_str(&format!(
            "  requests {}, retries {}, rate-limited {}\n",
            c.requests, c.retries, c.rate_limited
        ));
        out.push_str(&format!("  endpoint {}\n", self.endpoint));
        if let Some(why) = self.stopped() {
            out.push_str(&format!("  stopped early: {why}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_and_end_with_the_wait() {
        let s = Duration::from_secs;
        assert!(intervals(Duration::ZERO).is_empty());
        assert_eq!(intervals(s(1)), [s(1)]);
        assert_eq!(intervals(s(10)), [s(1), s(2), s(4), s(3)]);
        let long = intervals(s(120));
        assert_eq!(&long[..6], [s(1), s(2), s(4), s(8), s(16), s(30)]);
        assert_eq!(long.iter().sum::<Duration>(), s(120));
        assert!(long.iter().all(|d| *d <= MAX_INTERVAL));
    }

    #[test]
    fn an_ignored_filter_reports_nothing_as_matching() {
        let c = Counts {
            confirmed: 5,
            missing: 1,
            failed: 2,
            unsent: 1,
            ..Counts::default()
        };
        assert_eq!(
            VerifyCounts::from_ledger(&c, None),
            VerifyCounts {
                matching: 5,
                missing: 1,
                not_found: 0,
                unchecked: 3
            }
        );
        let ignored = StopReason::Fatal(FILTER_IGNORED.into());
        let v = VerifyCounts::from_ledger(&c, Some(&ignored));
        assert_eq!((v.matching, v.unchecked), (0, 8));
    }
}
