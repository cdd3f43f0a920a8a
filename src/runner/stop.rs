//! Stopping a run: the first reason wins, and everyone waiting is woken.

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

/// Why a run stopped before its input was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// 401 or 403: no later batch would fare better.
    Unauthorized,
    /// The rate limit asked for a wait longer than `--max-wait`.
    MaxWait,
    /// The API was never reached (connection refused, DNS, TLS): nothing
    /// could be sent. The message says where and why.
    Unreachable(String),
    /// Anything else no later batch would survive (a redirect to another
    /// origin, a 404 endpoint, a rejected tag); the message says what.
    Fatal(String),
}

impl StopReason {
    /// How the summaries name it (`"stopped"` in JSON, "stopped early: …").
    pub fn summary_name(&self) -> String {
        match self {
            StopReason::Interrupted => "interrupted".to_string(),
            StopReason::Unauthorized => "unauthorized".to_string(),
            StopReason::MaxWait => "max-wait".to_string(),
            StopReason::Unreachable(_) => "unreachable".to_string(),
            StopReason::Fatal(m) => m.clone(),
        }
    }
}

/// A shared stop signal.
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    reason: OnceLock<StopReason>,
    notify: Notify,
}

impl Stop {
    /// A signal not yet raised.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Raises the signal; the first reason is kept. True for the caller
    /// whose reason it is, so that exactly one of them reports it.
    pub fn request(&self, reason: StopReason) -> bool {
        let first = self.inner.reason.set(reason).is_ok();
        self.inner.notify.notify_waiters();
        first
    }

    /// Whether the signal is raised.
    pub fn is_stopping(&self) -> bool {
        self.inner.reason.get().is_some()
    }

    /// Why the run is stopping, if it is.
    pub fn reason(&self) -> Option<StopReason> {
        self.inner.reason.get().cloned()
    }

    /// Resolves once the signal is raised.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_stopping() {
                return;
            }
            notified.await;
        }
    }
}
