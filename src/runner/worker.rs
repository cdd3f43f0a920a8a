//! One batch from first request to settlement: retries, rate-limit waits and
//! the isolation of IDs the server rejects (422).

use std::time::{Duration, SystemTime};

use super::backoff::{Backoff, WaitSource, reset_passed_by, server_wait};
use super::{Shared, StopReason};
use crate::api::{Outcome, Problem, Reply};
use crate::ledger::{Batch, Tally};

/// After a 429 that says nothing of when to return: a second at first,
/// doubling to half a minute.
const RATE_LIMIT_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(30),
};

/// What the clock correction adds beyond what a stale reset proved, so the
/// next try lands after the reset rather than on it.
const CLOCK_STEP: Duration = Duration::from_millis(100);

/// Sends `batch` (and, after a 422, the parts it is split into) until every
/// ID is settled.
pub(crate) async fn process(batch: Batch, shared: &Shared) {
    let (seq, budget) = (batch.seq(), isolation_budget(batch.len()));
    let mut spent = 0;
    // A stack: bisection pushes both halves and works depth first, so the
    // memory held stays one batch.
    let mut work = vec![(batch, false)];
    while let Some((batch, isolating)) = work.pop() {
        if isolating {
            spent += 1;
            if spent > budget {
                give_up_isolating(shared, seq, budget, batch, work);
                return;
            }
        }
        if let Some(parts) = send_until_settled(batch, isolating, shared).await {
            work.extend(parts.into_iter().rev().map(|b| (b, true)));
        }
        if shared.stop.is_stopping() {
            // Anything left was split off but not sent: dropped, it settles
            // as unsent.
            break;
        }
    }
}

/// Isolation requests one batch may spend: bisection costs about
/// 2·log2(n) per rejected ID, so this is room for ten of them. Past it, the
/// API is more likely refusing whole batches with a 422 that names no ID,
/// and splitting on would cost 2n requests a batch.
fn isolation_budget(n: usize) -> usize {
    20 * (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1) as usize
}

fn give_up_isolating(
    shared: &Shared,
    seq: u64,
    budget: usize,
    batch: Batch,
    rest: Vec<(Batch, bool)>,
) {
    let message = format!(
        "batch {seq}: the API kept rejecting its parts after {budget} isolating requests; it seems to refuse whole batches, so stopping"
    );
    shared.reporter.error(&message, &[]);
    shared.stop.request(StopReason::Fatal(message));
    batch.fail();
    for (part, _) in rest {
        part.fail();
    }
}

/// Sends one batch until it is confirmed, failed or given up; returns the
/// parts to send next when a 422 split it.
async fn send_until_settled(
    mut batch: Batch,
    isolating: bool,
    shared: &Shared,
) -> Option<Vec<Batch>> {
    let config = &shared.config;
    let ledger = &shared.ledger;
    let body = batch.ids().json_body();
    let mut retries = 0u32;
    loop {
        let admission = shared.gate.admit(&shared.stop).await?;
        let was_tried = batch.tried();
        batch.set_tried(true);
        ledger.tally(Tally::Request);
        if retries > 0 {
            ledger.tally(Tally::Retry);
        }
        if isolating {
            ledger.tally(Tally::Isolation);
        }
        let reply = shared.client.send(body.clone()).await;
        let rate_wait = matches!(reply.outcome, Outcome::RateLimited(_))
            .then(|| rate_limit_wait(shared, &reply, retries));
        // After a 429 the whole run pauses (or, past --max-wait, stops), set
        // before this request's slot is freed so that no waiting worker
        // slips out in between.
        let pause = rate_wait
            .map(|(wait, _)| wait)
            .filter(|wait| *wait <= config.max_wait);
        let first_to_give_up =
            rate_wait.is_some() && pause.is_none() && shared.stop.request(StopReason::MaxWait);
        shared.gate.done(admission, reply.rate, pause);
        if rate_wait.is_none() && reply.status.is_some() {
            shared.gate.relieved();
        }
        if let Some(problem) = reply.outcome.problem() {
            // Every problem met, overcome or not, for the summary.
            ledger.problem(problem);
            batch.note(
                reply.status,
                problem.detail.as_deref().unwrap_or(&problem.title),
            );
        }
        let attempt = retries + 1;
        match &reply.outcome {
            Outcome::Confirmed => {
                log(shared, &batch, attempt, &reply, None);
                batch.confirm();
                return None;
            }
            Outcome::RateLimited(problem) => {
                // A 429 means nothing was done.
                batch.set_tried(was_tried);
                ledger.tally(Tally::RateLimited);
                let (wait, source) = rate_wait.unwrap_or((Duration::ZERO, WaitSource::Backoff));
                log(shared, &batch, attempt, &reply, Some((wait, source)));
                if wait > config.max_wait {
                    if first_to_give_up {
                        shared.reporter.error(
                            &format!(
                                "the rate limit resets in {}, longer than --max-wait {}; stopping (the rest is unsent)",
                                secs(wait),
                                secs(config.max_wait)
                            ),
                            &problem.render(),
                        );
                    }
                    batch.leave_unsent();
                    return None;
                }
                if retries >= config.max_retries {
                    give_up(shared, batch, attempt, problem);
                    return None;
                }
            }
            Outcome::ServerError(problem) | Outcome::Network(problem) => {
                let hinted = server_wait(&reply.hints, SystemTime::now())
                    .filter(|(w, _)| *w <= config.max_wait);
                let (wait, source) =
                    hinted.unwrap_or_else(|| (config.backoff.delay(retries), WaitSource::Backoff));
                let last = retries >= config.max_retries;
                log(
                    shared,
                    &batch,
                    attempt,
                    &reply,
                    (!last).then_some((wait, source)),
                );
                if last {
                    give_up(shared, batch, attempt, problem);
                    return None;
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shared.stop.wait() => return None,
                }
            }
            Outcome::Unauthorized(problem) => {
                log(shared, &batch, attempt, &reply, None);
                if shared.stop.request(StopReason::Unauthorized) {
                    shared.reporter.error(
                        &format!(
                            "the API refused the {}; stopping",
                            if reply.status == Some(403) {
                                "permission (403)"
                            } else {
                                "credentials (401)"
                            }
                        ),
                        &problem.render(),
                    );
                }
                batch.set_tried(was_tried);
                batch.fail();
                return None;
            }
            Outcome::Invalid(problem) => {
                log(shared, &batch, attempt, &reply, None);
                // Nothing in a rejected request is applied.
                batch.set_tried(was_tried);
                return isolate(batch, problem, shared);
            }
            Outcome::Refused(problem) => {
                log(shared, &batch, attempt, &reply, None);
                let fatal = matches!(reply.status, Some(400 | 404 | 405 | 410 | 415));
                shared.reporter.error(
                    &format!(
                        "{} was refused{}",
                        describe(&batch),
                        if fatal {
                            "; stopping, as every batch would be"
                        } else {
                            ""
                        }
                    ),
                    &problem.render(),
                );
                if fatal {
                    shared.stop.request(StopReason::Fatal(format!(
                        "the API answered {}",
                        problem.headline()
                    )));
                }
                batch.fail();
                return None;
            }
            Outcome::Redirect { status, location } => {
                log(shared, &batch, attempt, &reply, None);
                let message = format!(
                    "refused to follow a redirect{} to {location}: only 307/308 to the same origin are followed, so nothing (and no credential) was sent there; stopping",
                    if *status > 0 {
                        format!(" ({status})")
                    } else {
                        String::new()
                    }
                );

                ledger.problem(&Problem {
                    status: (*status > 0).then_some(*status),
                    kind: None,
                    title: "Redirect refused".into(),
                    detail: Some(format!("redirect to {location}")),
                    instance: None,
                    invalid_fields: Vec::new(),
                });
                if shared.stop.request(StopReason::Fatal(message.clone())) {
                    shared.reporter.error(&message, &[]);
                }
                batch.fail();
                return None;
            }
        }
        retries += 1;
    }
}

/// A 422: drop exactly the IDs the problem names and resend the rest; if it
/// names none, bisect. A 422 about the tag stops the run instead: no batch
/// can succeed with that tag.
fn isolate(batch: Batch, problem: &Problem, shared: &Shared) -> Option<Vec<Batch>> {
    if problem
        .invalid_fields
        .iter()
        .any(|f| f.field == "tag" || f.field.starts_with("tag.") || f.field.starts_with("tag["))
    {
        shared
            .reporter
            .error("the API rejected the tag; stopping", &problem.render());
        shared
            .stop
            .request(StopReason::Fatal("the API rejected the tag".into()));
        batch.fail();
        return None;
    }
    let mut named: Vec<(usize, &str)> = problem
        .invalid_fields
        .iter()
        .filter_map(|f| customer_index(&f.field).map(|i| (i, f.message.as_str())))
        .filter(|(i, _)| *i < batch.len())
        .collect();
    named.sort_by_key(|(i, _)| *i);
    named.dedup_by_key(|(i, _)| *i);
    if !named.is_empty() {
        shared.reporter.error(
            &format!("{} rejected {} of its IDs", describe(&batch), named.len()),
            &problem.render(),
        );
        for (i, message) in &named {
            shared.reporter.error(
                &format!(
                    "customer {} rejected: {}",
                    batch.ids().get(*i),
                    or_title(message, problem)
                ),
                &[],
            );
        }
        let indices: Vec<usize> = named.iter().map(|(i, _)| *i).collect();
        let (mut bad, rest) = batch.pick(&indices);
        // One by one, so that each carries its own reason.
        for (_, message) in &named {
            let (mut one, others) = bad.pick(&[0]);
            one.note(Some(422), or_title(message, problem));
            one.fail();
            bad = others;
        }
        drop(bad);
        return (!rest.is_empty()).then(|| vec![rest]);
    }
    if batch.len() == 1 {
        let message = problem
            .invalid_fields
            .first()
            .map(|f| f.message.as_str())
            .unwrap_or("");
        shared.reporter.error(
            &format!(
                "customer {} rejected: {}",
                batch.ids().get(0),
                or_title(message, problem)
            ),
            &[],
        );
        let mut batch = batch;
        batch.note(Some(422), or_title(message, problem));
        batch.fail();
        return None;
    }
    let (a, b) = batch.halves();
    Some(vec![a, b])
}

/// How long to wait after a 429: until the server's reset, corrected for
/// this machine's clock, else backoff that grows with the run's streak of
/// 429s.
fn rate_limit_wait(shared: &Shared, reply: &Reply, retries: u32) -> (Duration, WaitSource) {
    let gate = &shared.gate;
    let streak = gate.count_429();
    let mut now = SystemTime::now() - gate.clock_ahead();
    if let Some(passed) = reset_passed_by(&reply.hints, now) {
        // Still refused after the reset by our clock: it runs ahead, by at
        // least that much, and by at most how far it is past the server's
        // `Date` (whole seconds, rounded down). Taking the latter is never
        // early again, at the price of up to a second per window.
        let by_date = reply
            .hints
            .server_date
            .and_then(|date| reply.hints.received.duration_since(date).ok())
            .unwrap_or_default();
        gate.learn_clock_ahead((gate.clock_ahead() + passed + CLOCK_STEP).max(by_date));
        now = SystemTime::now() - gate.clock_ahead();
    }
    server_wait(&reply.hints, now).unwrap_or_else(|| {
        let retry = retries.max(streak.saturating_sub(1));
        (RATE_LIMIT_BACKOFF.patient_delay(retry), WaitSource::Backoff)
    })
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

fn give_up(shared: &Shared, batch: Batch, attempts: u32, problem: &Problem) {
    shared.reporter.error(
        &format!(
            "{} failed after {attempts} attempt{}",
            describe(&batch),
            if attempts == 1 { "" } else { "s" }
        ),
        &problem.render(),
    );
    batch.fail();
}

fn describe(batch: &Batch) -> String {
    format!("batch {} ({})", batch.seq(), batch.ids().describe())
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn log(
    shared: &Shared,
    batch: &Batch,
    attempt: u32,
    reply: &Reply,
    wait: Option<(Duration, WaitSource)>,
) {
    if !shared.reporter.is_verbose() {
        return;
    }
    let status = match (&reply.outcome, reply.status) {
        (Outcome::Network(p), _) => p.title.clone(),
        (_, Some(s)) => format!(
            "{s} {}",
            reqwest::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("")
        ),
        (_, None) => "no response".into(),
    };
    let mut line = format!(
        "{} {} batch {} ({} IDs) attempt {attempt}: {} in {} ms",
        shared.client.method(),
        shared.client.endpoint().display(),
        batch.seq(),
        batch.len(),
        status.trim_end(),
        reply.elapsed.as_millis()
    );
    if let Some(r) = reply.rate.remaining {
        line.push_str(&format!(", remaining {r}"));
    }
    if let Some((wait, source)) = wait {
        line.push_str(&format!(", waiting {} ({})", secs(wait), source.name()));
    }
    shared.reporter.verbose(&line);
}

#[cfg(test)]
mod tests {
    use super::customer_index;

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
