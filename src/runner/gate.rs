//! The rate-limit gate: the one place that knows when the next request may
//! leave. Workers ask it; none of them sleeps on a rate limit by itself.
//!
//! Two rules keep a long run near the limit's ceiling without wasting
//! requests:
//! - after a 429 the whole run pauses until the reset (or the backoff), then
//!   resumes at once;
//! - `X-RateLimit-Remaining` gives a budget of requests that may still start
//!   in this window (minus the ones already in flight). When it is spent,
//!   only one probe goes out: it either finds a fresh window or meets the
//!   one 429 that tells everyone when the window resets.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::backoff::MAX_CLOCK_AHEAD;
use super::stop::Stop;
use crate::api::RateHeaders;

/// See the module docs.
#[derive(Default)]
pub struct Gate {
    state: Mutex<State>,
    changed: Notify,
    /// 429s in a row, across batches, so that backoff without a server
    /// hint grows for the run and not only per batch.
    limited_streak: AtomicU32,
    /// How far this machine's clock runs ahead of the server's, learned
    /// from 429s whose reset time had already passed here.
    ahead_ms: AtomicU64,
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
}

/// A request that the gate let through; hand it back with [`Gate::done`].
/// Dropped without that (a cancelled task), it still frees its slot.
#[must_use]
pub struct Admission<'a> {
    gate: &'a Gate,
    probe: bool,
    returned: bool,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if !self.returned {
            self.gate
                .hand_back(self.probe, RateHeaders::default(), None);
        }
    }
}

impl Gate {
    /// A gate with no known limit.
    pub fn new() -> Gate {
        Gate::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
                if let Some(until) = s.paused_until.filter(|u| *u > Instant::now()) {
                    Some(until)
                } else {
                    if s.paused_until.take().is_some() {
                        // A new window: the old budget is stale, but the
                        // limit is not, so the start of the window does not
                        // overshoot it either.
                        s.budget = s.limit.map(|l| l.saturating_sub(u64::from(s.in_flight)));
                        s.lowest = None;
                    }
                    let (admit, probe) = match s.budget {
                        None => (true, false),
                        // Spent: one probe when nothing else is in flight.
                        Some(0) => (s.in_flight == 0, true),
                        Some(b) => {
                            s.budget = Some(b - 1);
                            (true, false)
                        }
                    };
                    if admit {
                        s.in_flight += 1;
                        return Some(Admission {
                            gate: self,
                            probe,
                            returned: false,
                        });
                    }
                    None
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

    /// Hands an admission back with what the response said about the limit,
    /// and, after a 429, the pause it asked for: set in the same breath, so
    /// no waiting worker slips out between the two.
    pub fn done(&self, mut admission: Admission<'_>, rate: RateHeaders, pause: Option<Duration>) {
        admission.returned = true;
        self.hand_back(admission.probe, rate, pause);
    }

    fn hand_back(&self, probe: bool, rate: RateHeaders, pause: Option<Duration>) {
        let mut s = self.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        if rate.limit.is_some() {
            s.limit = rate.limit;
        }
        if let Some(remaining) = rate.remaining
            && (probe || s.lowest.is_none_or(|low| remaining <= low))
        {
            s.lowest = Some(remaining);
            // Requests still in flight may not be counted yet: assume not.
            s.budget = Some(remaining.saturating_sub(u64::from(s.in_flight)));
        }
        if let Some(wait) = pause {
            pause_locked(&mut s, wait);
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// Pauses every request until `wait` from now (the latest pause wins).
    pub fn pause(&self, wait: Duration) {
        pause_locked(&mut self.state(), wait);
        self.changed.notify_waiters();
    }

    /// Counts a 429 and returns how many came in a row.
    pub fn count_429(&self) -> u32 {
        self.limited_streak.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Ends a run of 429s.
    pub fn relieved(&self) {
        self.limited_streak.store(0, Ordering::Relaxed);
    }

    /// How far this machine's clock is known to run ahead of the server's.
    pub fn clock_ahead(&self) -> Duration {
        Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Learns that the clock runs ahead by at least `ahead` (capped at
    /// [`MAX_CLOCK_AHEAD`]).
    pub fn learn_clock_ahead(&self, ahead: Duration) {
        let ms = ahead.min(MAX_CLOCK_AHEAD).as_millis() as u64;
        self.ahead_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long the current pause still lasts, for the progress bar.
    pub fn paused_for(&self) -> Option<Duration> {
        let s = self.state();
        s.paused_until
            .and_then(|u| u.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }
}

fn pause_locked(s: &mut State, wait: Duration) {
    let until = Instant::now() + wait;
    if s.paused_until.is_none_or(|p| p < until) {
        s.paused_until = Some(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(remaining: u64) -> RateHeaders {
        RateHeaders {
            limit: Some(10),
            remaining: Some(remaining),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone_until_the_reset() {
        let gate = Gate::new();
        let stop = Stop::new();
        gate.pause(Duration::from_secs(5));
        let start = Instant::now();
        let a = gate.admit(&stop).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        gate.done(a, RateHeaders::default(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_lets_one_probe_through() {
        let gate = Gate::new();
        let stop = Stop::new();
        let a = gate.admit(&stop).await.unwrap();
        let b = gate.admit(&stop).await.unwrap();
        gate.done(a, rate(1), None); // one left, one in flight: budget 0
        // Budget 0 with one in flight: the next request waits...
        let waiting = tokio::time::timeout(Duration::from_secs(1), gate.admit(&stop)).await;
        assert!(waiting.is_err());
        // ...until nothing is in flight; then a single probe goes.
        gate.done(b, rate(0), None);
        let probe = gate.admit(&stop).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), gate.admit(&stop))
                .await
                .is_err()
        );
        // The probe finds a fresh window.
        gate.done(probe, rate(9), None);
        for _ in 0..9 {
            let _ = gate.admit(&stop).await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_reply_cannot_raise_the_budget() {
        let gate = Gate::new();
        let stop = Stop::new();
        let (a, b, c) = (
            gate.admit(&stop).await.unwrap(),
            gate.admit(&stop).await.unwrap(),
            gate.admit(&stop).await.unwrap(),
        );
        gate.done(b, rate(1), None); // two in flight: budget 0
        gate.done(a, rate(2), None); // counted earlier by the server: stale
        assert!(
            tokio::time::timeout(Duration::from_secs(1), gate.admit(&stop))
                .await
                .is_err()
        );
        gate.done(c, rate(0), None);
        let _probe = gate.admit(&stop).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_before_its_slot_is_free() {
        let gate = Gate::new();
        let stop = Stop::new();
        let a = gate.admit(&stop).await.unwrap();
        gate.done(a, rate(0), Some(Duration::from_secs(3)));
        let start = Instant::now();
        let _next = gate.admit(&stop).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_releases_waiters_with_nothing() {
        let gate = Gate::new();
        let stop = Stop::new();
        gate.pause(Duration::from_secs(100));
        let s = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            s.request(super::super::stop::StopReason::Interrupted);
        });
        assert!(gate.admit(&stop).await.is_none());
    }
}
