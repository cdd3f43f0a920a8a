//! What the mock remembers: configuration, queued faults, the rate-limit window, the
//! request log and the tags, behind one briefly held mutex.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde::Serialize;

use super::clock::WindowCounter;
use super::config::MockConfig;
use super::faults::Fault;

/// One tag/untag request as the server saw it, for assertions in tests and scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Arrival sequence number (1, 2, …); also the `instance` of problems sent for it.
    pub id: u64,
    /// `POST` (tag) or `DELETE` (untag).
    pub method: String,
    /// Path and query exactly as received (still percent-encoded).
    pub path: String,
    /// The `{tag}` path segment, percent-decoded.
    pub tag: String,
    /// The `{org}` of an `/organizations/{org}/…` path, decoded.
    pub organization: Option<String>,
    /// The `{customerId}` of the single-customer endpoint, decoded.
    pub customer_id: Option<String>,
    /// The `REB-APIKEY` header.
    pub api_key: Option<String>,
    /// The token of an `Authorization: Bearer` header.
    pub bearer: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The IDs sent (the body's `customerIds`, or the path's customer ID); empty when the
    /// body could not be read as a list of strings.
    pub ids: Vec<String>,
    /// The status answered; 0 when the connection was dropped without a response.
    pub status: u16,
    /// The canonical name of the fault injected into this request, if any.
    pub fault: Option<String>,
    /// When the request arrived, on the true clock (not skewed).
    #[serde(skip)]
    pub received_at: SystemTime,
    /// `received_at` as milliseconds since the Unix epoch.
    pub received_unix_ms: u128,
}

/// Whether a successful request adds or removes the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `POST`: tag.
    Tag,
    /// `DELETE`: untag.
    Untag,
}

/// The mutable part of the server.
pub(crate) struct State {
    /// The current options; requests take a cheap snapshot of the `Arc`.
    pub config: Arc<MockConfig>,
    /// Draws random faults.
    pub rng: fastrand::Rng,
    /// One-shot faults, consumed in order.
    pub faults: VecDeque<Fault>,
    /// Last arrival sequence number handed out.
    pub last_id: u64,
    /// The rate-limit window.
    pub window: WindowCounter,
    /// Finished requests in completion order (sorted by `id` when read).
    pub requests: Vec<RecordedRequest>,
    /// Indexes into `requests` of the ones answered 204, and what they did, in the order
    /// they were applied. Tag state is replayed from this on demand (see [`State::tagged`])
    /// so that a request costs O(1) under the lock, not a set update per ID.
    pub accepted: Vec<(usize, Action)>,
    /// Tag/untag requests received (kept even when not recording).
    pub request_count: u64,
    /// IDs answered 204, with repeats (kept even when not recording).
    pub accepted_count: u64,
}

/// A generator seeded as the configuration asks.
fn rng_for(config: &MockConfig) -> fastrand::Rng {
    config
        .seed
        .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)
}

/// What the server knows about a request as soon as it arrives.
pub(crate) struct Arrival {
    /// Its sequence number.
    pub id: u64,
    /// The options to answer it with.
    pub config: Arc<MockConfig>,
    /// The fault it consumed, if any.
    pub fault: Option<Fault>,
}

impl State {
    /// A fresh state for `config`.
    pub(crate) fn new(config: MockConfig) -> Self {
        Self {
            rng: rng_for(&config),
            config: Arc::new(config),
            faults: VecDeque::new(),
            last_id: 0,
            window: WindowCounter::default(),
            requests: Vec::new(),
            accepted: Vec::new(),
            request_count: 0,
            accepted_count: 0,
        }
    }

    /// Registers an arriving tag/untag request: numbers it and hands it the next queued
    /// fault, or a random one when the fault rate says so.
    pub(crate) fn arrive(&mut self) -> Arrival {
        self.last_id += 1;
        self.request_count += 1;
        let fault = self.faults.pop_front().or_else(|| self.random_fault());
        Arrival {
            id: self.last_id,
            config: Arc::clone(&self.config),
            fault,
        }
    }

    /// Rolls the dice of the configured fault rate.
    fn random_fault(&mut self) -> Option<Fault> {
        let rate = self.config.fault_rate;
        if rate <= 0.0 || self.rng.f64() >= rate {
            return None;
        }
        let kinds = &self.config.fault_kinds;
        if kinds.is_empty() {
            let defaults = Fault::default_random_kinds();
            let i = self.rng.usize(..defaults.len());
            defaults.into_iter().nth(i)
        } else {
            kinds.get(self.rng.usize(..kinds.len())).cloned()
        }
    }

    /// Stores a finished request; when `action` is given it was answered 204 and its IDs
    /// are applied to the tag.
    pub(crate) fn complete(&mut self, request: RecordedRequest, action: Option<Action>) {
        if action.is_some() {
            self.accepted_count += request.ids.len() as u64;
        }
        if !self.config.record {
            return;
        }
        if let Some(action) = action {
            self.accepted.push((self.requests.len(), action));
        }
        self.requests.push(request);
    }

    /// Applies a configuration change, re-seeding the generator if the seed changed.
    pub(crate) fn update_config(&mut self, change: impl FnOnce(&mut MockConfig)) {
        let config = Arc::make_mut(&mut self.config);
        let old_seed = config.seed;
        change(config);
        if config.seed != old_seed {
            self.rng = rng_for(config);
        }
    }

    /// Forgets requests, tags, counters, queued faults and the rate-limit window; keeps
    /// the configuration (and re-seeds, so a seeded run can be replayed).
    pub(crate) fn reset(&mut self) {
        let config = Arc::clone(&self.config);
        let last_id = self.last_id;
        *self = Self::new(MockConfig::clone(&config));
        self.config = config;
        // Keep numbering so that requests still in flight cannot collide with new ones.
        self.last_id = last_id;
    }

    /// Finished requests in arrival order.
    pub(crate) fn requests_in_order(&self) -> Vec<RecordedRequest> {
        let mut requests = self.requests.clone();
        // Nearly sorted already (completion order), which the stable sort handles fast.
        requests.sort_by_key(|r| r.id);
        requests
    }

    /// IDs of every 204, in completion order, with repeats.
    pub(crate) fn accepted_ids(&self) -> Vec<String> {
        self.accepted
            .iter()
            .flat_map(|&(i, _)| self.requests[i].ids.iter().cloned())
            .collect()
    }

    /// The customers carrying `tag`, by replaying every applied request in order:
    /// O(IDs accepted so far), which is paid only when someone asks.
    pub(crate) fn tagged(&self, tag: &str) -> BTreeSet<String> {
        let applied = || {
            self.accepted
                .iter()
                .map(|&(i, action)| (&self.requests[i], action))
                .filter(|(request, _)| request.tag == tag)
        };
        // Sized for the worst case up front: rehashing millions of entries is the slow part.
        let most = applied()
            .filter(|(_, action)| *action == Action::Tag)
            .map(|(request, _)| request.ids.len())
            .sum();
        let mut current: HashSet<&str> = HashSet::with_capacity(most);
        for (request, action) in applied() {
            let ids = request.ids.iter().map(String::as_str);
            match action {
                Action::Tag => current.extend(ids),
                Action::Untag => ids.for_each(|id| {
                    current.remove(id);
                }),
            }
        }
        let mut sorted: Vec<&str> = current.into_iter().collect();
        sorted.sort_unstable();
        // Collecting sorted input lets the B-tree be built in one pass.
        sorted.into_iter().map(str::to_owned).collect()
    }
}

/// Locks the state, ignoring poisoning: a panicked handler leaves nothing half-updated
/// that matters more than keeping the mock answering.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tag: &str, ids: &[&str]) -> RecordedRequest {
        RecordedRequest {
            id: 0,
            method: String::new(),
            path: String::new(),
            tag: tag.into(),
            organization: None,
            customer_id: None,
            api_key: None,
            bearer: None,
            user_agent: None,
            content_type: None,
            ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            status: 204,
            fault: None,
            received_at: SystemTime::UNIX_EPOCH,
            received_unix_ms: 0,
        }
    }

    #[test]
    fn tag_state_replays_tags_and_untags_in_order() {
        let mut state = State::new(MockConfig::default());
        state.complete(request("A", &["1", "2", "3"]), Some(Action::Tag));
        state.complete(request("B", &["1"]), Some(Action::Tag));
        state.complete(request("A", &["2", "9"]), Some(Action::Untag));
        state.complete(request("A", &["4"]), None);
        state.complete(request("A", &["2"]), Some(Action::Tag));
        let ids = |tag| state.tagged(tag).into_iter().collect::<Vec<_>>();
        assert_eq!(ids("A"), ["1", "2", "3"]);
        assert_eq!(ids("B"), ["1"]);
        assert!(ids("C").is_empty());
        assert_eq!(state.accepted_ids(), ["1", "2", "3", "1", "2", "9", "2"]);
        assert_eq!(state.accepted_count, 7);
    }

    #[test]
    fn not_recording_only_counts() {
        let mut state = State::new(MockConfig {
            record: false,
            ..MockConfig::default()
        });
        state.complete(request("A", &["1", "2"]), Some(Action::Tag));
        assert_eq!(state.accepted_count, 2);
        assert!(state.tagged("A").is_empty() && state.requests.is_empty());
    }

    #[test]
    fn queued_faults_come_first_then_seeded_random_ones() {
        let config = MockConfig {
            fault_rate: 0.5,
            fault_kinds: vec![Fault::Status500],
            seed: Some(7),
            ..MockConfig::default()
        };
        let draws = |state: &mut State| -> Vec<Option<Fault>> {
            (0..20).map(|_| state.arrive().fault).collect()
        };
        let mut state = State::new(config.clone());
        state.faults.push_back(Fault::Drop);
        let first = draws(&mut state);
        assert_eq!(first[0], Some(Fault::Drop));
        assert!(first[1..].contains(&Some(Fault::Status500)) && first[1..].contains(&None));
        let mut replay = State::new(config);
        replay.faults.push_back(Fault::Drop);
        assert_eq!(
            draws(&mut replay),
            first,
            "the same seed gives the same faults"
        );
    }
}
