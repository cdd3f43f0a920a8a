//! The customers and tags the API serves: a registry of tags (names not case-sensitive,
//! as the API says), each customer's tags, and the writes accepted but not yet in effect.
//!
//! A 204 only *schedules* a write. Here it joins a queue and takes effect `apply_delay`
//! later, in the order the writes were accepted, the next time anything looks (a read,
//! an admin call): so the cost under the lock is paid by whoever looks, not by the write.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use super::clock::rfc3339;
use super::config::{MockConfig, TagSeed, TagType, Universe};
use super::state::{Action, RecordedRequest};
use super::validate::customer_id_error;

/// Index of a tag in the registry.
pub(crate) type TagIndex = u32;

/// The `createdTime`/`updatedTime` of every customer: they all exist from the start.
pub(crate) const CUSTOMER_CREATED: &str = "2024-01-01T00:00:00Z";

/// One tag of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagRecord {
    /// `tag_1`, `tag_2`, … in creation order.
    pub id: String,
    /// The name as first spelled.
    pub name: String,
    /// Its type.
    pub kind: TagType,
    /// Its JSON (the Tag schema), made once: every customer read embeds it.
    pub json: String,
}

/// The name every spelling of a tag shares.
pub(crate) fn tag_key(name: &str) -> String {
    name.to_lowercase()
}

/// A write accepted (204) and waiting for its time.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// When it takes effect.
    due: Instant,
    /// Tag or untag.
    action: Action,
    /// Which tag.
    tag: TagIndex,
    /// Where its IDs are: an index into the request log.
    request: usize,
}

/// The customers and tags.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    /// Every tag, in creation order.
    tags: Vec<TagRecord>,
    /// [`tag_key`] → index.
    by_key: HashMap<String, TagIndex>,
    /// Customers a write has reached, with their tags (applied writes only).
    customers: HashMap<String, Vec<TagIndex>>,
    /// Accepted writes not yet applied, in acceptance order.
    pending: VecDeque<Pending>,
}

impl Directory {
    /// A directory holding the configured seed tags.
    pub(crate) fn new(seeds: &[TagSeed]) -> Self {
        let mut directory = Self::default();
        for seed in seeds {
            let _ = directory.create_tag(&seed.name, seed.kind);
        }
        directory
    }

    /// The tag named `name` (any case).
    pub(crate) fn find_tag(&self, name: &str) -> Option<TagIndex> {
        self.by_key.get(&tag_key(name)).copied()
    }

    /// The tag at `index`.
    pub(crate) fn tag(&self, index: TagIndex) -> &TagRecord {
        &self.tags[index as usize]
    }

    /// Every tag, in creation order.
    pub(crate) fn tags(&self) -> &[TagRecord] {
        &self.tags
    }

    /// Creates a tag; `Err` with the existing one's index when the name (in any case) is
    /// taken.
    pub(crate) fn create_tag(&mut self, name: &str, kind: TagType) -> Result<TagIndex, TagIndex> {
        let key = tag_key(name);
        if let Some(&existing) = self.by_key.get(&key) {
            return Err(existing);
        }
        let index = TagIndex::try_from(self.tags.len()).unwrap_or(TagIndex::MAX);
        let id = format!("tag_{}", index + 1);
        let json = serde_json::json!({
            "id": id,
            "name": name,
            "type": kind.as_str(),
            "createdTime": rfc3339(std::time::SystemTime::now()),
            "updatedTime": rfc3339(std::time::SystemTime::now()),
        })
        .to_string();
        self.tags.push(TagRecord {
            id,
            name: name.to_owned(),
            kind,
            json,
        });
        self.by_key.insert(key, index);
        Ok(index)
    }

    /// Finds or creates the customer tag `name`, for a write that may create it.
    pub(crate) fn tag_for_write(&mut self, name: &str) -> TagIndex {
        self.create_tag(name, TagType::Customer)
            .unwrap_or_else(|existing| existing)
    }

    /// Queues an accepted write, to take effect at `due`.
    pub(crate) fn schedule(&mut self, due: Instant, action: Action, tag: TagIndex, request: usize) {
        self.pending.push_back(Pending {
            due,
            action,
            tag,
            request,
        });
    }

    /// Accepted writes not yet in effect.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The pending writes touching `id`: (action, tag, due).
    pub(crate) fn pending_for<'a>(
        &'a self,
        id: &'a str,
        requests: &'a [RecordedRequest],
    ) -> impl Iterator<Item = (Action, TagIndex, Instant)> + 'a {
        self.pending
            .iter()
            .filter(move |p| requests[p.request].ids.iter().any(|i| i == id))
            .map(|p| (p.action, p.tag, p.due))
    }

    /// Applies, in order, every pending write due by `now`: a write's IDs that are not
    /// customers, or that the configuration says never to reach, are skipped.
    pub(crate) fn settle(
        &mut self,
        now: Instant,
        requests: &[RecordedRequest],
        config: &MockConfig,
    ) {
        while let Some(next) = self.pending.front().copied() {
            if next.due > now {
                break;
            }
            self.pending.pop_front();
            for id in &requests[next.request].ids {
                if !is_customer(&config.customers, id) || config.never_apply.contains(id) {
                    continue;
                }
                match next.action {
                    Action::Tag => {
                        let tags = self.customers.entry(id.clone()).or_default();
                        if !tags.contains(&next.tag) {
                            tags.push(next.tag);
                        }
                    }
                    Action::Untag => {
                        if let Some(tags) = self.customers.get_mut(id) {
                            tags.retain(|t| *t != next.tag);
                        }
                    }
                }
            }
        }
    }

    /// The tags of `id` now (applied writes only); `None` when it is not a customer.
    pub(crate) fn tags_of(&self, universe: &Universe, id: &str) -> Option<&[TagIndex]> {
        if !is_customer(universe, id) {
            return None;
        }
        Some(self.customers.get(id).map_or(&[], Vec::as_slice))
    }

    /// The customers some write has reached, sorted (the listing of an open universe).
    pub(crate) fn known(&self, universe: &Universe) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .customers
            .keys()
            .map(String::as_str)
            .filter(|id| is_customer(universe, id))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The customers carrying `tag` now, sorted.
    pub(crate) fn carrying(&self, tag: TagIndex) -> BTreeSet<String> {
        self.customers
            .iter()
            .filter(|(_, tags)| tags.contains(&tag))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// How many customers carry each tag, by index.
    pub(crate) fn usage(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.tags.len()];
        for tags in self.customers.values() {
            for &t in tags {
                counts[t as usize] += 1;
            }
        }
        counts
    }
}

/// Whether `id` is a customer: a well-formed ID in the universe.
pub(crate) fn is_customer(universe: &Universe, id: &str) -> bool {
    customer_id_error(id).is_none() && universe.contains(id)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn request(ids: &[&str]) -> RecordedRequest {
        RecordedRequest {
            id: 0,
            operation: super::super::state::Operation::Tag,
            method: String::new(),
            path: String::new(),
            tag: String::new(),
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
    fn tag_names_are_not_case_sensitive() {
        let mut d = Directory::new(&[TagSeed {
            name: "Big Spender".into(),
            kind: TagType::Customer,
        }]);
        assert_eq!(d.find_tag("big SPENDER"), Some(0));
        assert_eq!(d.create_tag("BIG spender", TagType::AmlCheck), Err(0));
        assert_eq!(d.tag_for_write("vip"), 1);
        assert_eq!(d.tag_for_write("VIP"), 1);
        assert_eq!(d.tag(1).name, "vip");
        assert_eq!(d.tag(1).id, "tag_2");
        let json: serde_json::Value = serde_json::from_str(&d.tag(0).json).unwrap();
        assert_eq!(json["name"], "Big Spender");
        assert_eq!(json["type"], "customer");
    }

    #[test]
    fn writes_take_effect_when_due_in_order_and_only_on_customers() {
        let config = MockConfig {
            customers: Universe::Listed(["a", "b", "c"].map(String::from).into()),
            never_apply: ["c".to_owned()].into(),
            ..MockConfig::default()
        };
        let requests = vec![
            request(&["a", "b", "c", "zz"]),
            request(&["b"]),
            request(&["a"]),
        ];
        let mut d = Directory::new(&[]);
        let vip = d.tag_for_write("VIP");
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        d.schedule(t0, Action::Tag, vip, 0);
        d.schedule(t0, Action::Untag, vip, 1);
        d.schedule(later, Action::Untag, vip, 2);
        assert_eq!(d.tags_of(&config.customers, "a"), Some(&[][..]));
        d.settle(t0, &requests, &config);
        assert_eq!(d.pending_count(), 1);
        assert_eq!(d.tags_of(&config.customers, "a"), Some(&[vip][..]));
        assert_eq!(d.tags_of(&config.customers, "b"), Some(&[][..]));
        assert_eq!(
            d.tags_of(&config.customers, "c"),
            Some(&[][..]),
            "never applied"
        );
        assert_eq!(d.tags_of(&config.customers, "zz"), None, "not a customer");
        assert_eq!(d.pending_for("a", &requests).count(), 1);
        assert_eq!(d.carrying(vip), BTreeSet::from(["a".to_owned()]));
        assert_eq!(d.known(&config.customers), ["a", "b"]);
        d.settle(later, &requests, &config);
        assert!(d.carrying(vip).is_empty());
        assert_eq!(d.usage(), [0]);
    }
}
