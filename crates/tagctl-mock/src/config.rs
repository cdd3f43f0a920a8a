//! Options that shape the mock's behaviour, and their textual forms for the CLI.

use std::collections::{BTreeSet, HashSet};
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

/// Which customers exist. A write's IDs that are not customers are ignored (the 204 says
/// nothing, as Rebilly's does); a read does not return them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Universe {
    /// Every well-formed ID is a customer (the default). Listing without an `id` filter
    /// shows the customers some write has reached, in ID order.
    #[default]
    All,
    /// Exactly `n` customers, `cus_00000`, `cus_00001`, … (`cus_{i:05}`, so the 5 digits
    /// grow past 99999): the IDs the tests' helpers make.
    Numbered(u64),
    /// Exactly these customers.
    Listed(BTreeSet<String>),
}

impl Universe {
    /// Whether `id` is a customer.
    pub fn contains(&self, id: &str) -> bool {
        match self {
            Universe::All => true,
            Universe::Listed(ids) => ids.contains(id),
            Universe::Numbered(n) => numbered_index(id).is_some_and(|i| i < *n),
        }
    }

    /// The ID of customer `i` of a [`Universe::Numbered`] universe.
    pub fn numbered_id(i: u64) -> String {
        format!("cus_{i:05}")
    }
}

/// `i` when `id` is exactly `cus_{i:05}`.
pub(crate) fn numbered_index(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("cus_")?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: u64 = digits.parse().ok()?;
    // Only the canonical spelling: `cus_000007` is not customer 7 once 5 digits suffice.
    (Universe::numbered_id(i) == id).then_some(i)
}

impl FromStr for Universe {
    type Err = InvalidOption;

    /// `all`, a count `N`, or a comma-separated list of IDs (`a,b,c`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Universe::All);
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse()
                .map(Universe::Numbered)
                .map_err(|_| InvalidOption::new("customers", s, "the count is too large"));
        }
        let ids: BTreeSet<String> = s
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            return Err(InvalidOption::new(
                "customers",
                s,
                "expected all, a count, or a comma-separated list of IDs",
            ));
        }
        Ok(Universe::Listed(ids))
    }
}

/// The entities a tag may be assigned to (`Tag.type`); only `customer` tags go on customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum TagType {
    /// `customer`.
    #[default]
    Customer,
    /// `kyc-document`.
    KycDocument,
    /// `aml-check`.
    AmlCheck,
}

impl TagType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TagType::Customer => "customer",
            TagType::KycDocument => "kyc-document",
            TagType::AmlCheck => "aml-check",
        }
    }
}

impl fmt::Display for TagType {
    /// The API's spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TagType {
    type Err = InvalidOption;

    /// `customer`, `kyc-document` or `aml-check`, exactly (the API's enum is case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(TagType::Customer),
            "kyc-document" => Ok(TagType::KycDocument),
            "aml-check" => Ok(TagType::AmlCheck),
            _ => Err(InvalidOption::new(
                "tag type",
                s,
                "expected customer, kyc-document or aml-check",
            )),
        }
    }
}

/// A tag that exists when the server starts (and again after a reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSeed {
    /// Its name, as it is spelled in answers.
    pub name: String,
    /// Its type.
    pub kind: TagType,
}

impl FromStr for TagSeed {
    type Err = InvalidOption;

    /// `NAME` (a customer tag) or `NAME:TYPE`; a name cannot hold `:`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, kind) = match s.rsplit_once(':') {
            Some((name, kind)) => (name, kind.parse()?),
            None => (s, TagType::Customer),
        };
        if name.is_empty() {
            return Err(InvalidOption::new("tag", s, "expected NAME or NAME:TYPE"));
        }
        Ok(TagSeed {
            name: name.to_owned(),
            kind,
        })
    }
}

/// What a tag/untag request naming a tag that does not exist gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingTag {
    /// The tag is created (type `customer`) by the first accepted write: lenient, so a
    /// script needs no set-up (the default).
    #[default]
    Create,
    /// 404 "Tag not found".
    NotFound,
    /// 422 with `invalidFields: [{"field": "tag", …}]`.
    Unprocessable,
}

impl FromStr for MissingTag {
    type Err = InvalidOption;

    /// `create`, `404` or `422`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "create" => Ok(Self::Create),
            "404" | "not-found" => Ok(Self::NotFound),
            "422" | "invalid" => Ok(Self::Unprocessable),
            _ => Err(InvalidOption::new(
                "missing-tag answer",
                s,
                "expected create, 404 or 422",
            )),
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
    /// Fixed-window limit shared by every non-GET request (and GETs with
    /// `rate_limit_reads`); `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Which header a 429 carries.
    pub retry_after_style: RetryAfterStyle,
    /// Pretend the server's clock is this many seconds ahead (negative: behind); shifts the
    /// `Date` header and every reset instant sent, but not when windows really roll over.
    pub clock_offset_secs: i64,
    /// Delay before answering each API request.
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
    /// Print one line per API request on standard error.
    pub log_requests: bool,
    /// Which customers exist.
    pub customers: Universe,
    /// How long after its 204 a write takes effect (reads show the old tags until then).
    pub apply_delay: Duration,
    /// Customers a write never reaches, though it is answered 204 (to test `missing`).
    pub never_apply: HashSet<String>,
    /// Tags that exist at the start and after a reset.
    pub tags: Vec<TagSeed>,
    /// What a write to a tag that does not exist gets.
    pub missing_tag: MissingTag,
    /// `GET /customers` and `GET /tags` answer as if no `filter` were given: a broken
    /// server, to test that a client notices customers it did not ask for.
    pub ignore_filter: bool,
    /// GET requests count toward the rate limit too (the sandbox limits only non-GET).
    pub rate_limit_reads: bool,
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
            customers: Universe::All,
            apply_delay: Duration::ZERO,
            never_apply: HashSet::new(),
            tags: Vec::new(),
            missing_tag: MissingTag::Create,
            ignore_filter: false,
            rate_limit_reads: false,
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
        assert_eq!("422".parse(), Ok(MissingTag::Unprocessable));
        assert_eq!("kyc-document".parse(), Ok(TagType::KycDocument));
        assert!("Customer".parse::<TagType>().is_err());
    }

    #[test]
    fn universes() {
        assert_eq!("all".parse(), Ok(Universe::All));
        assert_eq!("3".parse(), Ok(Universe::Numbered(3)));
        assert_eq!(
            "a, b,".parse(),
            Ok(Universe::Listed(["a".to_owned(), "b".to_owned()].into()))
        );
        assert!(",".parse::<Universe>().is_err());
        let three = Universe::Numbered(3);
        let cases = [
            ("cus_00000", true),
            ("cus_00002", true),
            ("cus_00003", false),
            ("cus_0", false),
            ("cus_000001", false),
            ("cus_0000x", false),
            ("other", false),
        ];
        for (id, exists) in cases {
            assert_eq!(three.contains(id), exists, "{id}");
        }
        assert!(Universe::Numbered(200_000).contains("cus_123456"));
        assert!(Universe::All.contains("anything"));
    }

    #[test]
    fn tag_seeds() {
        let seed = |s: &str| s.parse::<TagSeed>();
        assert_eq!(
            seed("VIP"),
            Ok(TagSeed {
                name: "VIP".into(),
                kind: TagType::Customer
            })
        );
        assert_eq!(
            seed("Doc Tag:kyc-document").unwrap().kind,
            TagType::KycDocument
        );
        assert!(seed("x:nope").is_err() && seed(":customer").is_err());
    }
}
