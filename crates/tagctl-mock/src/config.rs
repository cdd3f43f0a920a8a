//! Options that shape the mock's behaviour, and their textual forms for the CLI.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::faults::Fault;

/// A value given to the mock (on its command line or admin endpoint) could not be parsed.
///
/// One error type for every option keeps the CLI's messages uniform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct InvalidOption {
    /// Which option was being parsed, e.g. "rate limit".
    pub what: &'static str,
    /// The text that was rejected.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl InvalidOption {
    /// Builds the error; a helper so parsers stay one-liners.
    pub(crate) fn new(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            what,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A fixed-window rate limit: at most `limit` requests per window of `window_secs` seconds.
///
/// Windows are aligned to the Unix epoch (window k covers `[k*w, (k+1)*w)` seconds), like
/// Rebilly's, so a client can predict the reset instant from the timestamp it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window; 0 refuses every request.
    pub limit: u64,
    /// Window length in whole seconds (at least 1).
    pub window_secs: u64,
}

impl RateLimit {
    /// Creates a limit; `window_secs` is raised to 1 because a zero-length window has no meaning.
    pub fn new(limit: u64, window_secs: u64) -> Self {
        Self {
            limit,
            window_secs: window_secs.max(1),
        }
    }
}

impl FromStr for RateLimit {
    type Err = InvalidOption;

    /// Parses `N/W` where `W` is seconds with an optional unit: `10/2s`, `10/s`, `3000/10m`, `5/1h`, `10/2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| InvalidOption::new("rate limit", s, reason);
        let (limit, window) = s
            .split_once('/')
            .ok_or_else(|| err("expected REQUESTS/WINDOW, e.g. 10/2s"))?;
        let limit: u64 = limit
            .trim()
            .parse()
            .map_err(|_| err("the request count must be a whole number"))?;
        let window = window.trim();
        let (digits, unit) = window.split_at(
            window
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(window.len()),
        );
        let count: u64 = if digits.is_empty() {
            1
        } else {
            digits
                .parse()
                .map_err(|_| err("the window must be a whole number of seconds"))?
        };
        let scale = match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(err("the window unit must be s, m or h")),
        };
        let window_secs = count
            .checked_mul(scale)
            .filter(|w| *w > 0)
            .ok_or_else(|| err("the window must be at least one second"))?;
        Ok(Self::new(limit, window_secs))
    }
}

impl fmt::Display for RateLimit {
    /// Writes the same `N/Ws` form that `from_str` reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.window_secs)
    }
}

/// How a 429 tells the client when to come back; clients must cope with all of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryAfterStyle {
    /// Rebilly's own: `X-RateLimit-Retry-After: <Unix timestamp of the window end>`.
    #[default]
    RateLimitTimestamp,
    /// The standard `Retry-After: <seconds until the reset, rounded up>`, as proxies send.
    RetryAfterSeconds,
    /// The standard `Retry-After: <IMF-fixdate of the reset>`.
    RetryAfterHttpDate,
    /// No hint at all, so the client must fall back to its own backoff.
    None,
}

impl FromStr for RetryAfterStyle {
    type Err = InvalidOption;

    /// Accepts `timestamp`, `seconds`, `http-date` and `none` (the CLI's spellings).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "timestamp" => Ok(Self::RateLimitTimestamp),
            "seconds" => Ok(Self::RetryAfterSeconds),
            "http-date" | "httpdate" | "date" => Ok(Self::RetryAfterHttpDate),
            "none" => Ok(Self::None),
            _ => Err(InvalidOption::new(
                "retry-after style",
                s,
                "expected timestamp, seconds, http-date or none",
            )),
        }
    }
}

/// How a 422 names the offending entries of `customerIds` in `invalidFields`.
///
/// Real servers differ; `Bare` hides the index entirely so a client must bisect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidFieldsStyle {
    /// `customerIds.17` (dot notation, as the OpenAPI text describes).
    #[default]
    Indexed,
    /// `customerIds[17]`.
    Bracketed,
    /// One entry with field `customerIds` and no index.
    Bare,
}

impl FromStr for InvalidFieldsStyle {
    type Err = InvalidOption;

    /// Accepts `indexed`, `bracketed` and `bare`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "indexed" => Ok(Self::Indexed),
            "bracketed" => Ok(Self::Bracketed),
            "bare" => Ok(Self::Bare),
            _ => Err(InvalidOption::new(
                "invalid-fields style",
                s,
                "expected indexed, bracketed or bare",
            )),
        }
    }
}

/// The media type of problem-details bodies; the API documents `application/json`,
/// RFC 7807 says `application/problem+json`, and a client must accept both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemContentType {
    /// `application/problem+json`.
    #[default]
    ProblemJson,
    /// `application/json`.
    Json,
}

impl ProblemContentType {
    /// The header value to send.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProblemJson => "application/problem+json",
            Self::Json => "application/json",
        }
    }
}

/// Everything that can be tuned about the mock; change it at run time with
/// [`MockServer::set_config`](super::MockServer::set_config).
///
/// The default is the most permissive server: no rate limit (and then no
/// `X-RateLimit-*` headers), any non-empty credential accepted, no faults, recording on.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// When set, the only accepted `REB-APIKEY` (a JWT matching `jwt` is accepted too).
    pub api_key: Option<String>,
    /// When set, the only accepted `Authorization: Bearer` token (a key matching `api_key` is accepted too).
    pub jwt: Option<String>,
    /// Keys or tokens that authenticate but lack permission: answered 403.
    pub forbidden: HashSet<String>,
    /// Fixed-window limit shared by every tag/untag request; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Which header a 429 carries.
    pub retry_after_style: RetryAfterStyle,
    /// Pretend the server's clock is this many seconds ahead (negative: behind); shifts the
    /// `Date` header and every reset instant sent, but not when windows really roll over.
    pub clock_offset_secs: i64,
    /// Delay before answering each tag/untag request.
    pub latency: Duration,
    /// Well-formed IDs the server refuses with 422 "Customer not found".
    pub reject_ids: HashSet<String>,
    /// How 422 `invalidFields` entries name bad IDs.
    pub invalid_fields_style: InvalidFieldsStyle,
    /// Media type of problem-details bodies.
    pub problem_content_type: ProblemContentType,
    /// Probability (0..=1) that a request without a queued fault gets a random one.
    pub fault_rate: f64,
    /// The faults drawn from when `fault_rate` fires; empty = [`Fault::default_random_kinds`].
    pub fault_kinds: Vec<Fault>,
    /// Seed of the random-fault generator, for reproducible runs; `None` = a fresh seed.
    pub seed: Option<u64>,
    /// Keep every request, accepted ID and tag state; `false` only counts, for benchmarks.
    pub record: bool,
    /// Print one line per tag/untag request on standard error.
    pub log_requests: bool,
}

impl Default for MockConfig {
    /// Unlimited, any non-empty credential, no faults, recording on, silent.
    fn default() -> Self {
        Self {
            api_key: None,
            jwt: None,
            forbidden: HashSet::new(),
            rate_limit: None,
            retry_after_style: RetryAfterStyle::default(),
            clock_offset_secs: 0,
            latency: Duration::ZERO,
            reject_ids: HashSet::new(),
            invalid_fields_style: InvalidFieldsStyle::default(),
            problem_content_type: ProblemContentType::default(),
            fault_rate: 0.0,
            fault_kinds: Vec::new(),
            seed: None,
            record: true,
            log_requests: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_forms() {
        assert_eq!("10/2s".parse(), Ok(RateLimit::new(10, 2)));
        assert_eq!("10/s".parse(), Ok(RateLimit::new(10, 1)));
        assert_eq!("10/2".parse(), Ok(RateLimit::new(10, 2)));
        assert_eq!("3000/10m".parse(), Ok(RateLimit::new(3000, 600)));
        assert_eq!("0/1h".parse(), Ok(RateLimit::new(0, 3600)));
        for bad in ["10", "x/2s", "10/0s", "10/2d", "10/-1", "/2s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
        assert_eq!(RateLimit::new(10, 2).to_string(), "10/2s");
    }

    #[test]
    fn style_names() {
        assert_eq!("http-date".parse(), Ok(RetryAfterStyle::RetryAfterHttpDate));
        assert_eq!("none".parse(), Ok(RetryAfterStyle::None));
        assert_eq!("Bare".parse(), Ok(InvalidFieldsStyle::Bare));
        assert!("dots".parse::<InvalidFieldsStyle>().is_err());
    }
}
