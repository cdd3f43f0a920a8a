//! The end of a run: the summary (text or JSON) and the exit code.

use serde::Serialize;

use crate::api::{Action, Problem};
use crate::exit::Exit;
use crate::ledger::Counts;
use crate::runner::StopReason;
use crate::verify::VerifyCounts;

/// Everything the summary reports.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Tag or untag.
    pub action: Action,
    /// The tag.
    pub tag: String,
    /// The ledger's final counts.
    pub counts: Counts,
    /// Wall time of the run.
    pub elapsed_ms: u64,
    /// Distinct problems met, with their counts.
    pub problems: Vec<(Problem, u64)>,
    /// Nothing was sent.
    pub dry_run: bool,
    /// Why the run stopped early.
    pub stop: Option<StopReason>,
    /// The input broke mid-run.
    pub read_error: Option<String>,
    /// `--failed-ids` could not be written: the leftovers are not saved.
    pub failed_ids_lost: bool,
    /// The base URL used (never with a credential).
    pub endpoint: String,
    /// `--verify`: how the confirmed IDs read back.
    pub verify: Option<VerifyCounts>,
    /// `--verify`: why the read-back stopped early.
    pub verify_stop: Option<StopReason>,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    count: u64,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    action: &'a str,
    tag: &'a str,
    ids_read: u64,
    duplicates: u64,
    invalid: u64,
    confirmed: u64,
    resumed: u64,
    failed: u64,
    unsent: u64,
    requests: u64,
    retries: u64,
    rate_limited: u64,
    elapsed_ms: u64,
    problems: Vec<JsonProblem<'a>>,
    isolation_requests: u64,
    dry_run: bool,
    interrupted: bool,
    stopped: Option<String>,
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<VerifyCounts>,
}

impl Summary {
    /// The input held no ID at all (and did not break, and nobody stopped
    /// the run): a usage error, not an empty success.
    pub fn no_input(&self) -> bool {
        self.counts.ids_read == 0 && self.read_error.is_none() && self.stop.is_none()
    }

    /// The exit code the contract gives this outcome.
    pub fn exit(&self) -> Exit {
        let c = &self.counts;
        if self.no_input() {
            return Exit::Usage;
        }
        for stop in [&self.stop, &self.verify_stop] {
            match stop {
                Some(StopReason::Interrupted) => return Exit::Interrupted,
                Some(StopReason::Unauthorized) => return Exit::Auth,
                Some(StopReason::Unreachable(_)) => return Exit::Unreachable,
                _ => {}
            }
        }
        // `--verify`: success needs every confirmed ID to match as well.
        if self.verify.is_some_and(|v| !v.all_match()) {
            return Exit::Incomplete;
        }
        if self.read_error.is_some() && c.requests == 0 && c.confirmed == 0 {
            return Exit::Usage;
        }
        if self.dry_run {
            return if c.invalid > 0 {
                Exit::Incomplete
            } else {
                Exit::Success
            };
        }
        // Leftovers that could not be saved are never reported as success.
        if c.invalid + c.failed + c.unsent > 0 || self.read_error.is_some() || self.failed_ids_lost
        {
            Exit::Incomplete
        } else {
            Exit::Success
        }
    }

    fn stopped(&self) -> Option<String> {
        self.stop.as_ref().map(StopReason::summary_name)
    }

    /// The one JSON object of `--output json`.
    pub fn to_json(&self) -> String {
        let c = &self.counts;
        let s = JsonSummary {
            action: self.action.name(),
            tag: &self.tag,
            ids_read: c.ids_read,
            duplicates: c.duplicates,
            invalid: c.invalid,
            confirmed: c.confirmed,
            resumed: c.resumed,
            failed: c.failed,
            unsent: c.unsent,
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
            isolation_requests: c.isolation_requests,
            dry_run: self.dry_run,
            interrupted: self.stop == Some(StopReason::Interrupted),
            stopped: self.stopped(),
            endpoint: &self.endpoint,
            verify: self.verify,
        };
        serde_json::to_string_pretty(&s).unwrap_or_else(|_| "{}".into())
    }

    /// The summary for people.
    pub fn to_text(&self) -> String {
        let c = &self.counts;
        let valid = c.confirmed + c.failed + c.unsent;
        // A tag may hold any whitespace the API allows, CR and VT included.
        let tag = crate::text::printable(&self.tag, 300);
        let (verb, preposition) = match self.action {
            Action::Tag => ("Tagged", "with"),
            Action::Untag => ("Untagged", "from"),
            Action::Verify => ("Verified", "for"),
        };
        let secs = self.elapsed_ms as f64 / 1000.0;
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut out = if self.dry_run {
            format!(
                "Dry run: {} would be sent to \"{}\"; nothing was sent.\n",
                plural(valid - c.resumed, "ID", "IDs"),
                tag
            )
        } else if c.confirmed == valid {
            format!(
                "{verb} {} {preposition} \"{}\" in {} ({secs:.1}s).\n",
                plural(c.confirmed, "customer", "customers"),
                tag,
                plural(c.requests, "request", "requests")
            )
        } else {
            format!(
                "{verb} {} of {} {preposition} \"{}\"; {} failed, {} unsent ({}, {secs:.1}s).\n",
                c.confirmed,
                plural(valid, "customer", "customers"),
                tag,
                c.failed,
                c.unsent,
                plural(c.requests, "request", "requests"),
            )
        };
        let resumed = if c.resumed > 0 {
            format!(" (resumed {})", c.resumed)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  read {}, duplicates {}, invalid {}, confirmed {}{resumed}, failed {}, unsent {}\n",
            c.ids_read, c.duplicates, c.invalid, c.confirmed, c.failed, c.unsent
        ));
        out.push_str(&format!(
            "  requests {}, retries {}, rate-limited {}",
            c.requests, c.retries, c.rate_limited
        ));
        if c.isolation_requests > 0 {
            out.push_str(&format!(
                ", isolating rejected IDs {}",
                c.isolation_requests
            ));
        }
        out.push_str(&format!("\n  endpoint {}\n", self.endpoint));
        if let Some(why) = self.stopped() {
            out.push_str(&format!("  stopped early: {why}\n"));
        }
        if let Some(v) = &self.verify {
            out.push_str(&format!(
                "  verified: matching {}, missing {}, not found {}, unchecked {}\n",
                v.matching, v.missing, v.not_found, v.unchecked
            ));
        }
        out
    }
}
