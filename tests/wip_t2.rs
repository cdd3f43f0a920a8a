#[path = "cli/auth.rs"]
mod auth;
#[path = "cli/faults.rs"]
mod faults;
#[path = "cli/rate_limit.rs"]
mod rate_limit;
#[path = "cli/security.rs"]
mod security;
#[path = "cli/support/mod.rs"]
mod support;
