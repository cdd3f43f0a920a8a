//! Turns one HTTP request into a response: the tag/untag API, its faults, and the admin API.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use tokio::sync::Notify;

use super::body::MockBody;
use super::clock::{
    RateDecision, http_date_of_unix, secs_after, secs_until, skewed, skewed_unix_secs, unix_ms,
    window_end_secs, window_index,
};
use super::config::{MissingTag, MockConfig, RetryAfterStyle, TagType, Universe};
use super::directory::{CUSTOMER_CREATED, Directory, TagIndex, TagRecord, is_customer, tag_key};
use super::faults::Fault;
use super::query::{Collection, Filter, parse_collection, parse_query};
use super::routes::{AdminRoute, ApiRoute, ApiTarget, parse_admin_path, parse_route};
use super::state::{Action, Operation, RecordedRequest, State, lock};
use super::validate::{
    InvalidField, TAG_PATTERN, check_count, customer_id_error, invalid_ids, is_valid_tag,
    parse_body,
};

/// Largest request body read; far above 1000 IDs of 50 characters, so a client that sends
/// too many IDs gets the schema's 422 rather than this limit's 413.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `X-RateLimit-Limit`.
const RATE_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
const RATE_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Retry-After` (a Unix timestamp, per Rebilly).
const RATE_RETRY_AFTER: HeaderName = HeaderName::from_static("x-ratelimit-retry-after");
/// `Pagination-Total`.
const PAGINATION_TOTAL: HeaderName = HeaderName::from_static("pagination-total");
/// `Pagination-Limit`.
const PAGINATION_LIMIT: HeaderName = HeaderName::from_static("pagination-limit");
/// `Pagination-Offset`.
const PAGINATION_OFFSET: HeaderName = HeaderName::from_static("pagination-offset");
/// `REB-APIKEY`.
const API_KEY: HeaderName = HeaderName::from_static("reb-apikey");

/// The 502 page of the HTML fault, shaped like a common reverse proxy's.
const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What one connection's handlers share.
#[derive(Clone)]
pub(crate) struct ConnContext {
    /// The server state.
    pub state: Arc<Mutex<State>>,
    /// Raised by the drop fault: the connection task then drops the connection unanswered.
    pub drop_now: Arc<Notify>,
}

/// The entry point hyper calls for every request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    ctx: ConnContext,
) -> Result<Response<MockBody>, Infallible> {
    let path = req.uri().path();
    if let Some(route) = parse_admin_path(path) {
        return Ok(admin(req, route, &ctx.state).await);
    }
    if let Some(route) = parse_route(path) {
        if let Some(operation) = operation_of(&route, req.method()) {
            return Ok(api(req, route, operation, &ctx).await);
        }
        let config = Arc::clone(&lock(&ctx.state).config);
        let allow = route.allow();
        let mut response = problem(
            &config,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            &format!("This endpoint accepts {allow}."),
            None,
            None,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        return Ok(dated(response, &config));
    }
    let config = Arc::clone(&lock(&ctx.state).config);
    let detail = "No such endpoint; expected …/tags/{tag}/customers[/{customerId}], …/customers, \
                  …/tags[/{tag}] or /__mock/….";
    let response = problem(
        &config,
        StatusCode::NOT_FOUND,
        "Not Found",
        detail,
        None,
        None,
    );
    Ok(dated(response, &config))
}

/// The operation a method calls on a route, if it has one.
fn operation_of(route: &ApiRoute, method: &Method) -> Option<Operation> {
    Some(match (route, method) {
        (ApiRoute::Assign(_), &Method::POST) => Operation::Tag,
        (ApiRoute::Assign(_), &Method::DELETE) => Operation::Untag,
        (ApiRoute::Customers { .. }, &Method::GET) => Operation::ListCustomers,
        (ApiRoute::Tags { .. }, &Method::GET) => Operation::ListTags,
        (ApiRoute::Tags { .. }, &Method::POST) => Operation::CreateTag,
        (ApiRoute::Tag { .. }, &Method::GET) => Operation::GetTag,
        _ => return None,
    })
}

/// An RFC 7807 problem-details body.
#[derive(Serialize)]
struct Problem<'a> {
    /// Problem type URI.
    #[serde(rename = "type")]
    kind: &'a str,
    /// Summary of the problem type.
    title: &'a str,
    /// HTTP status.
    status: u16,
    /// This occurrence, explained.
    detail: &'a str,
    /// This occurrence's identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
    /// Invalid fields of a 422.
    #[serde(rename = "invalidFields", skip_serializing_if = "Option::is_none")]
    invalid_fields: Option<&'a [InvalidField]>,
}

/// A problem-details response in the configured media type.
fn problem(
    config: &MockConfig,
    status: StatusCode,
    title: &str,
    detail: &str,
    instance: Option<&str>,
    invalid_fields: Option<&[InvalidField]>,
) -> Response<MockBody> {
    let body = Problem {
        kind: "about:blank",
        title,
        status: status.as_u16(),
        detail,
        instance,
        invalid_fields,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = with_status(status, MockBody::full(json));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(config.problem_content_type.as_str()),
    );
    response
}

/// A response with just a status and body.
fn with_status(status: StatusCode, body: MockBody) -> Response<MockBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// A JSON (non-problem) response for the admin API.
fn json_response(value: &impl Serialize) -> Response<MockBody> {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut response = with_status(StatusCode::OK, MockBody::full(json));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Adds the `Date` header as the (possibly skewed) server clock reads now. hyper's own
/// `Date` is switched off in the server, so this is the only one the client sees.
fn dated(mut response: Response<MockBody>, config: &MockConfig) -> Response<MockBody> {
    let now = skewed(SystemTime::now(), config.clock_offset_secs);
    if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

/// A header as text (lossy), if present.
fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive), if any.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = header_text(headers, header::AUTHORIZATION)?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Why the credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthError {
    /// Neither header given: 401.
    Missing,
    /// Not the configured key or token: 401.
    Invalid,
    /// Listed in `forbidden`: 403.
    Forbidden,
}

/// Applies the configured auth rules; `forbidden` is checked first so that a key can be
/// "valid but not allowed".
fn check_auth(
    config: &MockConfig,
    api_key: Option<&str>,
    bearer: Option<&str>,
) -> Result<(), AuthError> {
    let api_key = api_key.filter(|k| !k.is_empty());
    let bearer = bearer.filter(|t| !t.is_empty());
    if api_key.is_none() && bearer.is_none() {
        return Err(AuthError::Missing);
    }
    if [api_key, bearer]
        .into_iter()
        .flatten()
        .any(|credential| config.forbidden.contains(credential))
    {
        return Err(AuthError::Forbidden);
    }
    if config.api_key.is_none() && config.jwt.is_none() {
        return Ok(());
    }
    let matches = |configured: &Option<String>, given: Option<&str>| {
        configured.is_some() && configured.as_deref() == given
    };
    if matches(&config.api_key, api_key) || matches(&config.jwt, bearer) {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

/// Adds `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
fn add_rate_headers(response: &mut Response<MockBody>, rate: Option<RateDecision>) {
    if let Some(rate) = rate {
        let headers = response.headers_mut();
        headers.insert(RATE_LIMIT, HeaderValue::from(rate.limit));
        headers.insert(RATE_REMAINING, HeaderValue::from(rate.remaining));
    }
}

/// Adds the configured "come back at" header for a reset at true second `reset_secs`.
fn add_retry_hint(
    response: &mut Response<MockBody>,
    config: &MockConfig,
    reset_secs: u64,
    now_ms: u128,
) {
    let shown = skewed_unix_secs(reset_secs, config.clock_offset_secs);
    let (name, value) = match config.retry_after_style {
        RetryAfterStyle::RateLimitTimestamp => (RATE_RETRY_AFTER, HeaderValue::from(shown)),
        RetryAfterStyle::RetryAfterSeconds => (
            header::RETRY_AFTER,
            HeaderValue::from(secs_until(reset_secs, now_ms)),
        ),
        RetryAfterStyle::RetryAfterHttpDate => {
            match HeaderValue::from_str(&http_date_of_unix(shown)) {
                Ok(value) => (header::RETRY_AFTER, value),
                Err(_) => return,
            }
        }
        RetryAfterStyle::None => return,
    };
    response.headers_mut().insert(name, value);
}

/// A 429 problem with its reset hint.
fn too_many_requests(
    config: &MockConfig,
    instance: &str,
    rate: Option<RateDecision>,
    reset_secs: u64,
    now_ms: u128,
) -> Response<MockBody> {
    let mut response = problem(
        config,
        StatusCode::TOO_MANY_REQUESTS,
        "Rate Limit Exceeded",
        "A request cannot be executed because the user has sent too many requests within a certain period of time",
        Some(instance),
        None,
    );
    add_rate_headers(&mut response, rate);
    add_retry_hint(&mut response, config, reset_secs, now_ms);
    response
}

/// The response of a fault other than `Drop` and `Slow`.
fn fault_response(fault: &Fault, config: &MockConfig, instance: &str) -> Response<MockBody> {
    match fault {
        Fault::Status500 => problem(
            config,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "An injected fault: the server failed to process the request.",
            Some(instance),
            None,
        ),
        Fault::Html502 => {
            let mut response = with_status(StatusCode::BAD_GATEWAY, MockBody::full(HTML_502));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Fault::Empty503 => with_status(StatusCode::SERVICE_UNAVAILABLE, MockBody::empty()),
        Fault::TooManyRequests { reset_in } => {
            let now_ms = unix_ms(SystemTime::now());
            let window_secs = config.rate_limit.map_or(1, |limit| limit.window_secs);
            let reset_secs = match reset_in {
                Some(after) => secs_after(now_ms, *after),
                None => window_end_secs(window_index(now_ms, window_secs), window_secs),
            };
            let rate = config.rate_limit.map(|limit| RateDecision {
                allowed: false,
                limit: limit.limit,
                remaining: 0,
                reset_secs,
            });
            too_many_requests(config, instance, rate, reset_secs, now_ms)
        }
        Fault::Redirect { status, location } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut response = with_status(status, MockBody::empty());
            if let Ok(value) = HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Fault::HugeBody => {
            let mut response = with_status(StatusCode::INTERNAL_SERVER_ERROR, MockBody::huge());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(config.problem_content_type.as_str()),
            );
            response
        }
        Fault::RawProblem {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = with_status(status, MockBody::full(body.clone()));
            if let Ok(value) = HeaderValue::from_str(content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        // Handled by the caller; answered normally if they ever get here.
        Fault::Drop | Fault::Slow(_) => with_status(StatusCode::NO_CONTENT, MockBody::empty()),
    }
}

/// The characters the log never shows as they are, beyond ASCII's controls: DEL and C1
/// controls, bidirectional controls, zero-width and other invisible characters, line and
/// paragraph separators. Kept apart from tagctl's list on purpose: the mock is an
/// independent check, and shares no code with the client it tests.
const HIDDEN: &[(char, char)] = &[
    ('\u{7f}', '\u{9f}'),
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{2028}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e007f}'),
];

/// Whether the log must escape `c`.
fn hidden(c: char) -> bool {
    c < ' ' || HIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// `text` with control, bidirectional and invisible characters escaped, so a hostile path
/// or fault body can neither drive nor disguise the terminal the log is shown on.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints the one-line log of a finished request, when asked to.
fn log_request(config: &MockConfig, record: &RecordedRequest) {
    if !config.log_requests {
        return;
    }
    let outcome = match record.status {
        0 => "dropped".to_owned(),
        status => status.to_string(),
    };
    let fault = record
        .fault
        .as_deref()
        .map(|f| format!(" fault={}", printable(f)))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {} ids={} -> {outcome}{fault}",
        printable(&record.method),
        printable(&record.path),
        record.ids.len(),
    );
}

/// Stores the finished request and logs it; `accepted` is a write answered 204 and
/// the tag it names.
fn finish(
    state: &Mutex<State>,
    config: &MockConfig,
    record: RecordedRequest,
    accepted: Option<(Action, String)>,
) {
    log_request(config, &record);
    let mut state = lock(state);
    match &accepted {
        Some((action, tag)) => state.complete(record, Some((*action, tag.as_str()))),
        None => state.complete(record, None),
    }
}

/// Handles an API request, in this order: number it and take its fault (before
/// anything else, so fault tests are deterministic), read its input, wait the configured
/// latency, apply the fault, then auth and rate limit, and finally the operation itself.
async fn api(
    req: Request<Incoming>,
    route: ApiRoute,
    operation: Operation,
    ctx: &ConnContext,
) -> Response<MockBody> {
    let received_at = SystemTime::now();
    let arrival = lock(&ctx.state).arrive();
    let config = arrival.config;
    let instance = format!("urn:tagctl-mock:request:{}", arrival.id);
    let (parts, body) = req.into_parts();
    let mut record = record_of(arrival.id, operation, &route, &parts, received_at);
    record.fault = arrival.fault.as_ref().map(ToString::to_string);
    let query = parse_query(parts.uri.query());
    let input = match read_input(operation, body, &mut record, &query).await {
        Ok(input) => input,
        Err(too_large) => {
            let response = unreadable_body(&config, too_large, &instance);
            record.status = response.status().as_u16();
            finish(&ctx.state, &config, record, None);
            return dated(response, &config);
        }
    };

    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }

    match &arrival.fault {
        None => {}
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::Drop) => {
            finish(&ctx.state, &config, record, None);
            ctx.drop_now.notify_one();
            // The connection task drops this future with the connection. Under HTTP/2 the
            // stream may outlive it briefly; it ends when its connection is gone.
            return std::future::pending().await;
        }
        Some(fault) => {
            let response = fault_response(fault, &config, &instance);
            record.status = response.status().as_u16();
            finish(&ctx.state, &config, record, None);
            return dated(response, &config);
        }
    }

    let (rate, refusal) = admit(&config, &ctx.state, &record, &instance);
    let mut response = match refusal {
        Some(refused) => refused,
        None => {
            let request = Operate {
                config: &config,
                state: &ctx.state,
                route: &route,
                record: &record,
                query: &query,
                parts: &parts,
                instance: &instance,
            };
            request.answer(input)
        }
    };
    add_rate_headers(&mut response, rate);
    record.status = response.status().as_u16();
    let accepted = match (record.status, operation) {
        (204, Operation::Tag) => Some(Action::Tag),
        (204, Operation::Untag) => Some(Action::Untag),
        _ => None,
    };
    let tag = record.tag.clone();
    finish(&ctx.state, &config, record, accepted.map(|a| (a, tag)));
    dated(response, &config)
}

/// A 413 for a body over the size limit, else a 400 for one that broke off.
fn unreadable_body(config: &MockConfig, too_large: bool, instance: &str) -> Response<MockBody> {
    let (status, detail) = if too_large {
        let detail = format!("The request body exceeds {MAX_BODY_BYTES} bytes.");
        (StatusCode::PAYLOAD_TOO_LARGE, detail)
    } else {
        let detail = "The request body could not be read.".to_owned();
        (StatusCode::BAD_REQUEST, detail)
    };
    let title = status.canonical_reason().unwrap_or("Error");
    problem(config, status, title, &detail, Some(instance), None)
}

/// The log entry of an arriving request, before its input is read.
fn record_of(
    id: u64,
    operation: Operation,
    route: &ApiRoute,
    parts: &hyper::http::request::Parts,
    received_at: SystemTime,
) -> RecordedRequest {
    let (tag, organization, customer_id) = match route {
        ApiRoute::Assign(target) => (
            target.tag.clone(),
            target.organization.clone(),
            target.customer_id.clone(),
        ),
        ApiRoute::Tag { tag, organization } => (tag.clone(), organization.clone(), None),
        ApiRoute::Customers { organization } | ApiRoute::Tags { organization } => {
            (String::new(), organization.clone(), None)
        }
    };
    RecordedRequest {
        id,
        operation,
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        tag,
        organization,
        customer_id,
        api_key: header_text(&parts.headers, API_KEY),
        bearer: bearer_token(&parts.headers),
        user_agent: header_text(&parts.headers, header::USER_AGENT),
        content_type: header_text(&parts.headers, header::CONTENT_TYPE),
        ids: Vec::new(),
        status: 0,
        fault: None,
        received_at,
        received_unix_ms: unix_ms(received_at),
    }
}

/// What a request brought, once read.
#[derive(Default)]
struct Input {
    /// Why a write's body is not `{"customerIds": [...]}`.
    body_error: Option<String>,
    /// A tag creation's body.
    body: Bytes,
}

/// Reads a request's input into its record: a write's IDs, a tag creation's
/// body (and name), a read's `id` filter. `Err` as [`read_body`] says.
async fn read_input(
    operation: Operation,
    body: Incoming,
    record: &mut RecordedRequest,
    query: &[(String, String)],
) -> Result<Input, bool> {
    let mut input = Input::default();
    match operation {
        Operation::Tag | Operation::Untag if record.customer_id.is_some() => {
            record.ids.extend(record.customer_id.clone());
        }
        Operation::CreateTag => {
            let bytes = read_body(body).await?;
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&bytes)
                && let Some(name) = map.get("name").and_then(|n| n.as_str())
            {
                record.tag = name.to_owned();
            }
            input.body = bytes;
        }
        Operation::Tag | Operation::Untag => match parse_body(&read_body(body).await?) {
            Ok(ids) => record.ids = ids,
            Err(message) => input.body_error = Some(message),
        },
        Operation::ListCustomers => {
            if let Ok(collection) = parse_collection(query, CUSTOMER_FILTERS) {
                record.ids = collection
                    .filter
                    .values("id")
                    .map(<[String]>::to_vec)
                    .unwrap_or_default();
            }
        }
        Operation::ListTags | Operation::GetTag => {}
    }
    Ok(input)
}

/// An authorised request within the limit, ready to be answered.
struct Operate<'a> {
    config: &'a MockConfig,
    state: &'a Mutex<State>,
    route: &'a ApiRoute,
    record: &'a RecordedRequest,
    query: &'a [(String, String)],
    parts: &'a hyper::http::request::Parts,
    instance: &'a str,
}

impl Operate<'_> {
    /// The operation's answer.
    fn answer(&self, input: Input) -> Response<MockBody> {
        let (config, state) = (self.config, self.state);
        match (self.route, self.record.operation) {
            (ApiRoute::Assign(target), _) => validate(
                config,
                state,
                target,
                self.record,
                input.body_error,
                self.instance,
            ),
            (_, Operation::ListCustomers) => list_customers(config, state, self.query),
            (_, Operation::ListTags) => list_tags(config, state, self.query),
            (_, Operation::GetTag) => get_tag(config, state, &self.record.tag),
            _ => create_tag(config, state, &input.body, self.parts, self.instance),
        }
    }
}

/// Reads the whole request body; `Err(true)` when it is over the size limit, `Err(false)`
/// when the client stopped sending.
async fn read_body(body: Incoming) -> Result<Bytes, bool> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(error.downcast_ref::<LengthLimitError>().is_some()),
    }
}

/// Auth and rate limit of an unfaulted request: the rate-limit state to report, and the
/// refusal if there is one. GETs are counted only with `rate_limit_reads` (the sandbox limits non-GET
/// requests only), and then report the budget like writes do.
fn admit(
    config: &MockConfig,
    state: &Mutex<State>,
    record: &RecordedRequest,
    instance: &str,
) -> (Option<RateDecision>, Option<Response<MockBody>>) {
    let now_ms = unix_ms(SystemTime::now());
    let auth = check_auth(config, record.api_key.as_deref(), record.bearer.as_deref());
    let limited = record.operation.is_write() || config.rate_limit_reads;
    // Refused credentials do not consume the budget but still report it.
    let rate = config.rate_limit.filter(|_| limited).map(|limit| {
        let mut state = lock(state);
        if auth.is_ok() {
            state.window.take(limit, now_ms)
        } else {
            state.window.peek(limit, now_ms)
        }
    });
    let refused = |status, title, detail| {
        (
            rate,
            Some(problem(config, status, title, detail, Some(instance), None)),
        )
    };
    match auth {
        Err(AuthError::Missing) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "No credentials: send REB-APIKEY or Authorization: Bearer <JWT>.",
            );
        }
        Err(AuthError::Invalid) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Invalid credentials used.",
            );
        }
        Err(AuthError::Forbidden) => {
            let detail = match record.operation {
                Operation::Tag | Operation::Untag => "These credentials may not tag customers.",
                Operation::CreateTag => "These credentials may not create tags.",
                _ => "These credentials may not read this resource.",
            };
            return refused(StatusCode::FORBIDDEN, "Forbidden", detail);
        }
        Ok(()) => {}
    }
    let limited = rate
        .filter(|r| !r.allowed)
        .map(|decision| too_many_requests(config, instance, rate, decision.reset_secs, now_ms));
    (rate, limited)
}

/// The schema checks, the tag and the reject list of an authorised write within the
/// limit: a 204 when all pass. The tag is checked first (the path), then the body.
fn validate(
    config: &MockConfig,
    state: &Mutex<State>,
    target: &ApiTarget,
    record: &RecordedRequest,
    body_error: Option<String>,
    instance: &str,
) -> Response<MockBody> {
    let unprocessable = |fields: &[InvalidField]| {
        problem(
            config,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation error",
            "The request has invalid fields.",
            Some(instance),
            Some(fields),
        )
    };
    let not_found = |detail: &str| {
        problem(
            config,
            StatusCode::NOT_FOUND,
            "Not Found",
            detail,
            Some(instance),
            None,
        )
    };
    let single = target.customer_id.is_some();

    if !is_valid_tag(&target.tag) {
        // The single-customer endpoint documents no 422: anything wrong is "not found".
        return if single {
            not_found("Tag not found.")
        } else {
            unprocessable(&[InvalidField::new(
                "tag",
                format!("Must match {TAG_PATTERN}"),
            )])
        };
    }
    if let Some(refused) = refuse_tag(config, state, &target.tag, single, instance) {
        return refused;
    }

    if let Some(customer_id) = &target.customer_id {
        if customer_id_error(customer_id).is_some() || config.reject_ids.contains(customer_id) {
            return not_found("Customer not found.");
        }
        return with_status(StatusCode::NO_CONTENT, MockBody::empty());
    }
    if let Some(message) = body_error.or_else(|| check_count(&record.ids).err()) {
        return unprocessable(&[InvalidField::new("customerIds", message)]);
    }
    let invalid = invalid_ids(
        &record.ids,
        |id| config.reject_ids.contains(id),
        config.invalid_fields_style,
    );
    if !invalid.is_empty() {
        return unprocessable(&invalid);
    }
    with_status(StatusCode::NO_CONTENT, MockBody::empty())
}

/// A write's tag that does not exist (and may not be created by it) or is
/// not a customer tag: the refusal. The single-customer endpoint says 404
/// for everything, as it documents no 422.
fn refuse_tag(
    config: &MockConfig,
    state: &Mutex<State>,
    tag: &str,
    single: bool,
    instance: &str,
) -> Option<Response<MockBody>> {
    let kind = {
        let state = lock(state);
        state
            .directory
            .find_tag(tag)
            .map(|t| state.directory.tag(t).kind)
    };
    let field = |message: String| {
        let fields = [InvalidField::new("tag", message)];
        problem(
            config,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation error",
            "The request has invalid fields.",
            Some(instance),
            Some(&fields),
        )
    };
    let not_found = || {
        problem(
            config,
            StatusCode::NOT_FOUND,
            "Not Found",
            "Tag not found.",
            Some(instance),
            None,
        )
    };
    match (kind, config.missing_tag) {
        (Some(TagType::Customer), _) | (None, MissingTag::Create) => None,
        (None, MissingTag::Unprocessable) if !single => Some(field("Tag not found".into())),
        (Some(other), _) if !single => Some(field(format!(
            "The tag is a {other} tag; only customer tags can be assigned to customers"
        ))),
        _ => Some(not_found()),
    }
}

/// The fields `GET /customers` can filter on.
const CUSTOMER_FILTERS: &[&str] = &["id", "tags"];
/// The fields `GET /tags` can filter on.
const TAG_FILTERS: &[&str] = &["id", "name", "type"];
/// The Customer fields the mock knows, in the order it writes them.
const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "email",
    "firstName",
    "lastName",
    "createdTime",
    "updatedTime",
    "tags",
];

/// A 422 for a collection read's bad parameters.
fn bad_parameters(config: &MockConfig, fields: &[InvalidField]) -> Response<MockBody> {
    problem(
        config,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Validation error",
        "The request has invalid parameters.",
        None,
        Some(fields),
    )
}

/// A page of a collection: the JSON array already written, and its `Pagination-*`.
fn page_response(body: String, total: usize, collection: &Collection) -> Response<MockBody> {
    let mut response = with_status(StatusCode::OK, MockBody::full(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(PAGINATION_TOTAL, HeaderValue::from(total));
    headers.insert(PAGINATION_LIMIT, HeaderValue::from(collection.limit));
    headers.insert(PAGINATION_OFFSET, HeaderValue::from(collection.offset));
    response
}

/// `items[offset..offset + limit]`, in the asked direction.
fn paginate<T: Clone>(mut items: Vec<T>, collection: &Collection) -> Vec<T> {
    if collection.descending {
        items.reverse();
    }
    let start = collection.offset.min(items.len());
    let end = (start + collection.limit).min(items.len());
    items[start..end].to_vec()
}

/// The filter as applied: none at all with `ignore_filter` (it was still
/// parsed and checked, as the real API would).
fn applied_filter(config: &MockConfig, filter: &Filter) -> Filter {
    if config.ignore_filter {
        Filter::default()
    } else {
        filter.clone()
    }
}

/// `GET …/customers`: the customers the filter selects (`id:` and `tags:`), one page of
/// them, with only the asked `fields` (and always `id`). Sorted by ID. With
/// `ignore_filter`, the filter is read (and must be valid) but not applied.
fn list_customers(
    config: &MockConfig,
    state: &Mutex<State>,
    query: &[(String, String)],
) -> Response<MockBody> {
    let collection = match parse_collection(query, CUSTOMER_FILTERS) {
        Ok(c) => c,
        Err(fields) => return bad_parameters(config, &fields),
    };
    let filter = applied_filter(config, &collection.filter);
    let mut state = lock(state);
    state.settle();
    let directory = &state.directory;
    let universe = &config.customers;
    // Every clause must hold (AND); within one, any value (OR). Tag names in any case.
    let clauses: Vec<(bool, Vec<&str>, Vec<TagIndex>)> = filter
        .clauses
        .iter()
        .map(|c| {
            let is_id = c.field == "id";
            let ids = c.values.iter().map(String::as_str).collect();
            let tags = if is_id {
                Vec::new()
            } else {
                c.values
                    .iter()
                    .filter_map(|n| directory.find_tag(n))
                    .collect()
            };
            (is_id, ids, tags)
        })
        .collect();
    let selected = |id: &str| {
        clauses.iter().all(|(is_id, ids, tags)| {
            if *is_id {
                ids.contains(&id)
            } else {
                directory
                    .tags_of(universe, id)
                    .is_some_and(|have| have.iter().any(|t| tags.contains(t)))
            }
        })
    };
    let (total, page) = select_customers(directory, universe, &filter, &collection, selected);
    let body = render_customers(directory, universe, &page, collection.fields.as_deref());
    drop(state);
    page_response(body, total, &collection)
}

/// The customers a read selects, and one page of them: by the `id` clause's
/// values when there is one, else by the customers carrying a `tags` value,
/// else the whole universe; `selected` applies every clause.
fn select_customers(
    directory: &Directory,
    universe: &Universe,
    filter: &Filter,
    collection: &Collection,
    selected: impl Fn(&str) -> bool,
) -> (usize, Vec<String>) {
    let wanted_tags = filter.values("tags");
    if let Some(ids) = filter.values("id") {
        let mut found: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| is_customer(universe, id) && selected(id))
            .collect();
        found.sort_unstable();
        found.dedup();
        (found.len(), owned(paginate(found, collection)))
    } else if wanted_tags.is_some() {
        let found: Vec<&str> = directory
            .known(universe)
            .into_iter()
            .filter(|id| selected(id))
            .collect();
        (found.len(), owned(paginate(found, collection)))
    } else {
        match universe {
            Universe::Numbered(n) => {
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                let start = collection.offset.min(n);
                let end = (start + collection.limit).min(n);
                let page = (start..end)
                    .map(|i| {
                        let i = if collection.descending { n - 1 - i } else { i };
                        Universe::numbered_id(i as u64)
                    })
                    .collect();
                (n, page)
            }
            Universe::Listed(ids) => {
                let found: Vec<&str> = ids
                    .iter()
                    .map(String::as_str)
                    .filter(|id| is_customer(universe, id))
                    .collect();
                (found.len(), owned(paginate(found, collection)))
            }
            Universe::All => {
                let found = directory.known(universe);
                (found.len(), owned(paginate(found, collection)))
            }
        }
    }
}

/// The JSON array of `page`, each customer with only the `fields` asked
/// (all when `None`) and always its `id`.
fn render_customers(
    directory: &Directory,
    universe: &Universe,
    page: &[String],
    fields: Option<&[String]>,
) -> String {
    let wanted = |field: &str| {
        field == "id" || fields.is_none_or(|fields| fields.iter().any(|f| f == field))
    };
    let mut body = String::with_capacity(page.len() * 96 + 2);
    body.push('[');
    for (i, id) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push('{');
        let mut first = true;
        for &field in CUSTOMER_FIELDS.iter().filter(|f| wanted(f)) {
            if !std::mem::take(&mut first) {
                body.push(',');
            }
            body.push('"');
            body.push_str(field);
            body.push_str("\":");
            match field {
                "id" => body.push_str(&json_string(id)),
                "createdTime" | "updatedTime" => body.push_str(&json_string(CUSTOMER_CREATED)),
                "tags" => {
                    body.push('[');
                    let tags = directory.tags_of(universe, id).unwrap_or_default();
                    for (j, &t) in tags.iter().enumerate() {
                        if j > 0 {
                            body.push(',');
                        }
                        body.push_str(&directory.tag(t).json);
                    }
                    body.push(']');
                }
                _ => body.push_str("null"),
            }
        }
        body.push('}');
    }
    body.push(']');
    body
}

/// Borrowed IDs made owned, so the page outlives the lock.
fn owned(ids: Vec<&str>) -> Vec<String> {
    ids.into_iter().map(str::to_owned).collect()
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// `GET …/tags`: the tags, in creation order, filtered by `id:`, `name:` (any case) or
/// `type:`.
fn list_tags(
    config: &MockConfig,
    state: &Mutex<State>,
    query: &[(String, String)],
) -> Response<MockBody> {
    let collection = match parse_collection(query, TAG_FILTERS) {
        Ok(c) => c,
        Err(fields) => return bad_parameters(config, &fields),
    };
    let filter = applied_filter(config, &collection.filter);
    let state = lock(state);
    let matches = |tag: &&TagRecord| {
        filter.clauses.iter().all(|clause| {
            clause.values.iter().any(|v| match clause.field.as_str() {
                "id" => tag.id == *v,
                "name" => tag_key(&tag.name) == tag_key(v),
                _ => tag.kind.as_str() == v,
            })
        })
    };
    let found: Vec<&TagRecord> = state.directory.tags().iter().filter(matches).collect();
    let total = found.len();
    let page = paginate(found, &collection);
    let body = format!(
        "[{}]",
        page.iter()
            .map(|t| t.json.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    drop(state);
    page_response(body, total, &collection)
}

/// A 200 with a tag's JSON.
fn tag_response(status: StatusCode, tag: &TagRecord) -> Response<MockBody> {
    let mut response = with_status(status, MockBody::full(tag.json.clone()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET …/tags/{tag}`: the tag (any case), or 404.
fn get_tag(config: &MockConfig, state: &Mutex<State>, name: &str) -> Response<MockBody> {
    let state = lock(state);
    match state.directory.find_tag(name) {
        Some(t) => tag_response(StatusCode::OK, state.directory.tag(t)),
        None => problem(
            config,
            StatusCode::NOT_FOUND,
            "Not Found",
            "Tag not found.",
            None,
            None,
        ),
    }
}

/// The most characters of a tag name (`maxLength`).
pub(crate) const MAX_TAG_NAME: usize = 255;

/// Reads a tag creation's body (the Tag schema: `name` and `type` required): the name
/// and type, or every field that is wrong.
pub(crate) fn parse_new_tag(body: &[u8]) -> Result<(String, TagType), Vec<InvalidField>> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
        return Err(vec![InvalidField::new(
            "body",
            "Expected a JSON object {\"name\": …, \"type\": …}",
        )]);
    };
    let mut errors = Vec::new();
    let name = match map.get("name") {
        Some(serde_json::Value::String(name)) if name.chars().count() > MAX_TAG_NAME => {
            errors.push(InvalidField::new(
                "name",
                format!("Must be at most {MAX_TAG_NAME} characters"),
            ));
            None
        }
        Some(serde_json::Value::String(name)) if !is_valid_tag(name) => {
            errors.push(InvalidField::new(
                "name",
                format!("Must match {TAG_PATTERN}"),
            ));
            None
        }
        Some(serde_json::Value::String(name)) => Some(name.clone()),
        Some(_) => {
            errors.push(InvalidField::new("name", "Must be a string"));
            None
        }
        None => {
            errors.push(InvalidField::new("name", "This value is required"));
            None
        }
    };
    let kind = match map.get("type") {
        Some(serde_json::Value::String(kind)) => match kind.parse::<TagType>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                errors.push(InvalidField::new(
                    "type",
                    "Must be one of customer, kyc-document, aml-check",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(InvalidField::new("type", "Must be a string"));
            None
        }
        None => {
            errors.push(InvalidField::new("type", "This value is required"));
            None
        }
    };
    match (name, kind) {
        (Some(name), Some(kind)) if errors.is_empty() => Ok((name, kind)),
        _ => Err(errors),
    }
}

/// Every byte but RFC 3986's unreserved ones, for the `Location` of a new tag.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `POST …/tags`: 201 with the tag and its `Location`, 409 when the name (in any case)
/// is taken, 422 for a bad body.
fn create_tag(
    config: &MockConfig,
    state: &Mutex<State>,
    body: &[u8],
    parts: &hyper::http::request::Parts,
    instance: &str,
) -> Response<MockBody> {
    let (name, kind) = match parse_new_tag(body) {
        Ok(tag) => tag,
        Err(fields) => {
            return problem(
                config,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Validation error",
                "The tag has invalid fields.",
                Some(instance),
                Some(&fields),
            );
        }
    };
    let mut state = lock(state);
    match state.directory.create_tag(&name, kind) {
        Ok(t) => {
            let mut response = tag_response(StatusCode::CREATED, state.directory.tag(t));
            let host = header_text(&parts.headers, header::HOST).unwrap_or_default();
            let location = format!(
                "http://{host}{}/{}",
                parts.uri.path().trim_end_matches('/'),
                percent_encoding::utf8_percent_encode(&name, SEGMENT)
            );
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(_) => problem(
            config,
            StatusCode::CONFLICT,
            "Conflict",
            "A tag with this name already exists.",
            Some(instance),
            None,
        ),
    }
}

/// Handles `/__mock/…`: no auth, no rate limit, no faults, no latency.
async fn admin(
    req: Request<Incoming>,
    route: AdminRoute,
    state: &Mutex<State>,
) -> Response<MockBody> {
    let config = Arc::clone(&lock(state).config);
    let method = req.method().clone();
    let response = match (route, method) {
        (AdminRoute::Requests, Method::GET) => {
            let requests = lock(state).requests_in_order();
            json_response(&requests)
        }
        (AdminRoute::Tag(tag), Method::GET) => {
            let ids = lock(state).tagged(&tag);
            json_response(&ids)
        }
        (AdminRoute::Stats, Method::GET) => {
            let mut state = lock(state);
            state.settle();
            json_response(&serde_json::json!({
                "requests": state.request_count,
                "accepted": state.accepted_count,
                "pendingFaults": state.faults.len(),
                "pendingWrites": state.directory.pending_count(),
            }))
        }
        (AdminRoute::Tags, Method::GET) => json_response(&lock(state).tag_infos()),
        (AdminRoute::Tags, Method::POST) => admin_create_tag(&config, state, req.into_body()).await,
        (AdminRoute::Customers, Method::GET) => json_response(&lock(state).customer_tags()),
        (AdminRoute::Customer(id), Method::GET) => json_response(&lock(state).customer_view(&id)),
        (AdminRoute::Faults, Method::POST) => match read_faults(req.into_body()).await {
            Ok(faults) => {
                let queued = faults.len();
                let mut state = lock(state);
                state.faults.extend(faults);
                json_response(&serde_json::json!({
                    "queued": queued,
                    "pending": state.faults.len(),
                }))
            }
            Err(detail) => problem(
                &config,
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &detail,
                None,
                None,
            ),
        },
        (AdminRoute::Reset, Method::POST) => {
            lock(state).reset();
            with_status(StatusCode::NO_CONTENT, MockBody::empty())
        }
        (AdminRoute::Unknown, _) => problem(
            &config,
            StatusCode::NOT_FOUND,
            "Not Found",
            "Admin endpoints: GET /__mock/requests, GET|POST /__mock/tags, GET /__mock/tags/{tag}, \
             GET /__mock/customers[/{id}], GET /__mock/stats, POST /__mock/faults, POST /__mock/reset.",
            None,
            None,
        ),
        (_, _) => problem(
            &config,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "GET reads (requests, tags, customers, stats); POST changes (tags, faults, reset).",
            None,
            None,
        ),
    };
    dated(response, &config)
}

/// `POST /__mock/tags`: creates a tag without auth; 201, 409, or 400 with
/// the invalid fields.
async fn admin_create_tag(
    config: &MockConfig,
    state: &Mutex<State>,
    body: Incoming,
) -> Response<MockBody> {
    let body = read_body(body).await.unwrap_or_default();
    match parse_new_tag(&body) {
        Ok((name, kind)) => match lock(state).directory.create_tag(&name, kind) {
            Ok(_) => with_status(StatusCode::CREATED, MockBody::empty()),
            Err(_) => problem(
                config,
                StatusCode::CONFLICT,
                "Conflict",
                "A tag with this name already exists.",
                None,
                None,
            ),
        },
        Err(fields) => problem(
            config,
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "Expected {\"name\": …, \"type\": …}.",
            None,
            Some(&fields),
        ),
    }
}

/// Reads the body of `POST /__mock/faults`: a JSON array of fault names.
async fn read_faults(body: Incoming) -> Result<Vec<Fault>, String> {
    let bytes = read_body(body)
        .await
        .map_err(|_| "The body could not be read.".to_owned())?;
    let names: Vec<String> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("Expected a JSON array of fault names: {e}"))?;
    names
        .iter()
        .map(|name| name.parse::<Fault>().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_rules() {
        let open = MockConfig::default();
        assert_eq!(check_auth(&open, None, None), Err(AuthError::Missing));
        assert_eq!(check_auth(&open, Some(""), None), Err(AuthError::Missing));
        assert_eq!(check_auth(&open, Some("anything"), None), Ok(()));
        assert_eq!(check_auth(&open, None, Some("jwt")), Ok(()));

        let strict = MockConfig {
            api_key: Some("good".into()),
            jwt: Some("token".into()),
            forbidden: ["readonly".to_owned()].into(),
            ..MockConfig::default()
        };
        assert_eq!(check_auth(&strict, Some("good"), None), Ok(()));
        assert_eq!(check_auth(&strict, None, Some("token")), Ok(()));
        assert_eq!(
            check_auth(&strict, Some("bad"), None),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            check_auth(&strict, None, Some("good")),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            check_auth(&strict, Some("readonly"), None),
            Err(AuthError::Forbidden)
        );
    }

    #[test]
    fn log_text_is_defanged() {
        let cases = [
            ("Big%20Spender é 😀", "Big%20Spender é 😀"),
            ("a\u{1b}[31mb\n", "a\\u{1b}[31mb\\n"),
            ("\t\r\0", "\\t\\r\\u{0}"),
            ("del\u{7f} csi\u{9b}", "del\\u{7f} csi\\u{9b}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}x\u{2069}\u{61c}", "\\u{2066}x\\u{2069}\\u{61c}"),
            ("\u{200e}\u{200f}", "\\u{200e}\\u{200f}"),
            ("pay\u{200b}pal\u{feff}", "pay\\u{200b}pal\\u{feff}"),
            ("\u{2060}\u{2064}\u{ad}", "\\u{2060}\\u{2064}\\u{ad}"),
            ("a\u{2028}b", "a\\u{2028}b"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            (
                "\u{a0}\u{2010}\u{202f}\u{fe0f}",
                "\u{a0}\u{2010}\u{202f}\u{fe0f}",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(printable(input), expected, "{input:?}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc.def"),
        );
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc.def"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }
}
