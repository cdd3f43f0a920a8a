//! A local mock of Rebilly's "tag customers" API, faithful to the OpenAPI excerpt and able to
//! misbehave on demand, so the client can be tested end to end without a real account.
//!
//! # Endpoints
//!
//! `POST` (tag) and `DELETE` (untag) on `…/tags/{tag}/customers` (body
//! `{"customerIds": [...]}`) and `…/tags/{tag}/customers/{customerId}`, where `…` is any
//! prefix: `/organizations/{org}` and/or a proxy path. Path segments are percent-decoded.
//!
//! # Order of processing of one tag/untag request
//!
//! 1. It is numbered and takes the next queued fault (else maybe a random one) at once,
//!    before auth and rate limiting, so a test's faults hit exactly the requests it expects.
//! 2. The body is read, then the configured latency is waited.
//! 3. A fault answers now and the request is not applied; `Slow` only waits and goes on.
//!    Faulted requests do not count toward the rate limit and carry no `X-RateLimit-*`
//!    headers (they stand for failures in front of the API), except that a `429` fault
//!    carries the reset hint and, with a limit configured, `Limit` and `Remaining: 0`.
//! 4. Auth: 401 (none, or not the configured key/token), 403 (a forbidden one). These do
//!    not consume the rate-limit budget but report it.
//! 5. Rate limit: every authorised request counts, including those answered 429.
//! 6. Validation (tag, body, IDs, reject list): 422 with `invalidFields`; nothing of a
//!    refused batch is applied.
//! 7. 204, and the IDs are applied to the tag.
//!
//! With a rate limit configured, every response of steps 4–7 carries `X-RateLimit-Limit`
//! and `X-RateLimit-Remaining`; when unlimited, neither is sent. Every response carries one
//! `Date`, from the (possibly skewed) server clock; hyper's automatic `Date` is turned off.
//!
//! # Admin API (no auth, no rate limit, no faults, no latency)
//!
//! `GET /__mock/requests`, `GET /__mock/tags/{tag}`, `GET /__mock/stats`,
//! `POST /__mock/faults` (a JSON array of [`Fault`] names), `POST /__mock/reset`.

mod body;
mod clock;
mod config;
mod faults;
mod handler;
mod routes;
mod server;
mod state;
mod validate;

pub use body::HUGE_BODY_BYTES;
pub use config::{
    InvalidFieldsStyle, InvalidOption, MockConfig, ProblemContentType, RateLimit, RetryAfterStyle,
};
pub use faults::Fault;
pub use server::MockServer;
pub use state::RecordedRequest;
pub use validate::{MAX_CUSTOMER_ID_LEN, MAX_IDS_PER_REQUEST};
