//! Integration tests: the real `tagctl` binary against the mock API on
//! loopback. Each test reads as a line of the contract; the topics live in
//! `tests/cli/`.

mod support;

mod completions;
mod endpoint;
mod input;
mod interrupt;
mod isolation;
mod mock_server;
mod output;
mod properties;
