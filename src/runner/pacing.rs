//! Pacing: the one place that knows when the next request may leave.
//! Workers ask it; none of them sleeps on a rate limit by itself.
//!
//! It owns everything the rate limit teaches a run: the budget from
//! `X-RateLimit-Remaining`, the run-wide pause until the reset, the streak of
//! 429s (so backoff without a server hint grows for the run, not per batch)
//! and how far this machine's clock runs ahead of the server's. Time comes
//! from an injected [`Clock`] (wall time) and tokio's clock (pauses), so all
//! of it is tested with a paused clock.
//!
//! Two rules keep a long run near the limit's ceiling without wasting
//! requests:
//! - after a 429 the whole run pauses until the reset (or the backoff), then
//!   resumes at once;
//! - `X-RateLimit-Remaining` gives a budget of requests that may still start
//!   in this window (minus the ones already in flight). When it is spent,
//!   only one probe goes out: it either finds a fresh window or meets the
//!   one 429 that tells everyone when the window resets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::backoff::{Backoff, MAX_CLOCK_AHEAD, WaitSource, reset_passed_by, server_wait};
use super::stop::Stop;
use crate::api::{Outcome, RateHeaders, Reply};

/// After a 429 that says nothing of when to return: a second at first,
/// doubling to half a minute.
const RATE_LIMIT_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(30),
};

/// What the clock correction adds beyond what a stale reset proved, so the
/// next try lands after the reset rather than on it.
const CLOCK_STEP: Duration = Duration::from_millis(100);

/// Wall-clock time, injected so that clock skew is testable.
pub trait Clock: Send + Sync {
    /// This machine's time now.
    fn now(&self) -> SystemTime;
}

/// The machine's own clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// See the module docs.
pub struct Pacing {
    state: Mutex<State>,
    changed: Notify,
    clock: Arc<dyn Clock>,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::new()
    }
}

#[derive(Default)]
struct State {
    paused_until: Option<Instant>,
    budget: Option<u64>,
    limit: Option<u64>,
    in_flight: u32,
    /// The lowest `Remaining` heard in this window. Within a window the
    /// server's count only goes down, and replies arrive in any order, so a
    /// higher one is stale, unless it answers the probe (or the first
    /// request after a pause): then a new window has begun.
    lowest: Option<u64>,
    /// 429s in a row, across batches.
    streak: u32,
    /// How far this machine's clock is known to run ahead of the server's,
    /// learned from 429s whose reset time had already passed here.
    clock_ahead: Duration,
}

/// A request that pacing let through; hand it back with
/// [`Pacing::complete`]. Dropped without that (a cancelled task), it still
/// frees its slot.
#[must_use]
pub struct Admission<'a> {
    pacing: &'a Pacing,
    probe: bool,
    returned: bool,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if !self.returned {
            let mut s = self.pacing.state();
            s.hand_back(self.probe, RateHeaders::default());
            drop(s);
            self.pacing.changed.notify_waiters();
        }
    }
}

impl Pacing {
    /// Pacing with no known limit, on the machine's clock.
    pub fn new() -> Pacing {
        Pacing::with_clock(Arc::new(SystemClock))
    }

    /// Pacing on another clock (tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Pacing {
        Pacing {
            state: Mutex::default(),
            changed: Notify::new(),
            clock,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server's time now, as far as this run knows: this machine's clock
    /// less how far it is known to run ahead.
    pub fn now(&self) -> SystemTime {
        self.clock.now() - self.state().clock_ahead
    }

    /// How far this machine's clock is known to run ahead of the server's.
    pub fn clock_ahead(&self) -> Duration {
        self.state().clock_ahead
    }

    /// Waits until a request may leave. `None` when the run is stopping:
    /// nothing new is sent then.
    pub async fn admit(&self, stop: &Stop) -> Option<Admission<'_>> {
        loop {
            let notified = self.changed.notified();
            if stop.is_stopping() {
                return None;
            }
            let pause = {
                let mut s = self.state();
                match s.try_admit() {
                    Ok(probe) => {
                        return Some(Admission {
                            pacing: self,
                            probe,
                            returned: false,
                        });
                    }
                    Err(pause) => pause,
                }
            };
            tokio::select! {
                _ = stop.wait() => return None,
                _ = notified => {}
                _ = async {
                    match pause {
                        Some(until) => tokio::time::sleep_until(until).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
    }

    /// Hands an admission back with its reply, and learns from it. After a
    /// 429 it returns the wait before the next try (the server's reset,
    /// corrected for this machine's clock, else backoff that grows with the
    /// run's streak of 429s, never below `retries`' step) and, when that
    /// wait is within `max_wait`, pauses the whole run for it, in the same
    /// breath as the slot is freed, so no waiting worker slips out between
    /// the two.
    pub fn complete(
        &self,
        mut admission: Admission<'_>,
        reply: &Reply,
        retries: u32,
        max_wait: Duration,
    ) -> Option<(Duration, WaitSource)> {
        admission.returned = true;
        let mut s = self.state();
        s.hand_back(admission.probe, reply.rate);
        let wait = if matches!(reply.outcome, Outcome::RateLimited(_)) {
            s.streak += 1;
            let wait = s.rate_limit_wait(reply, retries, self.clock.now());
            if wait.0 <= max_wait {
                s.pause(wait.0);
            }
            Some(wait)
        } else {
            if reply.status.is_some() {
                s.streak = 0;
            }
            None
        };
        drop(s);
        self.changed.notify_waiters();
        wait
    }

    /// Pauses every request until `wait` from now (the latest pause wins).
    pub fn pause(&self, wait: Duration) {
        self.state().pause(wait);
        self.changed.notify_waiters();
    }

    /// How long the current pause still lasts, for the progress bar.
    pub fn paused_for(&self) -> Option<Duration> {
        let s = self.state();
        s.paused_until
            .and_then(|u| u.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }
}

impl State {
    /// Admits a request (`Ok(is_probe)`), or says until when to wait
    /// (`Err(Some(reset))`) or that only a hand-back can help (`Err(None)`).
    fn try_admit(&mut self) -> Result<bool, Option<Instant>> {
        if let Some(until) = self.paused_until.filter(|u| *u > Instant::now()) {
            return Err(Some(until));
        }
        if self.paused_until.take().is_some() {
            // A new window: the old budget is stale, but the limit is not,
            // so the start of the window does not overshoot it either.
            self.budget = self
                .limit
                .map(|l| l.saturating_sub(u64::from(self.in_flight)));
            self.lowest = None;
        }
        let (admit, probe) = match self.budget {
            None => (true, false),
            // Spent: one probe when nothing else is in flight.
            Some(0) => (self.in_flight == 0, true),
            Some(b) => {
                self.budget = Some(b - 1);
                (true, false)
            }
        };
        if !admit {
            return Err(None);
        }
        self.in_flight += 1;
        Ok(probe)
    }

    fn hand_back(&mut self, probe: bool, rate: RateHeaders) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if rate.limit.is_some() {
            self.limit = rate.limit;
        }
        if let Some(remaining) = rate.remaining
            && (probe || self.lowest.is_none_or(|low| remaining <= low))
        {
            self.lowest = Some(remaining);
            // Requests still in flight may not be counted yet: assume not.
            self.budget = Some(remaining.saturating_sub(u64::from(self.in_flight)));
        }
    }

    fn pause(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }

    /// The wait after a 429 (see [`Pacing::complete`]); `local` is this
    /// machine's clock when it was handled.
    fn rate_limit_wait(
        &mut self,
        reply: &Reply,
        retries: u32,
        local: SystemTime,
    ) -> (Duration, WaitSource) {
        let mut now = local - self.clock_ahead;
        if let Some(passed) = reset_passed_by(&reply.hints, now) {
            // Still refused after the reset by our clock: it runs ahead, by
            // at least that much, and by at most how far it is past the
            // server's `Date` (whole seconds, rounded down). Taking the
            // latter is never early again, at the price of up to a second
            // per window.
            let by_date = reply
                .hints
                .server_date
                .and_then(|date| reply.hints.received.duration_since(date).ok())
                .unwrap_or_default();
            let ahead = (self.clock_ahead + passed + CLOCK_STEP)
                .max(by_date)
                .min(MAX_CLOCK_AHEAD);
            self.clock_ahead = self.clock_ahead.max(ahead);
            now = local - self.clock_ahead;
        }
        server_wait(&reply.hints, now).unwrap_or_else(|| {
            let retry = retries.max(self.streak.saturating_sub(1));
            (RATE_LIMIT_BACKOFF.patient_delay(retry), WaitSource::Backoff)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Problem, TimeHints};

    /// Wall time that moves with tokio's (paused) clock, from a fixed start.
    struct PausedClock {
        base: SystemTime,
        start: Instant,
    }

    impl Clock for PausedClock {
        fn now(&self) -> SystemTime {
            self.base + self.start.elapsed()
        }
    }

    const T0: u64 = 1_700_000_000;

    fn paced() -> (Arc<PausedClock>, Pacing) {
        let clock = Arc::new(PausedClock {
            base: SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
            start: Instant::now(),
        });
        (Arc::clone(&clock), Pacing::with_clock(clock))
    }

    fn reply(
        status: u16,
        remaining: Option<u64>,
        reset_at: Option<i64>,
        received: SystemTime,
    ) -> Reply {
        Reply {
            outcome: if status == 429 {
                Outcome::RateLimited(Problem::from_response(429, None, b""))
            } else {
                Outcome::Confirmed
            },
            status: Some(status),
            rate: RateHeaders {
                limit: Some(10),
                remaining,
            },
            hints: TimeHints {
                reset_at,
                retry_after: None,
                server_date: None,
                received,
            },
            elapsed: Duration::ZERO,
            failure: None,
        }
    }

    fn ok(remaining: u64) -> Reply {
        reply(204, Some(remaining), None, SystemTime::UNIX_EPOCH)
    }

    const LONG: Duration = Duration::from_secs(900);

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone_until_the_reset() {
        let (_, pacing) = paced();
        let stop = Stop::new();
        pacing.pause(Duration::from_secs(5));
        let start = Instant::now();
        let a = pacing.admit(&stop).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        pacing.complete(a, &ok(9), 0, LONG);
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_lets_one_probe_through() {
        let (_, pacing) = paced();
        let stop = Stop::new();
        let a = pacing.admit(&stop).await.unwrap();
        let b = pacing.admit(&stop).await.unwrap();
        pacing.complete(a, &ok(1), 0, LONG); // one left, one in flight: budget 0
        // Budget 0 with one in flight: the next request waits...
        let waiting = tokio::time::timeout(Duration::from_secs(1), pacing.admit(&stop)).await;
        assert!(waiting.is_err());
        // ...until nothing is in flight; then a single probe goes.
        pacing.complete(b, &ok(0), 0, LONG);
        let probe = pacing.admit(&stop).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), pacing.admit(&stop))
                .await
                .is_err()
        );
        // The probe finds a fresh window.
        pacing.complete(probe, &ok(9), 0, LONG);
        for _ in 0..9 {
            let _ = pacing.admit(&stop).await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_reply_cannot_raise_the_budget() {
        let (_, pacing) = paced();
        let stop = Stop::new();
        let (a, b, c) = (
            pacing.admit(&stop).await.unwrap(),
            pacing.admit(&stop).await.unwrap(),
            pacing.admit(&stop).await.unwrap(),
        );
        pacing.complete(b, &ok(1), 0, LONG); // two in flight: budget 0
        pacing.complete(a, &ok(2), 0, LONG); // counted earlier by the server: stale
        assert!(
            tokio::time::timeout(Duration::from_secs(1), pacing.admit(&stop))
                .await
                .is_err()
        );
        pacing.complete(c, &ok(0), 0, LONG);
        let _probe = pacing.admit(&stop).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_run_until_its_reset_before_its_slot_is_free() {
        let (clock, pacing) = paced();
        let stop = Stop::new();
        let a = pacing.admit(&stop).await.unwrap();
        let now = clock.now();
        let limited = reply(429, Some(0), Some(T0 as i64 + 3), now);
        let (wait, source) = pacing.complete(a, &limited, 0, LONG).unwrap();
        assert_eq!(source, WaitSource::RateLimitReset);
        assert_eq!(
            wait,
            Duration::from_secs(3) + super::super::backoff::RESET_MARGIN
        );
        let start = Instant::now();
        let _next = pacing.admit(&stop).await.unwrap();
        assert_eq!(start.elapsed(), wait);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_max_wait_is_returned_but_does_not_pause() {
        let (clock, pacing) = paced();
        let stop = Stop::new();
        let a = pacing.admit(&stop).await.unwrap();
        let limited = reply(429, Some(0), Some(T0 as i64 + 600), clock.now());
        let (wait, _) = pacing
            .complete(a, &limited, 0, Duration::from_secs(60))
            .unwrap();
        assert!(wait > Duration::from_secs(599));
        assert_eq!(pacing.paused_for(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_running_ahead_is_learned_from_a_reset_already_passed() {
        let (clock, pacing) = paced();
        let stop = Stop::new();
        // Our clock reads T0+0.7 s; the server still refuses until T0: we
        // are at least 0.7 s ahead.
        tokio::time::advance(Duration::from_millis(700)).await;
        let a = pacing.admit(&stop).await.unwrap();
        let limited = reply(429, Some(0), Some(T0 as i64), clock.now());
        let (wait, source) = pacing.complete(a, &limited, 0, LONG).unwrap();
        assert_eq!(pacing.clock_ahead(), Duration::from_millis(800));
        // By the corrected clock the reset is 0.1 s ahead: a short wait, not
        // the blind backoff of a reset "in the past".
        assert_eq!(source, WaitSource::RateLimitReset);
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(pacing.now(), clock.now() - Duration::from_millis(800));
        // The correction only grows, and never past its cap.
        for _ in 0..50 {
            let a = pacing.admit(&stop).await.unwrap();
            let limited = reply(
                429,
                Some(0),
                Some(T0 as i64),
                clock.now() - Duration::from_secs(9),
            );
            pacing.complete(a, &limited, 0, Duration::ZERO);
        }
        assert!(pacing.clock_ahead() <= MAX_CLOCK_AHEAD);
    }

    #[tokio::test(start_paused = true)]
    async fn the_429_streak_grows_backoff_for_the_run_and_any_answer_ends_it() {
        let (clock, pacing) = paced();
        let stop = Stop::new();
        let mut waits = Vec::new();
        for _ in 0..4 {
            let a = pacing.admit(&stop).await.unwrap();
            // No reset time at all: backoff, by the streak, not the batch's
            // own retries (0 here: four different batches).
            let (wait, source) = pacing
                .complete(a, &reply(429, None, None, clock.now()), 0, LONG)
                .unwrap();
            assert_eq!(source, WaitSource::Backoff);
            waits.push(wait);
        }
        // Equal jitter: within [ceiling/2, ceiling] of 1 s, 2 s, 4 s, 8 s.
        for (i, wait) in waits.iter().enumerate() {
            let ceiling = Duration::from_secs(1 << i);
            assert!(*wait >= ceiling / 2 && *wait <= ceiling, "{i}: {wait:?}");
        }
        let a = pacing.admit(&stop).await.unwrap();
        pacing.complete(a, &ok(5), 0, LONG);
        let a = pacing.admit(&stop).await.unwrap();
        let (wait, _) = pacing
            .complete(a, &reply(429, None, None, clock.now()), 0, LONG)
            .unwrap();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_releases_waiters_with_nothing() {
        let (_, pacing) = paced();
        let stop = Stop::new();
        pacing.pause(Duration::from_secs(100));
        let s = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            s.request(super::super::stop::StopReason::Interrupted);
        });
        assert!(pacing.admit(&stop).await.is_none());
    }
}
