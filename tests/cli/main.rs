//! Integration tests: the real `tagctl` binary against the mock API on
//! loopback. Each test reads as a line of the contract; the topics live in
//! `tests/cli/`.

mod support;

mod auth;
mod completions;
mod create_tag;
mod endpoint;
mod faults;
mod input;
mod interrupt;
mod isolation;
mod journal;
mod man;
mod operator;
mod output;
mod properties;
mod rate_limit;
mod report;
mod security;
mod sniff;
mod verify;
mod wording;
