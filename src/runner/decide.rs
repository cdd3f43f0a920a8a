//! What to do about a reply: one pure function, [`decide`], from a
//! classified reply, the attempt and the policy to a [`Decision`]. The worker
//! only carries decisions out (sending, sleeping, settling, printing), so the
//! whole policy is tested as a table, without a server or a clock.

use std::time::{Duration, SystemTime};

use super::backoff::{Backoff, WaitSource, server_wait};
use super::stop::StopReason;
use crate::api::customers::{Fate, Verdict, judge};
use crate::api::endpoint::same_origin;
use crate::api::hint::{auth_hint, unreachable_message};
use crate::api::tags::MISSING_TAG_HINT;
use crate::api::{CredentialSource, Credentials, Endpoint, NetFailure, Outcome, Problem, Reply};
use crate::ids::IdList;

/// Statuses that no later batch would fare better with: the endpoint or the
/// request shape is wrong for every batch.
const FATAL_STATUSES: [u16; 5] = [400, 404, 405, 410, 415];

/// While the API has never answered, how long connection failures are
/// retried before the run ends with exit 3: a server that is restarting
/// gets a moment, a wrong URL is said in seconds, not minutes.
pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(8);

/// The knobs that shape decisions.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Retries of one batch after 429, 5xx, timeouts or connection errors.
    pub max_retries: u32,
    /// The longest single rate-limit wait; past it the run stops.
    pub max_wait: Duration,
    /// Backoff for retries without a server-given time.
    pub backoff: Backoff,
    /// A `tag` run without `--create-tag`: a 404, or a 422 about the tag,
    /// says the tag may be missing, and the message says how to create it.
    pub hint_create_tag: bool,
}

/// What a read (verify) checks each returned customer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCheck {
    /// The tag, compared case-insensitively.
    pub tag: String,
    /// `--expect present` (else absent).
    pub present: bool,
}

/// The [`StopReason::Fatal`] message of a server that ignored the filter;
/// the summary then reports nothing as matching.
pub const FILTER_IGNORED: &str = "the server ignored the filter";

/// The batch a reply answers.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The batch's number, for messages.
    pub seq: u64,
    /// Its IDs (a part of the batch while isolating 422s).
    pub ids: &'a IdList,
    /// Retries of these IDs so far (0 on the first request).
    pub retries: u32,
    /// Where it was sent, for hints.
    pub endpoint: &'a Endpoint,
    /// The credentials and where they came from, for hints.
    pub credential: Option<(CredentialSource, &'a Credentials)>,
}

/// What the caller knows that the reply does not: the facts that make
/// [`decide`] pure.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// The server's time now, as pacing estimates it.
    pub now: SystemTime,
    /// After a 429: the wait pacing computed (and, within `max_wait`, has
    /// already paused the run for).
    pub rate_wait: Option<(Duration, WaitSource)>,
    /// A uniform draw in `[0, 1)` for backoff jitter.
    pub jitter: f64,
    /// Some response (any status) has arrived in this run: the API is
    /// reachable, and network errors are transient from now on.
    pub reached: bool,
    /// While never reached: how long since the first connection failure.
    pub unreachable_for: Duration,
}

/// A message for standard error: `error: headline`, then indented lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The first line.
    pub headline: String,
    /// The lines under it (the problem details).
    pub details: Vec<String>,
}

impl Message {
    fn new(headline: String, details: Vec<String>) -> Message {
        Message { headline, details }
    }
}

/// How the IDs of a batch settle when the run stops on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Sent and not confirmed.
    Failed,
    /// Not acted on: a rerun should send them.
    Unsent,
}

/// What the worker does next with the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// 204: every ID is confirmed.
    Confirm,
    /// Send the same IDs again after `wait`. With `run_paused`, pacing has
    /// already paused the whole run for it (a 429), so the worker just asks
    /// pacing again; otherwise the worker itself sleeps.
    Retry {
        /// How long.
        wait: Duration,
        /// Which header (or backoff) set it.
        source: WaitSource,
        /// Pacing holds every request until then.
        run_paused: bool,
    },
    /// A 422 named these IDs (indices into the batch, sorted): they fail with
    /// the messages; the rest is sent again.
    Reject {
        /// The rejected IDs' indices.
        picked: Vec<usize>,
        /// One block for the batch, then one line per ID.
        messages: Vec<Message>,
        /// Each rejected ID's reason, in `picked` order (for `--report`).
        reasons: Vec<String>,
    },
    /// A 422 that names no ID: send each half on its own.
    Halve,
    /// These IDs failed; the run goes on.
    Fail(Message),
    /// A read answered: each ID's fate, in order.
    Verified(Vec<Fate>),
    /// No later batch would fare better: the run stops (reported once,
    /// by whoever stops it first), and this batch settles as `settle`.
    Stop {
        /// Why, for the summary and the exit code.
        reason: StopReason,
        /// What to tell the user.
        message: Message,
        /// This batch's fate.
        settle: Settle,
    },
}

/// The policy for every kind of reply. See the module docs.
pub fn decide(reply: &Reply, attempt: &Attempt<'_>, policy: &Policy, facts: &Facts) -> Decision {
    let last = attempt.retries >= policy.max_retries;
    match &reply.outcome {
        Outcome::Confirmed => Decision::Confirm,
        Outcome::RateLimited(problem) => rate_limited(problem, attempt, policy, facts),
        Outcome::Network(problem)
            if let Some(stop) = unreachable(reply.failure, problem, attempt, policy, facts) =>
        {
            stop
        }
        Outcome::ServerError(problem) | Outcome::Network(problem) => {
            if last {
                return give_up(attempt, problem);
            }
            let hinted =
                server_wait(&reply.hints, facts.now).filter(|(w, _)| *w <= policy.max_wait);
            let (wait, source) = hinted.unwrap_or_else(|| {
                (
                    policy.backoff.delay_at(attempt.retries, facts.jitter),
                    WaitSource::Backoff,
                )
            });
            Decision::Retry {
                wait,
                source,
                run_paused: false,
            }
        }
        Outcome::Unauthorized(problem) => {
            let mut details = problem.render();
            if let Some((source, credentials)) = attempt.credential {
                details.push(auth_hint(problem, source, credentials, attempt.endpoint));
            }
            Decision::Stop {
                reason: StopReason::Unauthorized,
                message: Message::new(
                    format!(
                        "the API refused the {}; stopping",
                        if reply.status == Some(403) {
                            "permission (403)"
                        } else {
                            "credentials (401)"
                        }
                    ),
                    details,
                ),
                settle: Settle::Failed,
            }
        }
        Outcome::Invalid(problem) => isolate(attempt, problem, policy.hint_create_tag),
        Outcome::Refused(problem) => {
            refused(reply.status, attempt, problem, policy.hint_create_tag)
        }
        Outcome::Redirect { status, location } => redirect(*status, location, attempt.endpoint),
        // A write's endpoint documents only 204; the client never makes this
        // of one, and a read decides on its data before it gets here.
        Outcome::Data { .. } => Decision::Fail(Message::new(
            format!("{}: unexpected answer with a body", describe(attempt)),
            Vec::new(),
        )),
    }
}

/// The policy for the reply to a read (verify): its data judged ID by ID,
/// a customer not asked for stops the run, a 422 or an unexpected shape
/// leaves the batch unchecked; everything else (429, 5xx, network, 401/403,
/// redirects, 404) as for writes.
pub fn decide_read(
    reply: &Reply,
    attempt: &Attempt<'_>,
    policy: &Policy,
    facts: &Facts,
    check: &ReadCheck,
) -> Decision {
    match &reply.outcome {
        Outcome::Data { body, total } => {
            match judge(body, attempt.ids, &check.tag, check.present, *total) {
                Verdict::Fates(fates) => Decision::Verified(fates),
                Verdict::Foreign(id) => Decision::Stop {
                    reason: StopReason::Fatal(FILTER_IGNORED.into()),
                    message: Message::new(
                        format!(
                            "{}: the server returned customer \"{}\", which was not asked for: it ignored the filter, so no answer can be trusted; stopping, nothing is reported as matching",
                            describe(attempt),
                            crate::text::printable(&id, 60)
                        ),
                        Vec::new(),
                    ),
                    settle: Settle::Failed,
                },
                Verdict::Malformed(why) => Decision::Fail(Message::new(
                    format!("{}: {why}; its IDs are unchecked", describe(attempt)),
                    Vec::new(),
                )),
            }
        }
        Outcome::Confirmed => Decision::Fail(Message::new(
            format!(
                "{}: the answer had no body; its IDs are unchecked",
                describe(attempt)
            ),
            Vec::new(),
        )),
        Outcome::Invalid(problem) => Decision::Fail(Message::new(
            format!("{} was refused; its IDs are unchecked", describe(attempt)),
            problem.render(),
        )),
        _ => decide(reply, attempt, policy, facts),
    }
}

/// A connection failure, as far as it is not a transient one: the API was
/// never reached (retried only for [`UNREACHABLE_GRACE`]), or its
/// certificate was refused (never retried). `None`: retry as usual.
fn unreachable(
    failure: Option<NetFailure>,
    problem: &Problem,
    attempt: &Attempt<'_>,
    policy: &Policy,
    facts: &Facts,
) -> Option<Decision> {
    let failure = failure?;
    let why = || {
        let label = match failure {
            NetFailure::Connect => "the connection failed",
            NetFailure::Dns => "the host name does not resolve",
            NetFailure::ConnectTimeout => "no connection within the connect timeout",
            NetFailure::Certificate => "its TLS certificate was refused",
            NetFailure::Tls => "the TLS handshake failed",
            NetFailure::AfterConnect => "no response",
        };
        // The innermost cause says it best ("Connection refused (os error
        // 111)"); the chain before it is the HTTP stack's wrapping.
        match problem
            .detail
            .as_deref()
            .and_then(|d| d.rsplit(": ").next())
        {
            Some(cause) if !cause.is_empty() => format!("{label} ({cause})"),
            _ => label.to_string(),
        }
    };
    if failure == NetFailure::Certificate && facts.reached {
        let message = format!(
            "{}: {}; stopping, as every batch would meet it",
            describe(attempt),
            why()
        );
        return Some(Decision::Stop {
            reason: StopReason::Fatal(message.clone()),
            message: Message::new(message, Vec::new()),
            settle: Settle::Unsent,
        });
    }
    if facts.reached || !failure.before_sending() {
        return None;
    }
    let next = policy.backoff.delay_at(attempt.retries, facts.jitter);
    // A TLS failure is no bad moment (a certificate, http:// spoken on an
    // https:// URL), nor is a host silent for the whole connect timeout.
    let give_up = matches!(
        failure,
        NetFailure::Certificate | NetFailure::Tls | NetFailure::ConnectTimeout
    ) || attempt.retries >= policy.max_retries
        || facts.unreachable_for + next > UNREACHABLE_GRACE;
    if !give_up {
        return Some(Decision::Retry {
            wait: next,
            source: WaitSource::Backoff,
            run_paused: false,
        });
    }
    let message = unreachable_message(attempt.endpoint, &why());
    Some(Decision::Stop {
        reason: StopReason::Unreachable(message.clone()),
        message: Message::new(message, Vec::new()),
        settle: Settle::Unsent,
    })
}

/// A 429: wait as pacing said (the run is already paused), unless that is
/// past `--max-wait` or the batch's retries are spent.
fn rate_limited(
    problem: &Problem,
    attempt: &Attempt<'_>,
    policy: &Policy,
    facts: &Facts,
) -> Decision {
    let (wait, source) = facts
        .rate_wait
        .unwrap_or((Duration::ZERO, WaitSource::Backoff));
    if wait > policy.max_wait {
        Decision::Stop {
            reason: StopReason::MaxWait,
            message: Message::new(
                format!(
                    "the rate limit resets in {}, longer than --max-wait {}; stopping (the rest is unsent)",
                    secs(wait),
                    secs(policy.max_wait)
                ),
                problem.render(),
            ),
            settle: Settle::Unsent,
        }
    } else if attempt.retries >= policy.max_retries {
        give_up(attempt, problem)
    } else {
        Decision::Retry {
            wait,
            source,
            run_paused: true,
        }
    }
}

/// Any other answer: not worth repeating; fatal for the run when every
/// batch would get it.
fn refused(status: Option<u16>, attempt: &Attempt<'_>, problem: &Problem, hint: bool) -> Decision {
    let refused = format!("{} was refused", describe(attempt));
    if status.is_some_and(|s| FATAL_STATUSES.contains(&s)) {
        let mut details = problem.render();
        if hint && status == Some(404) {
            details.push(MISSING_TAG_HINT.into());
        }
        Decision::Stop {
            reason: StopReason::Fatal(format!("the API answered {}", problem.headline())),
            message: Message::new(
                format!("{refused}; stopping, as every batch would be"),
                details,
            ),
            settle: Settle::Failed,
        }
    } else {
        Decision::Fail(Message::new(refused, problem.render()))
    }
}

/// A redirect the client would not follow: every batch would meet it.
fn redirect(status: u16, location: &str, endpoint: &Endpoint) -> Decision {
    let looped = matches!(status, 0 | 307 | 308)
        && url::Url::parse(location).is_ok_and(|to| same_origin(&to, endpoint.url()));
    let message = if looped {
        // Followed, credentials and all, until the limit: the same origin
        // keeps sending the request round.
        format!(
            "the API kept redirecting to {location} on its own origin (a redirect loop); stopping after {} redirects",
            crate::api::client::MAX_REDIRECTS + 1
        )
    } else {
        format!(
            "refused to follow a redirect{} to {location}: only 307/308 to the same origin are followed, so nothing (and no credential) was sent there; stopping",
            if status > 0 {
                format!(" ({status})")
            } else {
                String::new()
            }
        )
    };
    Decision::Stop {
        reason: StopReason::Fatal(message.clone()),
        message: Message::new(message, Vec::new()),
        settle: Settle::Failed,
    }
}

/// The problem a refused redirect stands for in the summary (it has no
/// body of its own).
pub fn redirect_problem(reply: &Reply) -> Option<Problem> {
    let Outcome::Redirect { status, location } = &reply.outcome else {
        return None;
    };
    Some(Problem {
        status: (*status > 0).then_some(*status),
        kind: None,
        title: "Redirect refused".into(),
        detail: Some(format!("redirect to {location}")),
        instance: None,
        invalid_fields: Vec::new(),
    })
}

/// A 422: drop exactly the IDs the problem names and resend the rest; if it
/// names none, bisect. A 422 about the tag stops the run instead: no batch
/// can succeed with that tag.
fn isolate(attempt: &Attempt<'_>, problem: &Problem, hint: bool) -> Decision {
    if problem
        .invalid_fields
        .iter()
        .any(|f| f.field == "tag" || f.field.starts_with("tag.") || f.field.starts_with("tag["))
    {
        let mut details = problem.render();
        if hint {
            details.push(MISSING_TAG_HINT.into());
        }
        return Decision::Stop {
            reason: StopReason::Fatal("the API rejected the tag".into()),
            message: Message::new("the API rejected the tag; stopping".into(), details),
            settle: Settle::Failed,
        };
    }
    let ids = attempt.ids;
    let mut named: Vec<(usize, &str)> = problem
        .invalid_fields
        .iter()
        .filter_map(|f| customer_index(&f.field).map(|i| (i, f.message.as_str())))
        .filter(|(i, _)| *i < ids.len())
        .collect();
    named.sort_by_key(|(i, _)| *i);
    named.dedup_by_key(|(i, _)| *i);
    if !named.is_empty() {
        let mut messages = vec![Message::new(
            format!("{} rejected {} of its IDs", describe(attempt), named.len()),
            problem.render(),
        )];
        messages.extend(named.iter().map(|(i, message)| {
            Message::new(
                format!(
                    "customer {} rejected{}: {}",
                    ids.get(*i),
                    status_note(problem),
                    or_title(message, problem)
                ),
                Vec::new(),
            )
        }));
        return Decision::Reject {
            picked: named.iter().map(|(i, _)| *i).collect(),
            messages,
            reasons: named
                .iter()
                .map(|(_, m)| or_title(m, problem).to_string())
                .collect(),
        };
    }
    if ids.len() == 1 {
        let message = problem
            .invalid_fields
            .first()
            .map(|f| f.message.as_str())
            .unwrap_or("");
        return Decision::Fail(Message::new(
            format!(
                "customer {} rejected{}: {}",
                ids.get(0),
                status_note(problem),
                or_title(message, problem)
            ),
            // Bisection said nothing until now: the problem details once,
            // with the ID they are about.
            problem.render(),
        ));
    }
    Decision::Halve
}

fn give_up(attempt: &Attempt<'_>, problem: &Problem) -> Decision {
    let attempts = attempt.retries + 1;
    Decision::Fail(Message::new(
        format!(
            "{} failed after {attempts} attempt{}",
            describe(attempt),
            if attempts == 1 { "" } else { "s" }
        ),
        problem.render(),
    ))
}

/// ` (422)`: the status, for a line about one ID.
fn status_note(problem: &Problem) -> String {
    problem
        .status
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

fn or_title<'a>(message: &'a str, problem: &'a Problem) -> &'a str {
    if message.is_empty() {
        problem.detail.as_deref().unwrap_or(&problem.title)
    } else {
        message
    }
}

/// `customerIds.17`, `customerIds[17]` (and deeper paths under them) → 17.
pub(crate) fn customer_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("customerIds")?;
    let digits = if let Some(r) = rest.strip_prefix('.') {
        r
    } else {
        rest.strip_prefix('[')?
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let tail = &digits[end..];
    if rest.starts_with('[') && !tail.starts_with(']') {
        return None;
    }
    digits[..end].parse().ok()
}

/// `batch 3 (1000 IDs, cus_1 … cus_9)`, for messages.
pub fn describe(attempt: &Attempt<'_>) -> String {
    format!("batch {} ({})", attempt.seq, attempt.ids.describe())
}

/// A duration for messages: `1.5s`.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{InvalidField, RateHeaders, TimeHints};
    use bytes::Bytes;

    const T0: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn policy() -> Policy {
        Policy {
            max_retries: 3,
            max_wait: Duration::from_secs(60),
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
            },
            hint_create_tag: false,
        }
    }

    fn facts(rate_wait: Option<(Duration, WaitSource)>) -> Facts {
        Facts {
            now: at(T0),
            rate_wait,
            jitter: 0.5,
            reached: true,
            unreachable_for: Duration::ZERO,
        }
    }

    fn problem(status: u16) -> Problem {
        Problem::from_response(status, None, b"")
    }

    fn fields(fields: &[(&str, &str)]) -> Problem {
        let mut p = problem(422);
        p.invalid_fields = fields
            .iter()
            .map(|(f, m)| InvalidField {
                field: f.to_string(),
                message: m.to_string(),
            })
            .collect();
        p
    }

    fn reply(status: Option<u16>, outcome: Outcome) -> Reply {
        Reply {
            outcome,
            status,
            rate: RateHeaders::default(),
            hints: TimeHints {
                reset_at: None,
                retry_after: None,
                server_date: None,
                received: at(T0),
            },
            elapsed: Duration::ZERO,
            failure: None,
        }
    }

    fn answer(status: u16) -> Reply {
        let p = problem(status);
        let outcome = match status {
            204 => Outcome::Confirmed,
            429 => Outcome::RateLimited(p),
            401 | 403 => Outcome::Unauthorized(p),
            422 => Outcome::Invalid(p),
            408 | 500..=599 => Outcome::ServerError(p),
            _ => Outcome::Refused(p),
        };
        reply(Some(status), outcome)
    }

    fn ids(n: usize) -> IdList {
        let owned: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        owned.iter().map(String::as_str).collect()
    }

    fn run(reply: &Reply, n: usize, retries: u32, facts: &Facts) -> Decision {
        let ids = ids(n);
        let endpoint = Endpoint::new(Some("https://example.com"), false, None, "VIP").unwrap();
        decide(
            reply,
            &Attempt {
                seq: 7,
                ids: &ids,
                retries,
                endpoint: &endpoint,
                credential: None,
            },
            &policy(),
            facts,
        )
    }

    fn kind(d: &Decision) -> String {
        match d {
            Decision::Confirm => "confirm".into(),
            Decision::Retry {
                wait,
                source,
                run_paused,
            } => format!(
                "retry {}ms {}{}",
                wait.as_millis(),
                source.name(),
                if *run_paused { " paused" } else { "" }
            ),
            Decision::Reject { picked, .. } => format!("reject {picked:?}"),
            Decision::Halve => "halve".into(),
            Decision::Fail(m) => format!("fail: {}", m.headline),
            Decision::Stop { reason, settle, .. } => format!("stop {reason:?} {settle:?}"),
            Decision::Verified(fates) => format!("verified {fates:?}"),
        }
    }

    #[test]
    fn a_missing_tag_hints_at_create_tag_only_when_asked() {
        let hinted = Policy {
            hint_create_tag: true,
            ..policy()
        };
        let about_tag = reply(
            Some(422),
            Outcome::Invalid(fields(&[("tag", "Tag not found")])),
        );
        let ids = ids(2);
        let endpoint = Endpoint::new(Some("https://example.com"), false, None, "VIP").unwrap();
        let attempt = Attempt {
            seq: 1,
            ids: &ids,
            retries: 0,
            endpoint: &endpoint,
            credential: None,
        };
        for reply in [answer(404), about_tag] {
            for (policy, hint) in [(hinted, true), (policy(), false)] {
                let Decision::Stop { message, .. } =
                    decide(&reply, &attempt, &policy, &facts(None))
                else {
                    panic!("{:?} must stop", reply.status);
                };
                assert_eq!(
                    message.details.last().map(String::as_str) == Some(MISSING_TAG_HINT),
                    hint,
                    "{:?}",
                    reply.status
                );
            }
        }
        let Decision::Stop { message, .. } = decide(&answer(405), &attempt, &hinted, &facts(None))
        else {
            panic!("405 must stop");
        };
        assert!(!message.details.iter().any(|d| d == MISSING_TAG_HINT));
    }

    #[test]
    fn every_kind_of_read_reply() {
        let check = ReadCheck {
            tag: "VIP".into(),
            present: true,
        };
        let data = |body: &str| {
            reply(
                Some(200),
                Outcome::Data {
                    body: Bytes::from(body.to_owned()),
                    total: None,
                },
            )
        };
        let cases = [
            (
                data(r#"[{"id":"c0","tags":[{"name":"vip"}]},{"id":"c1","tags":[]}]"#),
                "verified [Matching, Missing]",
            ),
            (
                data(r#"[{"id":"c9","tags":[]}]"#),
                "stop Fatal(\"the server ignored the filter\") Failed",
            ),
            (
                data("<html>"),
                "fail: batch 7 (2 IDs, c0 … c1): the answer is not JSON (expected value at line 1 column 1); its IDs are unchecked",
            ),
            (
                answer(204),
                "fail: batch 7 (2 IDs, c0 … c1): the answer had no body; its IDs are unchecked",
            ),
            (
                answer(422),
                "fail: batch 7 (2 IDs, c0 … c1) was refused; its IDs are unchecked",
            ),
            (answer(500), "retry 50ms backoff"),
            (answer(401), "stop Unauthorized Failed"),
        ];
        let ids = ids(2);
        let endpoint = Endpoint::new(Some("https://example.com"), false, None, "VIP").unwrap();
        for (reply, want) in cases {
            let attempt = Attempt {
                seq: 7,
                ids: &ids,
                retries: 0,
                endpoint: &endpoint,
                credential: None,
            };
            let got = kind(&decide_read(
                &reply,
                &attempt,
                &policy(),
                &facts(None),
                &check,
            ));
            assert_eq!(got, want, "{:?}", reply.status);
        }
    }

    #[test]
    fn every_kind_of_reply() {
        let reset = Some((Duration::from_secs(3), WaitSource::RateLimitReset));
        let far = Some((Duration::from_secs(600), WaitSource::RateLimitReset));
        let network = reply(
            None,
            Outcome::Network(Problem::network("Cannot connect", "refused".into())),
        );
        let timeout = reply(
            None,
            Outcome::Network(Problem::network("Request timed out", "late".into())),
        );
        let redirect = reply(
            Some(302),
            Outcome::Redirect {
                status: 302,
                location: "https://elsewhere.example/x".into(),
            },
        );
        let mut hinted_503 = answer(503);
        hinted_503.hints.retry_after = Some(crate::api::RetryAfter::Seconds(2.0));
        let mut far_503 = answer(503);
        far_503.hints.retry_after = Some(crate::api::RetryAfter::Seconds(3600.0));
        let named = reply(
            Some(422),
            Outcome::Invalid(fields(&[
                ("customerIds.3", "no"),
                ("customerIds[1]", "bad"),
                ("customerIds.3", "dup"),
                ("customerIds.99", "out of range"),
            ])),
        );
        let about_tag = reply(Some(422), Outcome::Invalid(fields(&[("tag", "too long")])));
        let table: Vec<(&str, Reply, usize, u32, Facts, &str)> = vec![
            ("204", answer(204), 10, 0, facts(None), "confirm"),
            (
                "429 with a reset",
                answer(429),
                10,
                0,
                facts(reset),
                "retry 3000ms X-RateLimit-Retry-After paused",
            ),
            (
                "429, retries spent",
                answer(429),
                10,
                3,
                facts(reset),
                "fail: batch 7 (10 IDs, c0 … c9) failed after 4 attempts",
            ),
            (
                "429 past --max-wait",
                answer(429),
                10,
                0,
                facts(far),
                "stop MaxWait Unsent",
            ),
            (
                "500, backoff",
                answer(500),
                10,
                0,
                facts(None),
                "retry 50ms backoff",
            ),
            (
                "500, later retry",
                answer(500),
                10,
                2,
                facts(None),
                "retry 200ms backoff",
            ),
            (
                "500, retries spent",
                answer(500),
                10,
                3,
                facts(None),
                "fail: batch 7 (10 IDs, c0 … c9) failed after 4 attempts",
            ),
            (
                "503 Retry-After",
                hinted_503,
                10,
                0,
                facts(None),
                "retry 2000ms Retry-After",
            ),
            (
                "503 Retry-After past --max-wait",
                far_503,
                10,
                0,
                facts(None),
                "retry 50ms backoff",
            ),
            ("408", answer(408), 10, 0, facts(None), "retry 50ms backoff"),
            (
                "connection refused",
                network,
                10,
                0,
                facts(None),
                "retry 50ms backoff",
            ),
            (
                "timeout",
                timeout,
                10,
                1,
                facts(None),
                "retry 100ms backoff",
            ),
            (
                "401",
                answer(401),
                10,
                0,
                facts(None),
                "stop Unauthorized Failed",
            ),
            (
                "403",
                answer(403),
                10,
                0,
                facts(None),
                "stop Unauthorized Failed",
            ),
            ("422 naming IDs", named, 10, 0, facts(None), "reject [1, 3]"),
            ("422 naming none", answer(422), 10, 0, facts(None), "halve"),
            (
                "422 naming none, one ID",
                answer(422),
                1,
                0,
                facts(None),
                "fail: customer c0 rejected (422): Unprocessable Entity",
            ),
            (
                "422 about the tag",
                about_tag,
                10,
                0,
                facts(None),
                "stop Fatal(\"the API rejected the tag\") Failed",
            ),
            (
                "404",
                answer(404),
                10,
                0,
                facts(None),
                "stop Fatal(\"the API answered 404 Not Found\") Failed",
            ),
            (
                "409",
                answer(409),
                10,
                0,
                facts(None),
                "fail: batch 7 (10 IDs, c0 … c9) was refused",
            ),
            (
                "302",
                redirect,
                10,
                0,
                facts(None),
                "stop Fatal(\"refused to follow a redirect (302) to https://elsewhere.example/x: only 307/308 to the same origin are followed, so nothing (and no credential) was sent there; stopping\") Failed",
            ),
        ];
        for (name, reply, n, retries, facts, want) in table {
            assert_eq!(kind(&run(&reply, n, retries, &facts)), want, "{name}");
        }
    }

    #[test]
    fn messages_say_why_in_full() {
        let d = run(
            &answer(429),
            10,
            0,
            &facts(Some((Duration::from_secs(600), WaitSource::RateLimitReset))),
        );
        let Decision::Stop { message, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            message.headline,
            "the rate limit resets in 600.0s, longer than --max-wait 60.0s; stopping (the rest is unsent)"
        );
        assert_eq!(message.details, problem(429).render());

        let named = reply(
            Some(422),
            Outcome::Invalid(fields(&[
                ("customerIds.2", ""),
                ("customerIds.0", "unknown"),
            ])),
        );
        let Decision::Reject { messages, .. } = run(&named, 3, 0, &facts(None)) else {
            panic!()
        };
        let lines: Vec<&str> = messages.iter().map(|m| m.headline.as_str()).collect();
        assert_eq!(
            lines,
            [
                "batch 7 (3 IDs, c0 … c2) rejected 2 of its IDs",
                "customer c0 rejected (422): unknown",
                "customer c2 rejected (422): Unprocessable Entity",
            ]
        );
    }

    fn failed(failure: NetFailure, detail: &str) -> Reply {
        let mut r = reply(
            None,
            Outcome::Network(Problem::network("Cannot connect", detail.into())),
        );
        r.failure = Some(failure);
        r
    }

    fn never_reached(for_secs: f64) -> Facts {
        Facts {
            reached: false,
            unreachable_for: Duration::from_secs_f64(for_secs),
            ..facts(None)
        }
    }

    #[test]
    fn an_api_never_reached_ends_the_run_within_seconds() {
        let refused = failed(
            NetFailure::Connect,
            "tcp connect error: Connection refused (os error 111)",
        );
        let stop = "stop Unreachable(\"cannot reach the API at https://example.com (from --api-url): the connection failed (Connection refused (os error 111)); nothing was sent\") Unsent";
        let table: Vec<(&str, Reply, u32, Facts, &str)> = vec![
            (
                "refused, first",
                refused.clone(),
                0,
                never_reached(0.0),
                "retry 50ms backoff",
            ),
            (
                "refused, within the grace",
                refused.clone(),
                2,
                never_reached(5.0),
                "retry 200ms backoff",
            ),
            (
                "refused, grace spent",
                refused.clone(),
                4,
                never_reached(7.9),
                stop,
            ),
            (
                "refused, retries spent",
                refused.clone(),
                3,
                never_reached(1.0),
                stop,
            ),
            (
                "refused once reached",
                refused.clone(),
                0,
                facts(None),
                "retry 50ms backoff",
            ),
            (
                "DNS",
                failed(
                    NetFailure::Dns,
                    "dns error: failed to lookup address information",
                ),
                4,
                never_reached(8.0),
                "stop Unreachable(\"cannot reach the API at https://example.com (from --api-url): the host name does not resolve (failed to lookup address information); nothing was sent\") Unsent",
            ),
            (
                "certificate, never retried",
                failed(
                    NetFailure::Certificate,
                    "invalid peer certificate: UnknownIssuer",
                ),
                0,
                never_reached(0.0),
                "stop Unreachable(\"cannot reach the API at https://example.com (from --api-url): its TLS certificate was refused (UnknownIssuer); nothing was sent\") Unsent",
            ),
            (
                "certificate after answers",
                failed(
                    NetFailure::Certificate,
                    "invalid peer certificate: UnknownIssuer",
                ),
                0,
                facts(None),
                "stop Fatal(\"batch 7 (10 IDs, c0 … c9): its TLS certificate was refused (UnknownIssuer); stopping, as every batch would meet it\") Unsent",
            ),
            (
                "other TLS",
                failed(NetFailure::Tls, "received corrupt message"),
                0,
                never_reached(0.0),
                "stop Unreachable(\"cannot reach the API at https://example.com (from --api-url): the TLS handshake failed (received corrupt message); nothing was sent\") Unsent",
            ),
            (
                "a timeout after connecting is transient",
                failed(NetFailure::AfterConnect, "operation timed out"),
                0,
                never_reached(9.0),
                "retry 50ms backoff",
            ),
        ];
        for (name, reply, retries, facts, want) in table {
            assert_eq!(kind(&run(&reply, 10, retries, &facts)), want, "{name}");
        }
    }

    #[test]
    fn a_refused_credential_gets_a_hint_and_a_loop_is_named() {
        let ids = ids(1);
        let endpoint = Endpoint::new(None, false, None, "VIP").unwrap();
        let key = Credentials::ApiKey(crate::api::Secret::new("sk"));
        let attempt = Attempt {
            seq: 1,
            ids: &ids,
            retries: 0,
            endpoint: &endpoint,
            credential: Some((CredentialSource::Environment, &key)),
        };
        let Decision::Stop { message, .. } =
            decide(&answer(401), &attempt, &policy(), &facts(None))
        else {
            panic!()
        };
        assert_eq!(
            message.details,
            [
                "401 Unauthorized",
                "hint: api.rebilly.com did not accept the API key from REBILLY_API_KEY; check it (a sandbox key needs --sandbox)",
            ]
        );
        let looped = reply(
            Some(307),
            Outcome::Redirect {
                status: 307,
                location: "https://api.rebilly.com/tags/VIP/customers".into(),
            },
        );
        let Decision::Stop { message, .. } = decide(&looped, &attempt, &policy(), &facts(None))
        else {
            panic!()
        };
        assert_eq!(
            message.headline,
            "the API kept redirecting to https://api.rebilly.com/tags/VIP/customers on its own origin (a redirect loop); stopping after 6 redirects"
        );
    }

    #[test]
    fn indexes_in_both_notations() {
        assert_eq!(customer_index("customerIds.17"), Some(17));
        assert_eq!(customer_index("customerIds[3]"), Some(3));
        assert_eq!(customer_index("customerIds.2.value"), Some(2));
        assert_eq!(customer_index("customerIds"), None);
        assert_eq!(customer_index("customerIds."), None);
        assert_eq!(customer_index("customerIds[3"), None);
        assert_eq!(customer_index("tag"), None);
        assert_eq!(customer_index("customerIdsX.1"), None);
    }
}
