#[path = "cli/endpoint.rs"]
mod endpoint;
#[path = "cli/input.rs"]
mod input;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/support/mod.rs"]
mod support;
