//! When to try again: the server's reset time if it gave one, else
//! exponential backoff with full jitter. Pure functions of their inputs, so
//! the maths is tested without a clock or a server.

use std::time::{Duration, SystemTime};

use crate::api::{RetryAfter, TimeHints};

/// A reset further ahead than this is taken for garbage (a millisecond
/// timestamp, a broken proxy), not obeyed.
pub const ABSURD_WAIT: Duration = Duration::from_secs(24 * 3600);
/// The reset timestamp has whole-second resolution and the server's window
/// may turn a hair after it: arriving a little late costs nothing, a little
/// early costs a 429.
pub const RESET_MARGIN: Duration = Duration::from_millis(30);
/// The most this machine's clock is believed to run ahead of the server's:
/// a confused server must not be able to stall the run.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(10);
/// Below this difference between the server's `Date` and this machine's
/// clock, the local clock is trusted (`Date` itself is only whole seconds).
const SKEW_TOLERANCE: Duration = Duration::from_secs(2);

/// Exponential backoff, full jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay's ceiling.
    pub base: Duration,
    /// No delay's ceiling exceeds this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling before the `retry`-th retry (0-based): `min(cap, base·2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// At least half the ceiling, at most all of it ("equal jitter"): for a
    /// 429 that gave no time, where coming back at once is never right.
    pub fn patient_delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        ceiling / 2 + (ceiling / 2).mul_f64(fastrand::f64())
    }

    /// The delay before the `retry`-th retry: uniform in `[0, ceiling]`
    /// ("full jitter"), so that many clients hit by the same outage do not
    /// return in step.
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_at(retry, fastrand::f64())
    }

    /// [`Backoff::delay`] for a given `jitter` in `[0, 1)`: the pure part.
    pub fn delay_at(&self, retry: u32, jitter: f64) -> Duration {
        self.ceiling(retry)
            .mul_f64(jitter.clamp(0.0, 1.0))
            .max(Duration::from_millis(10))
    }
}

/// Which header set a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitSource {
    /// `X-RateLimit-Retry-After` (a Unix timestamp).
    RateLimitReset,
    /// `Retry-After`.
    RetryAfter,
    /// No usable header: backoff.
    Backoff,
}

impl WaitSource {
    /// The name for messages.
    pub fn name(self) -> &'static str {
        match self {
            WaitSource::RateLimitReset => "X-RateLimit-Retry-After",
            WaitSource::RetryAfter => "Retry-After",
            WaitSource::Backoff => "backoff",
        }
    }
}

/// The server's clock now, estimated: this machine's clock, unless the
/// response's `Date` says the two disagree by more than its resolution.
pub fn server_now(hints: &TimeHints, now: SystemTime) -> SystemTime {
    let Some(date) = hints.server_date else {
        return now;
    };
    let differs = match hints.received.duration_since(date) {
        Ok(ahead) => ahead > SKEW_TOLERANCE,
        Err(behind) => behind.duration() > SKEW_TOLERANCE,
    };
    if !differs {
        return now;
    }
    // `Date` is the server's second, rounded down: adding the time since
    // the response arrived errs towards waiting a little longer.
    date + now.duration_since(hints.received).unwrap_or_default()
}

/// How long the server asked us to wait, if it said so usably: a reset
/// timestamp in the past or absurdly far ahead is ignored (the caller then
/// backs off), never obeyed as a negative or endless sleep.
pub fn server_wait(hints: &TimeHints, now: SystemTime) -> Option<(Duration, WaitSource)> {
    let server_now = server_now(hints, now);
    let until = |t: SystemTime| {
        t.duration_since(server_now)
            .ok()
            .filter(|d| !d.is_zero() && *d <= ABSURD_WAIT)
    };
    if let Some(reset) = reset_time(hints)
        && let Some(d) = until(reset)
    {
        return Some((d + RESET_MARGIN, WaitSource::RateLimitReset));
    }
    match hints.retry_after? {
        RetryAfter::Seconds(s) => Some(Duration::from_secs_f64(s.min(ABSURD_WAIT.as_secs_f64())))
            .map(|d| (d, WaitSource::RetryAfter)),
        RetryAfter::Date(t) => until(t).map(|d| (d, WaitSource::RetryAfter)),
    }
}

/// How far in the past a reset timestamp lies, when it is only a little in
/// the past: the server still refuses until then, so this machine's clock
/// must run ahead of the server's by at least that much.
pub fn reset_passed_by(hints: &TimeHints, now: SystemTime) -> Option<Duration> {
    server_now(hints, now)
        .duration_since(reset_time(hints)?)
        .ok()
        .filter(|d| *d <= MAX_CLOCK_AHEAD)
}

/// `X-RateLimit-Retry-After` as a time; `None` before the epoch. The
/// header is in seconds, but a value past the year 5000 can only be
/// milliseconds, and is read as such.
fn reset_time(hints: &TimeHints) -> Option<SystemTime> {
    let value = u64::try_from(hints.reset_at?).ok()?;
    let since_epoch = if value >= MILLISECOND_TIMESTAMPS {
        Duration::from_millis(value)
    } else {
        Duration::from_secs(value)
    };
    Some(SystemTime::UNIX_EPOCH + since_epoch)
}

/// 10^11 seconds is the year 5138; 10^11 milliseconds is 1973.
const MILLISECOND_TIMESTAMPS: u64 = 100_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn hints(
        reset_at: Option<i64>,
        retry_after: Option<RetryAfter>,
        date: Option<u64>,
    ) -> TimeHints {
        TimeHints {
            reset_at,
            retry_after,
            server_date: date.map(at),
            received: at(1_000_000),
        }
    }

    #[test]
    fn the_reset_header_is_a_timestamp_not_a_duration() {
        let now = at(1_000_000);
        let h = hints(Some(1_000_003), None, None);
        assert_eq!(
            server_wait(&h, now),
            Some((
                Duration::from_secs(3) + RESET_MARGIN,
                WaitSource::RateLimitReset
            ))
        );
    }

    #[test]
    fn past_or_absurd_resets_fall_back() {
        let now = at(1_000_000);
        assert_eq!(server_wait(&hints(Some(999_000), None, None), now), None);
        assert_eq!(server_wait(&hints(Some(1_000_000), None, None), now), None);
        assert_eq!(server_wait(&hints(Some(-5), None, None), now), None);
        assert_eq!(
            server_wait(&hints(Some(1_700_000_000_000), None, None), now),
            None
        );
        // ...to Retry-After when there is one.
        let h = hints(Some(5), Some(RetryAfter::Seconds(2.0)), None);
        assert_eq!(
            server_wait(&h, now),
            Some((Duration::from_secs(2), WaitSource::RetryAfter))
        );
    }

    #[test]
    fn a_millisecond_timestamp_is_read_as_one() {
        let now = at(1_700_000_000);
        let mut h = hints(Some(1_700_000_002_500), None, None);
        h.received = now;
        assert_eq!(
            server_wait(&h, now),
            Some((
                Duration::from_millis(2500) + RESET_MARGIN,
                WaitSource::RateLimitReset
            ))
        );
    }

    #[test]
    fn retry_after_date_and_seconds() {
        let now = at(1_000_000);
        let h = hints(None, Some(RetryAfter::Date(at(1_000_004))), None);
        assert_eq!(
            server_wait(&h, now),
            Some((Duration::from_secs(4), WaitSource::RetryAfter))
        );
        let h = hints(None, Some(RetryAfter::Date(at(999_999))), None);
        assert_eq!(server_wait(&h, now), None);
        let h = hints(None, Some(RetryAfter::Seconds(1.5)), None);
        assert_eq!(
            server_wait(&h, now),
            Some((Duration::from_millis(1500), WaitSource::RetryAfter))
        );
    }

    #[test]
    fn clock_skew_is_corrected_from_the_date_header() {
        // The server's clock is 60 s ahead of ours; its window resets 2 s
        // from its now. Without the correction we would wait 62 s.
        let now = at(1_000_000);
        let h = hints(Some(1_000_062), None, Some(1_000_060));
        assert_eq!(
            server_wait(&h, now).unwrap().0,
            Duration::from_secs(2) + RESET_MARGIN
        );
        // ...and 60 s behind: without it, the reset would look past.
        let h = hints(Some(999_942), None, Some(999_940));
        assert_eq!(
            server_wait(&h, now).unwrap().0,
            Duration::from_secs(2) + RESET_MARGIN
        );
        // Within a second or two, the local clock is trusted.
        let h = hints(Some(1_000_002), None, Some(999_999));
        assert_eq!(
            server_wait(&h, now).unwrap().0,
            Duration::from_secs(2) + RESET_MARGIN
        );
    }

    #[test]
    fn a_reset_just_past_tells_how_far_the_clock_runs_ahead() {
        let now = at(1_000_000) + Duration::from_millis(700);
        let h = hints(Some(1_000_000), None, None);
        assert_eq!(reset_passed_by(&h, now), Some(Duration::from_millis(700)));
        assert_eq!(
            reset_passed_by(&hints(Some(999_000), None, None), now),
            None
        );
        assert_eq!(
            reset_passed_by(&hints(Some(1_000_001), None, None), now),
            None
        );
        // Corrected by that much, the same reset is a wait again.
        let h = hints(Some(1_000_001), None, None);
        assert!(server_wait(&h, now - Duration::from_millis(800)).is_some());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(60), Duration::from_secs(1));
        for retry in 0..10 {
            let d = b.delay(retry);
            assert!(d <= b.ceiling(retry).max(Duration::from_millis(10)));
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5)).collect();
        assert!(spread.len() > 10);
    }
}
