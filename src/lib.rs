//! tagctl: bulk-tag and untag customers in a Rebilly account.
//!
//! One customer ID flows one way through the crate: [`ids`] reads and
//! validates it, [`ledger`] gives it a batch and, at the end, exactly one
//! bucket, [`runner`] sends the batches through the [`api`] client under one
//! rate-limit gate, and [`summary`] turns the ledger into the report and the
//! exit code. [`mock`] is a faithful local server of the same API, used by the
//! tests, the demo and users' own scripts.

pub mod api;
pub mod app;
pub mod cli;
pub mod exit;
pub mod failed_ids;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod progress;
pub mod report;
pub mod runner;
pub mod summary;

pub use app::{main_with_args, run};
pub use exit::Exit;
