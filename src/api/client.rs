//! One request in, one classified outcome out. The client never sleeps and
//! never retries: deciding when to send again is the runner's job, because
//! only the runner sees every request in flight.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode, redirect};

use super::endpoint::{Endpoint, redacted, same_origin};
use super::problem::Problem;
use super::secret::{CredentialSource, Credentials, Secret};
use crate::exit::Fatal;

/// A response body is read up to this size; a server that streams without
/// end cannot eat memory.
pub const MAX_BODY: usize = 64 * 1024;
/// Same-origin 307/308 redirects followed before giving up (a loop).
pub const MAX_REDIRECTS: usize = 5;

/// Tag or untag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST`.
    Tag,
    /// `DELETE`.
    Untag,
}

impl Action {
    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Action::Tag => Method::POST,
            Action::Untag => Method::DELETE,
        }
    }

    /// The name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Action::Tag => "tag",
            Action::Untag => "untag",
        }
    }
}

/// What a request came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// 204: the (un)tagging is scheduled.
    Confirmed,
    /// 429.
    RateLimited(Problem),
    /// 5xx or 408: worth another try.
    ServerError(Problem),
    /// 401 or 403: the credentials or the permission.
    Unauthorized(Problem),
    /// 422.
    Invalid(Problem),
    /// Any other answer, not worth repeating.
    Refused(Problem),
    /// A redirect this client refused to follow: any but a 307/308 to the
    /// same origin, or too many.
    Redirect {
        /// The redirect's status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// No usable response: timeout, refused or dropped connection.
    Network(Problem),
}

impl Outcome {
    /// The problem details the outcome carries, if any.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Outcome::RateLimited(p)
            | Outcome::ServerError(p)
            | Outcome::Unauthorized(p)
            | Outcome::Invalid(p)
            | Outcome::Refused(p)
            | Outcome::Network(p) => Some(p),
            Outcome::Confirmed | Outcome::Redirect { .. } => None,
        }
    }

    /// Whether the server may have acted on the request. A refusal (429,
    /// 401/403, 422) did nothing, so IDs left behind after one are unsent,
    /// not failed.
    pub fn may_have_applied(&self) -> bool {
        !matches!(
            self,
            Outcome::RateLimited(_) | Outcome::Unauthorized(_) | Outcome::Invalid(_)
        )
    }
}

/// The rate-limit headers every response may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
}

/// When the server says to come back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(f64),
    /// `Retry-After: <HTTP date>`.
    Date(SystemTime),
}

/// What the response said about time: raw, so the pacing maths can be
/// tested without a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeHints {
    /// `X-RateLimit-Retry-After`: a Unix timestamp, not a duration.
    pub reset_at: Option<i64>,
    /// The standard `Retry-After`.
    pub retry_after: Option<RetryAfter>,
    /// The server's `Date`, to correct for clock skew.
    pub server_date: Option<SystemTime>,
    /// This machine's clock when the response arrived.
    pub received: SystemTime,
}

/// A classified response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The outcome.
    pub outcome: Outcome,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Rate-limit headers.
    pub rate: RateHeaders,
    /// Timing headers.
    pub hints: TimeHints,
    /// How long the request took.
    pub elapsed: Duration,
    /// Why no response arrived, when none did.
    pub failure: Option<NetFailure>,
}

impl Reply {
    /// Whether the server may have acted on the request: not after a
    /// refusal, nor when the request never left (no connection).
    pub fn may_have_applied(&self) -> bool {
        self.outcome.may_have_applied() && !self.failure.is_some_and(NetFailure::before_sending)
    }
}

/// Why a request got no response: the difference between an API that was
/// never reached (a wrong URL, a dead host) and one that had a bad moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFailure {
    /// The connection was refused or the host unreachable.
    Connect,
    /// The host name did not resolve.
    Dns,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// The server's TLS certificate was refused: never worth a retry.
    Certificate,
    /// Any other TLS failure before a response (plain HTTP on an https://
    /// URL, a protocol mismatch).
    Tls,
    /// Connected, then no complete response: a timeout, a dropped
    /// connection. The request may have been acted on.
    AfterConnect,
}

impl NetFailure {
    /// Whether the request never reached the server: no connection, so no
    /// ID in it was acted on.
    pub fn before_sending(self) -> bool {
        self != NetFailure::AfterConnect
    }
}

/// The HTTP client of one job: one connection pool, one endpoint, one method.
pub struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    method: Method,
    auth: Option<(HeaderName, HeaderValue)>,
    /// The credential itself, to scrub from anything the server sends back:
    /// a server or proxy that echoes the key must not make us print it.
    secret: Option<Secret>,
    /// The credentials and where they came from, for hints.
    credential: Option<(CredentialSource, Credentials)>,
    timeout: Duration,
}

impl Client {
    /// Builds the client. `credentials` is `None` only for a dry run.
    pub fn new(
        endpoint: Endpoint,
        action: Action,
        credentials: Option<&Credentials>,
        timeout: Duration,
        concurrency: usize,
    ) -> Result<Client, Fatal> {
        // rustls with ring: no OpenSSL, no C toolchain beyond cc. Installing
        // twice (tests, the demo) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let origin = endpoint.url().clone();
        // Only 307 and 308 keep the method and the body; following a 301,
        // 302 or 303 would turn the POST into a bodiless GET whose 204 could
        // pass for a confirmation.
        let policy = redirect::Policy::custom(move |attempt| {
            let keeps_method = matches!(attempt.status().as_u16(), 307 | 308);
            if !keeps_method
                || attempt.previous().len() > MAX_REDIRECTS
                || !same_origin(attempt.url(), &origin)
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("tagctl/", env!("CARGO_PKG_VERSION")))
            .redirect(policy)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true);
        if endpoint.is_loopback() {
            // A proxy configured for the internet must not swallow loopback.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| Fatal::usage(format!("cannot set up HTTPS: {e}")))?;
        let auth = credentials.map(Credentials::header).transpose()?;
        Ok(Client {
            http,
            endpoint,
            method: action.method(),
            auth,
            secret: credentials.map(|c| match c {
                Credentials::ApiKey(s) | Credentials::Jwt(s) => s.clone(),
            }),
            credential: None,
            timeout,
        })
    }

    /// Says where the credentials came from, so that a 401/403 can name it.
    pub fn with_credential_source(
        mut self,
        credentials: &Credentials,
        source: CredentialSource,
    ) -> Client {
        self.credential = Some((source, credentials.clone()));
        self
    }

    /// The credentials and their source, when known.
    pub fn credential(&self) -> Option<(CredentialSource, &Credentials)> {
        self.credential.as_ref().map(|(s, c)| (*s, c))
    }

    /// The HTTP method, for messages.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn scrub(&self, text: String) -> String {
        match &self.secret {
            Some(secret) if text.contains(secret.expose()) => text.replace(secret.expose(), "***"),
            _ => text,
        }
    }

    /// Sends one batch body and classifies the answer.
    pub async fn send(&self, body: Bytes) -> Reply {
        let start = Instant::now();
        let mut request = self
            .http
            .request(self.method.clone(), self.endpoint.url().clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/problem+json",
            )
            .body(body);
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        let result = request.send().await;
        let received = SystemTime::now();
        let mut reply = Reply {
            outcome: Outcome::Confirmed,
            status: None,
            rate: RateHeaders::default(),
            hints: TimeHints {
                reset_at: None,
                retry_after: None,
                server_date: None,
                received,
            },
            elapsed: Duration::ZERO,
            failure: None,
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                reply.outcome = network_outcome(&e);
                if matches!(reply.outcome, Outcome::Network(_)) {
                    reply.failure = Some(net_failure(&e));
                }
                reply.elapsed = start.elapsed();
                return reply;
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        reply.status = Some(status.as_u16());
        reply.rate = rate_headers(&headers);
        reply.hints = time_hints(&headers, received);
        reply.outcome = if status == StatusCode::NO_CONTENT {
            Outcome::Confirmed
        } else if status.is_redirection() {
            Outcome::Redirect {
                status: status.as_u16(),
                location: self.scrub(location(&headers, response.url())),
            }
        } else {
            let body = read_capped(&mut response).await;
            let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let mut problem = Problem::from_response(status.as_u16(), content_type, &body);
            if let Some(secret) = &self.secret {
                problem.redact(secret.expose());
            }
            match status.as_u16() {
                429 => Outcome::RateLimited(problem),
                408 | 500..=599 => Outcome::ServerError(problem),
                401 | 403 => Outcome::Unauthorized(problem),
                422 => Outcome::Invalid(problem),
                _ => Outcome::Refused(problem),
            }
        };
        reply.elapsed = start.elapsed();
        reply
    }
}

async fn read_capped(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    body
}

fn network_outcome(e: &reqwest::Error) -> Outcome {
    if e.is_redirect() {
        return Outcome::Redirect {
            status: 0,
            location: e.url().map(redacted).unwrap_or_default(),
        };
    }
    let title = if e.is_timeout() {
        "Request timed out"
    } else if e.is_connect() {
        "Cannot connect"
    } else {
        "Connection error"
    };
    Outcome::Network(Problem::network(title, error_chain(e)))
}

/// Classifies a request that got no response, from the error's causes.
fn net_failure(e: &reqwest::Error) -> NetFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut dns = false;
    while let Some(err) = source {
        if let Some(tls) = find_rustls(err) {
            return match tls {
                rustls::Error::InvalidCertificate(_) => NetFailure::Certificate,
                _ => NetFailure::Tls,
            };
        }
        dns |= err.to_string().to_ascii_lowercase().contains("dns error");
        source = err.source();
    }
    if e.is_connect() {
        if e.is_timeout() {
            NetFailure::ConnectTimeout
        } else if dns {
            NetFailure::Dns
        } else {
            NetFailure::Connect
        }
    } else {
        NetFailure::AfterConnect
    }
}

/// A rustls error in `err`: rustls errors come wrapped in io::Errors (two
/// deep, from the TLS stream and the connector), whose own `source` skips
/// the wrapped error, so look inside each.
fn find_rustls<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = err.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls(inner)
}

/// The causes of an error, without the URL reqwest puts in its own message.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(
            if e.is_timeout() {
                "no response in time"
            } else {
                "the connection failed"
            }
            .to_string(),
        );
    }
    parts.join(": ")
}

fn location(headers: &HeaderMap, base: &url::Url) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| base.join(l).ok())
        .map(|u| redacted(&u))
        .unwrap_or_else(|| "(no Location header)".to_string())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn rate_headers(headers: &HeaderMap) -> RateHeaders {
    RateHeaders {
        limit: header_u64(headers, "x-ratelimit-limit"),
        remaining: header_u64(headers, "x-ratelimit-remaining"),
    }
}

fn time_hints(headers: &HeaderMap, received: SystemTime) -> TimeHints {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    TimeHints {
        reset_at: text("x-ratelimit-retry-after").and_then(|v| {
            // Some servers add a fraction; the contract says whole seconds.
            v.parse::<i64>().ok().or_else(|| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.ceil() as i64)
            })
        }),
        retry_after: text("retry-after").and_then(parse_retry_after),
        server_date: text("date").and_then(|d| httpdate::parse_http_date(d).ok()),
        received,
    }
}

/// `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 10.2.3).
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(RetryAfter::Seconds(secs));
    }
    httpdate::parse_http_date(value).ok().map(RetryAfter::Date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(parse_retry_after("3"), Some(RetryAfter::Seconds(3.0)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(RetryAfter::Date(
                SystemTime::UNIX_EPOCH + Duration::from_secs(784111777)
            ))
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn rate_and_time_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", "10".parse().unwrap());
        h.insert("x-ratelimit-remaining", " 3".parse().unwrap());
        h.insert("x-ratelimit-retry-after", "1713187500".parse().unwrap());
        h.insert("date", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(
            rate_headers(&h),
            RateHeaders {
                limit: Some(10),
                remaining: Some(3)
            }
        );
        let t = time_hints(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(t.reset_at, Some(1713187500));
        assert!(t.server_date.is_some());
    }
}
