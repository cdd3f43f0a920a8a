//! Time: epoch-aligned rate-limit windows and the skewed clock the server shows clients.
//!
//! Windows always roll over on the true clock; the clock offset only changes what the
//! server *says* (its `Date` header and reset instants), consistently, so that a client
//! which measures the skew from `Date` computes the right wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::config::RateLimit;

/// Milliseconds since the Unix epoch on the true clock (0 if the clock is before 1970).
pub(crate) fn unix_ms(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Index of the window containing `now_ms`: window k covers `[k*w, (k+1)*w)` seconds.
pub(crate) fn window_index(now_ms: u128, window_secs: u64) -> u64 {
    let width = u128::from(window_secs.max(1)) * 1000;
    u64::try_from(now_ms / width).unwrap_or(u64::MAX)
}

/// True Unix second at which window `index` ends (the next one begins).
pub(crate) fn window_end_secs(index: u64, window_secs: u64) -> u64 {
    index.saturating_add(1).saturating_mul(window_secs.max(1))
}

/// Whole seconds from `now_ms` until `end_secs`, rounded up, so a client that waits this
/// long never comes back early.
pub(crate) fn secs_until(end_secs: u64, now_ms: u128) -> u64 {
    let remaining_ms = (u128::from(end_secs) * 1000).saturating_sub(now_ms);
    u64::try_from(remaining_ms.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// A true Unix second, rounded up, `after` from `now_ms`.
pub(crate) fn secs_after(now_ms: u128, after: Duration) -> u64 {
    let at = now_ms + after.as_millis();
    u64::try_from(at.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// `t` as the skewed server clock shows it.
pub(crate) fn skewed(t: SystemTime, offset_secs: i64) -> SystemTime {
    let shift = Duration::from_secs(offset_secs.unsigned_abs());
    let shifted = if offset_secs >= 0 {
        t.checked_add(shift)
    } else {
        t.checked_sub(shift)
    };
    shifted.unwrap_or(t)
}

/// A true Unix second as the skewed server clock names it (what the client is told).
pub(crate) fn skewed_unix_secs(true_secs: u64, offset_secs: i64) -> i64 {
    i64::try_from(true_secs)
        .unwrap_or(i64::MAX)
        .saturating_add(offset_secs)
}

/// An IMF-fixdate for a skewed Unix second (clamped to the epoch).
pub(crate) fn http_date_of_unix(secs: i64) -> String {
    let secs = u64::try_from(secs).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// `t` as an RFC 3339 UTC timestamp to the second (`2024-04-15T13:25:00Z`), the API's
/// `date-time` format.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The counter of the current window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WindowCounter {
    /// Window length the counter was started with (a config change restarts counting).
    window_secs: u64,
    /// Which window the count belongs to.
    index: u64,
    /// Requests counted in that window.
    count: u64,
}

/// What the limiter decided for one request, with everything the headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateDecision {
    /// Whether the request is within the limit.
    pub allowed: bool,
    /// `X-RateLimit-Limit`.
    pub limit: u64,
    /// `X-RateLimit-Remaining` after this request.
    pub remaining: u64,
    /// True Unix second at which the current window ends.
    pub reset_secs: u64,
}

impl WindowCounter {
    /// Brings the counter to the window containing `now_ms`.
    fn roll(&mut self, limit: RateLimit, now_ms: u128) {
        let index = window_index(now_ms, limit.window_secs);
        if self.index != index || self.window_secs != limit.window_secs {
            *self = Self {
                window_secs: limit.window_secs,
                index,
                count: 0,
            };
        }
    }

    /// Counts one request (allowed or not) and decides whether it may proceed.
    pub(crate) fn take(&mut self, limit: RateLimit, now_ms: u128) -> RateDecision {
        self.roll(limit, now_ms);
        self.count = self.count.saturating_add(1);
        self.decision(limit)
    }

    /// Reports the current state without counting (for responses that do not consume).
    pub(crate) fn peek(&mut self, limit: RateLimit, now_ms: u128) -> RateDecision {
        self.roll(limit, now_ms);
        self.decision(limit)
    }

    /// The decision for the count as it stands.
    fn decision(&self, limit: RateLimit) -> RateDecision {
        RateDecision {
            allowed: self.count <= limit.limit,
            limit: limit.limit,
            remaining: limit.limit.saturating_sub(self.count),
            reset_secs: window_end_secs(self.index, limit.window_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_epoch() {
        assert_eq!(window_index(0, 10), 0);
        assert_eq!(window_index(9_999, 10), 0);
        assert_eq!(window_index(10_000, 10), 1);
        assert_eq!(window_end_secs(1, 10), 20);
        assert_eq!(window_index(1_713_187_499_999, 60), 28_553_124);
        assert_eq!(window_end_secs(28_553_124, 60), 1_713_187_500);
    }

    #[test]
    fn seconds_until_reset_round_up() {
        assert_eq!(secs_until(20, 19_000), 1);
        assert_eq!(secs_until(20, 19_001), 1);
        assert_eq!(secs_until(20, 18_999), 2);
        assert_eq!(secs_until(20, 25_000), 0);
        assert_eq!(secs_after(1_500, Duration::from_secs(2)), 4);
        assert_eq!(secs_after(2_000, Duration::from_secs(2)), 4);
    }

    #[test]
    fn counter_limits_and_rolls_over() {
        let limit = RateLimit::new(2, 2);
        let mut counter = WindowCounter::default();
        let first = counter.take(limit, 10_000);
        assert_eq!(
            (first.allowed, first.remaining, first.reset_secs),
            (true, 1, 12)
        );
        assert_eq!(counter.peek(limit, 10_500).remaining, 1);
        assert!(counter.take(limit, 11_000).allowed);
        let third = counter.take(limit, 11_999);
        assert_eq!((third.allowed, third.remaining), (false, 0));
        let next = counter.take(limit, 12_000);
        assert_eq!(
            (next.allowed, next.remaining, next.reset_secs),
            (true, 1, 14)
        );
        assert!(
            !WindowCounter::default()
                .take(RateLimit::new(0, 1), 0)
                .allowed
        );
    }

    #[test]
    fn skew_shifts_what_is_shown() {
        let t = UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(skewed(t, 30), UNIX_EPOCH + Duration::from_secs(1030));
        assert_eq!(skewed(t, -30), UNIX_EPOCH + Duration::from_secs(970));
        assert_eq!(skewed_unix_secs(1000, -30), 970);
        assert_eq!(http_date_of_unix(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date_of_unix(1_713_187_500),
            "Mon, 15 Apr 2024 13:25:00 GMT"
        );
    }

    #[test]
    fn rfc3339_dates() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_713_187_500), "2024-04-15T13:25:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
