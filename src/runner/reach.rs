//! Whether the API has answered at all in this run: until it has, a
//! connection failure more likely means a wrong URL or a dead host than a
//! bad moment, and the run ends within seconds (exit 3) instead of
//! retrying for minutes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::api::Reply;

/// What the run knows about reaching the API, shared by the workers.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    reached: AtomicBool,
    first_failure: Mutex<Option<Instant>>,
}

impl Reach {
    /// Takes a reply into account; returns whether the API has answered
    /// (now or before) and, if not, how long since the first failure.
    pub fn observe(&self, reply: &Reply) -> (bool, Duration) {
        if reply.status.is_some() {
            self.reached.store(true, Ordering::Relaxed);
        }
        if self.reached.load(Ordering::Relaxed) {
            return (true, Duration::ZERO);
        }
        let now = Instant::now();
        let mut first = self.first_failure.lock().unwrap_or_else(|p| p.into_inner());
        let since = *first.get_or_insert(now);
        (false, now.duration_since(since))
    }
}
