//! An exact, compact set of the IDs seen so far.
//!
//! Ten million IDs in a `HashSet<String>` cost a heap allocation and 24 bytes
//! of `String` each. Here the bytes live once in large arena chunks and the
//! table holds one packed `u64` (offset and length) per ID. Equality is always
//! checked on the bytes, so a hash collision can never drop a distinct ID.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Bytes per arena chunk; IDs never straddle two chunks.
const CHUNK: usize = 1 << 20;
const LEN_BITS: u32 = 8;
/// Marks an ID preloaded from a `--journal` and not read again yet.
const RESUMED: u64 = 1 << 63;

/// What [`IdSet::visit`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not in the set.
    New,
    /// Read before in this run.
    Again,
    /// Preloaded (confirmed by an earlier run), read now for the first time.
    Resumed,
}

/// The set of IDs seen so far.
pub struct IdSet {
    chunks: Vec<Vec<u8>>,
    table: HashTable<u64>,
    hasher: foldhash::fast::RandomState,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet::new()
    }
}

impl IdSet {
    /// An empty set.
    pub fn new() -> IdSet {
        IdSet {
            chunks: Vec::new(),
            table: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// An empty set with room for about `n` IDs: growing a table of millions
    /// re-hashes every entry each time, so a good guess halves the cost.
    pub fn with_capacity(n: usize) -> IdSet {
        let mut set = IdSet::new();
        set.table.reserve(n, |_| 0);
        set
    }

    /// Adds `id` (at most 255 bytes) and says whether it was new.
    pub fn insert(&mut self, id: &[u8]) -> bool {
        self.visit(id, true) == Seen::New
    }

    /// Looks `id` up, adding it if it is new and `remember` is set. A
    /// preloaded ID answers [`Seen::Resumed`] once, then [`Seen::Again`].
    #[inline]
    pub fn visit(&mut self, id: &[u8], remember: bool) -> Seen {
        debug_assert!(id.len() < (1 << LEN_BITS));
        let hash = self.hasher.hash_one(id);
        let chunks = &self.chunks;
        if let Some(packed) = self
            .table
            .find_mut(hash, |&packed| bytes_of(chunks, packed) == id)
        {
            if *packed & RESUMED != 0 {
                *packed &= !RESUMED;
                return Seen::Resumed;
            }
            return Seen::Again;
        }
        if remember {
            self.add(hash, id, 0);
        }
        Seen::New
    }

    /// Adds an ID an earlier run confirmed (from `--journal`); a repeat is
    /// ignored. Says whether it was new.
    pub fn preload(&mut self, id: &[u8]) -> bool {
        let hash = self.hasher.hash_one(id);
        let chunks = &self.chunks;
        if self
            .table
            .find(hash, |&packed| bytes_of(chunks, packed) == id)
            .is_some()
        {
            return false;
        }
        self.add(hash, id, RESUMED);
        true
    }

    fn add(&mut self, hash: u64, id: &[u8], flag: u64) {
        let packed = self.store(id) | flag;
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.table
            .insert_unique(hash, packed, |&p| hasher.hash_one(bytes_of(chunks, p)));
    }

    /// The number of distinct IDs.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no ID was added.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn store(&mut self, id: &[u8]) -> u64 {
        let need_new = match self.chunks.last() {
            Some(c) => c.len() + id.len() > CHUNK,
            None => true,
        };
        if need_new {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let offset = (index * CHUNK + chunk.len()) as u64;
        chunk.extend_from_slice(id);
        (offset << LEN_BITS) | id.len() as u64
    }
}

#[inline]
fn bytes_of(chunks: &[Vec<u8>], packed: u64) -> &[u8] {
    let len = (packed & ((1 << LEN_BITS) - 1)) as usize;
    let offset = ((packed & !RESUMED) >> LEN_BITS) as usize;
    let (index, start) = (offset / CHUNK, offset % CHUNK);
    &chunks[index][start..start + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_occurrence_wins() {
        let mut set = IdSet::new();
        assert!(set.insert(b"a"));
        assert!(set.insert(b"b"));
        assert!(!set.insert(b"a"));
        assert!(set.insert(b"ab"));
        assert!(!set.insert(b"ab"));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn a_preloaded_id_is_resumed_once() {
        let mut set = IdSet::new();
        assert!(set.preload(b"a"));
        assert!(!set.preload(b"a"));
        assert_eq!(set.visit(b"b", false), Seen::New);
        assert_eq!(set.visit(b"b", false), Seen::New);
        assert_eq!(set.visit(b"a", true), Seen::Resumed);
        assert_eq!(set.visit(b"a", true), Seen::Again);
        assert!(set.insert(b"c"));
        assert_eq!(set.visit(b"c", true), Seen::Again);
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn exact_across_chunks_and_growth() {
        let mut set = IdSet::new();
        let n = 200_000;
        for i in 0..n {
            assert!(set.insert(format!("customer-{i:044}").as_bytes()));
        }
        assert!(set.chunks.len() > 1);
        for i in 0..n {
            assert!(!set.insert(format!("customer-{i:044}").as_bytes()));
        }
        assert_eq!(set.len(), n);
    }
}
