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
use super::config::{MockConfig, RetryAfterStyle};
use super::faults::Fault;
use super::routes::{AdminRoute, ApiTarget, parse_admin_path, parse_api_path};
use super::state::{Action, RecordedRequest, State, lock};
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
    if let Some(target) = parse_api_path(path) {
        if req.method() == Method::POST || req.method() == Method::DELETE {
            return Ok(api(req, target, &ctx).await);
        }
        let config = Arc::clone(&lock(&ctx.state).config);
        let mut response = problem(
            &config,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "This endpoint accepts POST (tag) and DELETE (untag).",
            None,
            None,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
        return Ok(dated(response, &config));
    }
    let config = Arc::clone(&lock(&ctx.state).config);
    let detail = "No such endpoint; expected …/tags/{tag}/customers[/{customerId}] or /__mock/….";
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

/// Stores the finished request and logs it.
fn finish(
    state: &Mutex<State>,
    config: &MockConfig,
    record: RecordedRequest,
    action: Option<Action>,
) {
    log_request(config, &record);
    lock(state).complete(record, action);
}

/// Handles a tag/untag request, in this order: number it and take its fault (before
/// anything else, so fault tests are deterministic), read the body, wait the configured
/// latency, apply the fault, then auth, rate limit, validation, and finally apply it.
async fn api(req: Request<Incoming>, target: ApiTarget, ctx: &ConnContext) -> Response<MockBody> {
    let received_at = SystemTime::now();
    let arrival = lock(&ctx.state).arrive();
    let config = arrival.config;
    let instance = format!("urn:tagctl-mock:request:{}", arrival.id);
    let (parts, body) = req.into_parts();
    let mut record = RecordedRequest {
        id: arrival.id,
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        tag: target.tag.clone(),
        organization: target.organization.clone(),
        customer_id: target.customer_id.clone(),
        api_key: header_text(&parts.headers, API_KEY),
        bearer: bearer_token(&parts.headers),
        user_agent: header_text(&parts.headers, header::USER_AGENT),
        content_type: header_text(&parts.headers, header::CONTENT_TYPE),
        ids: Vec::new(),
        status: 0,
        fault: arrival.fault.as_ref().map(ToString::to_string),
        received_at,
        received_unix_ms: unix_ms(received_at),
    };

    // The body: the single-customer endpoint takes its ID from the path and has none.
    let mut body_error = None;
    if let Some(id) = &target.customer_id {
        record.ids.push(id.clone());
    } else {
        match read_body(body).await {
            Ok(bytes) => match parse_body(&bytes) {
                Ok(ids) => record.ids = ids,
                Err(message) => body_error = Some(message),
            },
            Err(too_large) => {
                let (status, detail) = if too_large {
                    let detail = format!("The request body exceeds {MAX_BODY_BYTES} bytes.");
                    (StatusCode::PAYLOAD_TOO_LARGE, detail)
                } else {
                    let detail = "The request body could not be read.".to_owned();
                    (StatusCode::BAD_REQUEST, detail)
                };
                let title = status.canonical_reason().unwrap_or("Error");
                let response = problem(&config, status, title, &detail, Some(&instance), None);
                record.status = status.as_u16();
                finish(&ctx.state, &config, record, None);
                return dated(response, &config);
            }
        }
    }

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

    let response = decide(&config, &ctx.state, &target, &record, body_error, &instance);
    record.status = response.status().as_u16();
    let action = match (record.status, &parts.method) {
        (204, &Method::POST) => Some(Action::Tag),
        (204, _) => Some(Action::Untag),
        _ => None,
    };
    finish(&ctx.state, &config, record, action);
    dated(response, &config)
}

/// Reads the whole request body; `Err(true)` when it is over the size limit, `Err(false)`
/// when the client stopped sending.
async fn read_body(body: Incoming) -> Result<Bytes, bool> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(error.downcast_ref::<LengthLimitError>().is_some()),
    }
}

/// Auth, rate limit and validation of an unfaulted request: its response (204 = apply it).
fn decide(
    config: &MockConfig,
    state: &Mutex<State>,
    target: &ApiTarget,
    record: &RecordedRequest,
    body_error: Option<String>,
    instance: &str,
) -> Response<MockBody> {
    let now_ms = unix_ms(SystemTime::now());
    let auth = check_auth(config, record.api_key.as_deref(), record.bearer.as_deref());
    // Refused credentials do not consume the budget but still report it.
    let rate = config.rate_limit.map(|limit| {
        let mut state = lock(state);
        if auth.is_ok() {
            state.window.take(limit, now_ms)
        } else {
            state.window.peek(limit, now_ms)
        }
    });

    let mut response = match auth {
        Err(AuthError::Missing) => Some(problem(
            config,
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "No credentials: send REB-APIKEY or Authorization: Bearer <JWT>.",
            Some(instance),
            None,
        )),
        Err(AuthError::Invalid) => Some(problem(
            config,
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid credentials used.",
            Some(instance),
            None,
        )),
        Err(AuthError::Forbidden) => Some(problem(
            config,
            StatusCode::FORBIDDEN,
            "Forbidden",
            "These credentials may not tag customers.",
            Some(instance),
            None,
        )),
        Ok(()) => None,
    };
    if response.is_none()
        && let Some(decision) = rate.filter(|r| !r.allowed)
    {
        response = Some(too_many_requests(
            config,
            instance,
            rate,
            decision.reset_secs,
            now_ms,
        ));
    }
    let mut response =
        response.unwrap_or_else(|| validate(config, target, record, body_error, instance));
    add_rate_headers(&mut response, rate);
    response
}

/// The schema checks and the reject list, once the request is authorised and within the
/// limit: a 204 when all pass.
fn validate(
    config: &MockConfig,
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

    if let Some(customer_id) = &target.customer_id {
        // The single-customer endpoint documents no 422: anything wrong is "not found".
        if !is_valid_tag(&target.tag) {
            return not_found("Tag not found.");
        }
        if customer_id_error(customer_id).is_some() || config.reject_ids.contains(customer_id) {
            return not_found("Customer not found.");
        }
        return with_status(StatusCode::NO_CONTENT, MockBody::empty());
    }

    if !is_valid_tag(&target.tag) {
        return unprocessable(&[InvalidField::new(
            "tag",
            format!("Must match {TAG_PATTERN}"),
        )]);
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
            let state = lock(state);
            json_response(&serde_json::json!({
                "requests": state.request_count,
                "accepted": state.accepted_count,
                "pendingFaults": state.faults.len(),
            }))
        }
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
            "Admin endpoints: GET /__mock/requests, GET /__mock/tags/{tag}, GET /__mock/stats, \
             POST /__mock/faults, POST /__mock/reset.",
            None,
            None,
        ),
        (_, _) => problem(
            &config,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "GET reads (requests, tags, stats); POST changes (faults, reset).",
            None,
            None,
        ),
    };
    dated(response, &config)
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
