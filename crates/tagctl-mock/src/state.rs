//! What the mock remembers: configuration, queued faults, the rate-limit window, the
//! request log, the customers and the tags, behind one briefly held mutex.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::clock::WindowCounter;
use super::config::{MockConfig, TagType};
use super::directory::Directory;
use super::faults::Fault;

/// Which operation of the API a request called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// `POST …/tags/{tag}/customers[/{id}]`.
    Tag,
    /// `DELETE …/tags/{tag}/customers[/{id}]`.
    Untag,
    /// `GET …/customers`.
    ListCustomers,
    /// `GET …/tags`.
    ListTags,
    /// `GET …/tags/{tag}`.
    GetTag,
    /// `POST …/tags`.
    CreateTag,
}

impl Operation {
    /// Whether it changes anything (tag, untag, create a tag).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::Tag | Operation::Untag | Operation::CreateTag
        )
    }
}

/// One API request as the server saw it, for assertions in tests and scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Arrival sequence number (1, 2, …); also the `instance` of problems sent for it.
    pub id: u64,
    /// Which operation it called.
    pub operation: Operation,
    /// `POST` (tag, create a tag), `DELETE` (untag) or `GET`.
    pub method: String,
    /// Path and query exactly as received (still percent-encoded).
    pub path: String,
    /// The `{tag}` path segment, percent-decoded (the body's `name` for a tag creation;
    /// empty for a customer read).
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
    /// The IDs sent (the body's `customerIds`, or the path's customer ID; for a customer
    /// read, the values of its `id` filter); empty when the body could not be read as a
    /// list of strings.
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
    /// Indexes into `requests` of the writes answered 204, in the order accepted.
    pub accepted: Vec<usize>,
    /// The customers, the tags and the writes waiting to take effect. A write is only
    /// queued under the lock; it is applied when something looks (see [`State::settle`]).
    pub directory: Directory,
    /// API requests received (kept even when not recording).
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
        let directory = Directory::new(&config.tags);
        Self {
            rng: rng_for(&config),
            config: Arc::new(config),
            faults: VecDeque::new(),
            last_id: 0,
            window: WindowCounter::default(),
            requests: Vec::new(),
            accepted: Vec::new(),
            directory,
            request_count: 0,
            accepted_count: 0,
        }
    }

    /// Registers an arriving API request: numbers it and hands it the next queued
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

    /// Stores a finished request; when `accepted` is given it is a write answered 204, to
    /// take effect on the tag named after the configured delay. Without recording, only
    /// the counts are kept (the tag is still registered, which costs nothing per ID).
    pub(crate) fn complete(&mut self, request: RecordedRequest, accepted: Option<(Action, &str)>) {
        let Some((action, tag)) = accepted else {
            if self.config.record {
                self.requests.push(request);
            }
            return;
        };
        self.accepted_count += request.ids.len() as u64;
        let tag = self.directory.tag_for_write(tag);
        if !self.config.record {
            return;
        }
        let index = self.requests.len();
        self.accepted.push(index);
        let due = Instant::now() + self.config.apply_delay;
        self.directory.schedule(due, action, tag, index);
        self.requests.push(request);
    }

    /// Applies every accepted write whose time has come; whatever reads customers calls
    /// this first.
    pub(crate) fn settle(&mut self) {
        let config = Arc::clone(&self.config);
        self.directory
            .settle(Instant::now(), &self.requests, &config);
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

    /// Forgets requests, customers' tags, created tags, counters, queued faults and the
    /// rate-limit window; keeps the configuration (and re-seeds, so a seeded run can be
    /// replayed, and the seed tags are there again).
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

    /// IDs of every write answered 204, in completion order, with repeats.
    pub(crate) fn accepted_ids(&self) -> Vec<String> {
        self.accepted
            .iter()
            .flat_map(|&i| self.requests[i].ids.iter().cloned())
            .collect()
    }

    /// The customers carrying `tag` (any case) now, sorted: only writes already in effect
    /// count, and only on customers.
    pub(crate) fn tagged(&mut self, tag: &str) -> BTreeSet<String> {
        self.settle();
        self.directory
            .find_tag(tag)
            .map(|t| self.directory.carrying(t))
            .unwrap_or_default()
    }
}

/// A tag as the admin API and [`MockServer::tags`](super::MockServer::tags) show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// Its name, as first spelled.
    pub name: String,
    /// Its type.
    #[serde(rename = "type", serialize_with = "as_display")]
    pub kind: TagType,
    /// Customers carrying it now.
    pub customers: u64,
}

/// Serializes a tag type as the API spells it.
fn as_display<S: serde::Serializer>(value: &TagType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_str())
}

/// One customer as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerView {
    /// The ID asked about.
    pub id: String,
    /// Whether it is a customer at all (the universe holds it).
    pub exists: bool,
    /// The tags it carries now (writes in effect only), by name.
    pub tags: Vec<String>,
    /// Accepted writes on it that have not taken effect yet.
    pub pending: Vec<PendingView>,
}

/// A write accepted but not in effect yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingView {
    /// `tag` or `untag`.
    pub action: &'static str,
    /// The tag's name.
    pub tag: String,
    /// Milliseconds until it takes effect.
    #[serde(rename = "inMs")]
    pub in_ms: u64,
}

impl State {
    /// Every tag with its use.
    pub(crate) fn tag_infos(&mut self) -> Vec<TagInfo> {
        self.settle();
        let usage = self.directory.usage();
        self.directory
            .tags()
            .iter()
            .zip(usage)
            .map(|(t, customers)| TagInfo {
                name: t.name.clone(),
                kind: t.kind,
                customers,
            })
            .collect()
    }

    /// Every customer a write has reached, with its tags' names.
    pub(crate) fn customer_tags(&mut self) -> BTreeMap<String, Vec<String>> {
        self.settle();
        let universe = &self.config.customers;
        self.directory
            .known(universe)
            .into_iter()
            .map(|id| {
                let tags = self.directory.tags_of(universe, id).unwrap_or_default();
                let names = tags
                    .iter()
                    .map(|&t| self.directory.tag(t).name.clone())
                    .collect();
                (id.to_owned(), names)
            })
            .collect()
    }

    /// One customer's state, with its pending writes.
    pub(crate) fn customer_view(&mut self, id: &str) -> CustomerView {
        self.settle();
        let universe = &self.config.customers;
        let tags = self.directory.tags_of(universe, id);
        let now = Instant::now();
        CustomerView {
            id: id.to_owned(),
            exists: tags.is_some(),
            tags: tags
                .unwrap_or_default()
                .iter()
                .map(|&t| self.directory.tag(t).name.clone())
                .collect(),
            pending: self
                .directory
                .pending_for(id, &self.requests)
                .map(|(action, tag, due)| PendingView {
                    action: match action {
                        Action::Tag => "tag",
                        Action::Untag => "untag",
                    },
                    tag: self.directory.tag(tag).name.clone(),
                    in_ms: due.saturating_duration_since(now).as_millis() as u64,
                })
                .collect(),
        }
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
            operation: Operation::Tag,
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
    fn tag_state_follows_tags_and_untags_in_order_any_case() {
        let mut state = State::new(MockConfig::default());
        let accept = |state: &mut State, tag: &str, ids: &[&str], action| {
            state.complete(request(tag, ids), Some((action, tag)));
        };
        accept(&mut state, "A", &["1", "2", "3"], Action::Tag);
        accept(&mut state, "B", &["1"], Action::Tag);
        accept(&mut state, "a", &["2", "9"], Action::Untag);
        state.complete(request("A", &["4"]), None);
        accept(&mut state, "A", &["2"], Action::Tag);
        let mut ids = |tag| state.tagged(tag).into_iter().collect::<Vec<_>>();
        assert_eq!(ids("A"), ["1", "2", "3"]);
        assert_eq!(ids("b"), ["1"]);
        assert!(ids("C").is_empty());
        assert_eq!(state.accepted_ids(), ["1", "2", "3", "1", "2", "9", "2"]);
        assert_eq!(state.accepted_count, 7);
        assert_eq!(state.requests.len(), 5);
    }

    #[test]
    fn not_recording_only_counts() {
        let mut state = State::new(MockConfig {
            record: false,
            ..MockConfig::default()
        });
        state.complete(request("A", &["1", "2"]), Some((Action::Tag, "A")));
        assert_eq!(state.accepted_count, 2);
        assert!(state.tagged("A").is_empty() && state.requests.is_empty());
    }

    #[test]
    fn delayed_writes_wait_for_their_time() {
        let mut state = State::new(MockConfig {
            apply_delay: std::time::Duration::from_secs(60),
            ..MockConfig::default()
        });
        state.complete(request("A", &["1"]), Some((Action::Tag, "A")));
        assert!(state.tagged("A").is_empty());
        assert_eq!(state.directory.pending_count(), 1);
        assert!(
            state.directory.find_tag("a").is_some(),
            "the tag exists at once"
        );
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
