//! A local mock of Rebilly's "tag customers" API, faithful to the OpenAPI excerpts and able to
//! misbehave on demand, so the client can be tested end to end without a real account.
//!
//! # Endpoints
//!
//! `POST` (tag) and `DELETE` (untag) on `…/tags/{tag}/customers` (body
//! `{"customerIds": [...]}`) and `…/tags/{tag}/customers/{customerId}`; `GET …/customers`
//! (`filter` with `id:` and `tags:`, `fields`, `limit`/`offset` up to 1000, `sort`
//! direction, `Pagination-*` headers); `GET …/tags`, `POST …/tags` (201, 409, 422) and
//! `GET …/tags/{tag}` (200, 404). `…` is any prefix: `/organizations/{org}` and/or a proxy
//! path. Path segments are percent-decoded; tag names are not case-sensitive.
//!
//! # Customers and the time a write takes
//!
//! The [`Universe`] says which customers exist (all, by default). A 204 *schedules* a
//! write: it takes effect `apply_delay` later (never for `never_apply` IDs, nor for IDs
//! that are not customers), in the order accepted, and only then do reads show it.
//!
//! # Order of processing of one API request
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
//! 5. Rate limit: every authorised non-GET request counts, including those answered 429;
//!    GETs only with `rate_limit_reads` (the sandbox limits non-GET requests only).
//! 6. The operation. A write: validation (tag pattern, the tag's existence and type, body,
//!    IDs, reject list) with 404/422; nothing of a refused batch is applied; then 204, and
//!    the write is scheduled. A read: 422 for bad parameters, else 200.
//!
//! With a rate limit configured, every counted response of steps 4–6 carries `X-RateLimit-Limit`
//! and `X-RateLimit-Remaining`; when unlimited, neither is sent. Every response carries one
//! `Date`, from the (possibly skewed) server clock; hyper's automatic `Date` is turned off.
//!
//! # Admin API (no auth, no rate limit, no faults, no latency)
//!
//! `GET /__mock/requests`, `GET /__mock/tags` (every tag, its type and use),
//! `POST /__mock/tags` (`{"name", "type"}`), `GET /__mock/tags/{tag}` (the IDs carrying it),
//! `GET /__mock/customers` (each reached customer's tags), `GET /__mock/customers/{id}`
//! (one customer, with its pending writes), `GET /__mock/stats`, `POST /__mock/faults`
//! (a JSON array of [`Fault`] names), `POST /__mock/reset`.

mod body;
mod clock;
mod config;
mod directory;
mod faults;
mod handler;
mod query;
mod routes;
mod server;
mod state;
mod validate;

pub use body::HUGE_BODY_BYTES;
pub use config::{
    InvalidFieldsStyle, InvalidOption, MissingTag, MockConfig, ProblemContentType, RateLimit,
    RetryAfterStyle, TagSeed, TagType, Universe,
};
pub use faults::Fault;
pub use query::{DEFAULT_LIMIT, MAX_LIMIT};
pub use server::MockServer;
pub use state::{CustomerView, Operation, PendingView, RecordedRequest, TagInfo};
pub use validate::{MAX_CUSTOMER_ID_LEN, MAX_IDS_PER_REQUEST};
