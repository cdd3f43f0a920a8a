//! Everything printed on standard error while a job runs: the progress bar
//! (only on a terminal) and the messages, which go through the bar so that
//! none is overdrawn or lost.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ledger::Counts;
use crate::text;

/// Invalid IDs reported one by one before the rest are only counted.
const MAX_INVALID_SHOWN: u64 = 1000;

/// How chatty to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors, warnings and the progress bar.
    Normal,
    /// All that, and a line per request.
    Verbose,
}

/// The standard-error side of a run.
pub struct Reporter {
    bar: Option<ProgressBar>,
    verbosity: Verbosity,
    invalid_shown: AtomicU64,
}

impl Reporter {
    /// A reporter, with a progress bar when standard error is a terminal
    /// and it is not quiet.
    pub fn new(verbosity: Verbosity) -> Reporter {
        let bar = (verbosity != Verbosity::Quiet
            && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {human_pos}/{human_len} IDs  {rate}  ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} IDs/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Reporter {
            bar,
            verbosity,
            invalid_shown: AtomicU64::new(0),
        }
    }

    /// Whether a progress bar is drawn.
    pub fn has_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// Whether per-request lines are wanted.
    pub fn is_verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    /// Every line passes [`text::escape`] on its way out: the parts from
    /// outside were made safe where the message was built, and this is the
    /// guard for one that was missed.
    fn print(&self, lines: &[String]) {
        let write = || {
            let mut err = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(err, "{}", text::escape(line));
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// `error: ...`, always shown; further lines are indented under it.
    pub fn error(&self, first: &str, rest: &[String]) {
        let mut lines = vec![format!("error: {first}")];
        lines.extend(rest.iter().map(|l| format!("  {l}")));
        self.print(&lines);
    }

    /// `warning: ...`, unless quiet.
    pub fn warn(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.print(&[format!("warning: {message}")]);
        }
    }

    /// What reading the input guessed or noticed: unless quiet, or always
    /// when the guess decides whether an ID is sent.
    pub fn notice(&self, notice: &crate::ids::Notice) {
        if notice.decisive || self.verbosity != Verbosity::Quiet {
            self.print(std::slice::from_ref(&notice.message));
        }
    }

    /// A plain note, unless quiet.
    pub fn note(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.print(&[message.to_string()]);
        }
    }

    /// A per-request line, only with `--verbose`.
    pub fn verbose(&self, message: &str) {
        if self.is_verbose() {
            self.print(&[message.to_string()]);
        }
    }

    /// An invalid ID: an error, one line each, up to a limit, so a wrong
    /// column in a million-row file does not bury the summary.
    pub fn invalid(&self, message: &str) {
        let n = self.invalid_shown.fetch_add(1, Ordering::Relaxed);
        if n < MAX_INVALID_SHOWN {
            self.print(&[format!("error: {message}")]);
        } else if n == MAX_INVALID_SHOWN {
            self.print(&[
                "error: more invalid IDs follow; only their number is reported".to_string(),
            ]);
        }
    }

    /// Redraws the bar from the ledger and the gate.
    pub fn update(&self, counts: &Counts, reading_done: bool, paused: Option<Duration>) {
        if let Some(bar) = &self.bar {
            bar.set_length(counts.batched.max(counts.done()));
            bar.set_position(counts.done());
            let mut msg = match paused {
                Some(d) => format!(
                    "waiting for rate-limit reset ({}s)",
                    d.as_secs_f64().ceil() as u64
                ),
                None => String::new(),
            };
            if !reading_done {
                msg.push_str(if msg.is_empty() {
                    "reading…"
                } else {
                    ", reading…"
                });
            }
            bar.set_message(msg);
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
