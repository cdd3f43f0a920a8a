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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NetFailure, Outcome, Problem, RateHeaders, TimeHints};

    fn reply(status: Option<u16>) -> Reply {
        Reply {
            outcome: match status {
                Some(_) => Outcome::Confirmed,
                None => Outcome::Network(Problem::network("Cannot connect", "refused".into())),
            },
            status,
            rate: RateHeaders::default(),
            hints: TimeHints {
                reset_at: None,
                retry_after: None,
                server_date: None,
                received: std::time::SystemTime::now(),
            },
            elapsed: Duration::ZERO,
            failure: status.is_none().then_some(NetFailure::Connect),
        }
    }

    #[test]
    fn failures_count_from_the_first_until_any_answer() {
        let reach = Reach::default();
        let (reached, since) = reach.observe(&reply(None));
        assert!(!reached && since < Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(20));
        let (reached, since) = reach.observe(&reply(None));
        assert!(!reached && since >= Duration::from_millis(20));
        assert_eq!(reach.observe(&reply(Some(503))), (true, Duration::ZERO));
        // Once answered, always reached.
        assert_eq!(reach.observe(&reply(None)), (true, Duration::ZERO));
    }
}
