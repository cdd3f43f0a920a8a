//! One batch from first request to settlement: retries, rate-limit waits and
//! the isolation of IDs the server rejects (422).

//!
//! Policy lives in [`decide`]; this module carries decisions out: it asks
//! pacing for a slot, sends, counts, and settles the batch as decided.

use std::time::Duration;

use super::backoff::WaitSource;
use super::decide::{
    Attempt, Decision, Facts, Message, Settle, decide, decide_read, redirect_problem, secs,
};
use super::{Shared, StopReason};
use crate::api::Reply;
use crate::ledger::{Batch, Tally};

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
    stop_run(
        shared,
        StopReason::Fatal(message.clone()),
        &Message {
            headline: message,
            details: Vec::new(),
        },
    );
    batch.fail();
    for (part, _) in rest {
        part.fail();
    }
}

/// Sends one batch until it is settled; returns the parts to send next
/// when a 422 split it.
async fn send_until_settled(
    mut batch: Batch,
    isolating: bool,
    shared: &Shared,
) -> Option<Vec<Batch>> {
    let policy = &shared.config.policy;
    let body = shared.client.payload(batch.ids());
    let mut retries = 0u32;
    loop {
        let admission = shared.pacing.admit(&shared.stop).await?;
        let was_tried = batch.tried();
        batch.set_tried(true);
        count_request(shared, retries, isolating);
        let reply = shared.client.send(body.clone()).await;
        let rate_wait = shared
            .pacing
            .complete(admission, &reply, retries, policy.max_wait);
        record(shared, &reply, rate_wait.is_some());
        if let Some(problem) = reply.outcome.problem() {
            // The last word on these IDs, for --report.
            batch.note(
                reply.status,
                problem.detail.as_deref().unwrap_or(&problem.title),
            );
        }
        if !reply.may_have_applied() {
            batch.set_tried(was_tried);
        }
        let (reached, unreachable_for) = shared.reach.observe(&reply);
        let attempt = Attempt {
            seq: batch.seq(),
            ids: batch.ids(),
            retries,
            endpoint: shared.client.endpoint(),
            credential: shared.client.credential(),
        };
        let facts = Facts {
            now: shared.pacing.now(),
            rate_wait,
            jitter: fastrand::f64(),
            reached,
            unreachable_for,
        };
        let decision = match &shared.config.read {
            Some(check) => decide_read(&reply, &attempt, policy, &facts, check),
            None => decide(&reply, &attempt, policy, &facts),
        };
        let shown_wait = match &decision {
            Decision::Retry { wait, source, .. } => Some((*wait, *source)),
            _ => rate_wait,
        };
        log(shared, &batch, retries + 1, &reply, shown_wait);
        match carry_out(decision, batch, shared).await {
            Step::Again(same) => batch = same,
            Step::Done(parts) => return parts,
        }
        retries += 1;
    }
}

/// After a decision: the same batch once more, or done (with the parts a
/// 422 split it into, if any).
enum Step {
    Again(Batch),
    Done(Option<Vec<Batch>>),
}

/// Carries out one decision: settles, splits, reports or waits.
async fn carry_out(decision: Decision, batch: Batch, shared: &Shared) -> Step {
    match decision {
        Decision::Confirm => batch.confirm(),
        Decision::Verified(fates) => {
            let present = shared.config.read.as_ref().is_none_or(|c| c.present);
            batch.settle_fates(&fates, present)
        }
        Decision::Retry {
            wait, run_paused, ..
        } => {
            if !run_paused {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    // Dropped, the batch settles as failed or unsent.
                    _ = shared.stop.wait() => return Step::Done(None),
                }
            }
            return Step::Again(batch);
        }
        Decision::Reject {
            picked,
            messages,
            reasons,
        } => {
            for m in &messages {
                shared.reporter.error(&m.headline, &m.details);
            }
            let (mut bad, rest) = batch.pick(&picked);
            // One by one, so that each carries its own reason.
            for reason in &reasons {
                let (mut one, others) = bad.pick(&[0]);
                one.note(Some(422), reason);
                one.fail();
                bad = others;
            }
            bad.fail();
            return Step::Done((!rest.is_empty()).then(|| vec![rest]));
        }
        Decision::Halve => {
            let (a, b) = batch.halves();
            return Step::Done(Some(vec![a, b]));
        }
        Decision::Fail(message) => {
            shared.reporter.error(&message.headline, &message.details);
            batch.fail();
        }
        Decision::Stop {
            reason,
            message,
            settle,
        } => {
            stop_run(shared, reason, &message);
            match settle {
                Settle::Failed => batch.fail(),
                Settle::Unsent => batch.leave_unsent(),
            }
        }
    }
    Step::Done(None)
}

/// Counts a request about to leave.
fn count_request(shared: &Shared, retries: u32, isolating: bool) {
    let ledger = &shared.ledger;
    ledger.tally(Tally::Request);
    if retries > 0 {
        ledger.tally(Tally::Retry);
    }
    if isolating {
        ledger.tally(Tally::Isolation);
    }
}

/// Records what a reply says for the summary: a 429, and every problem met,
/// overcome or not.
fn record(shared: &Shared, reply: &Reply, rate_limited: bool) {
    let ledger = &shared.ledger;
    if rate_limited {
        ledger.tally(Tally::RateLimited);
    }
    if let Some(problem) = reply.outcome.problem() {
        ledger.problem(problem);
    } else if let Some(problem) = redirect_problem(reply) {
        ledger.problem(&problem);
    }
}

/// Stops the run; the first to stop it says why, once.
fn stop_run(shared: &Shared, reason: StopReason, message: &Message) {
    if shared.stop.request(reason) {
        shared.reporter.error(&message.headline, &message.details);
    }
}

/// The `--verbose` line of one request.
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
    let status = match (reply.outcome.problem(), reply.status) {
        (Some(p), None) => p.title.clone(),
        (_, Some(s)) => format!(
            "{s} {}",
            reqwest::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("")
        ),
        (None, None) => "no response".into(),
    };
    let mut line = format!(
        "{} {} batch {} ({} IDs) attempt {attempt}: {} in {} ms",
        shared.client.method(),
        shared.client.display_url(),
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
