//! tagctl: bulk-tag and untag customers in a Rebilly account.
//!
//! One customer ID flows one way through the crate: [`ids`] reads and
//! validates it, [`ledger`] gives it a batch and, at the end, exactly one
//! bucket, [`runner`] sends the batches through the [`api`] client under one
//! pacing gate, and [`summary`] turns the ledger into the report and the
//! exit code. Whatever came from outside passes [`text`] before it is
//! printed. The mock API the tests and the demo run against is its own
//! crate, `tagctl-mock`, a dev-dependency only.

pub mod api;
pub mod app;
pub mod cli;
pub mod confirm;
pub mod exit;
pub mod failed_ids;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod man;
mod outputs;
pub mod progress;
pub mod report;
pub mod runner;
pub mod summary;
pub mod text;
pub mod verify;

pub use app::{main_with_args, run};
pub use exit::Exit;
