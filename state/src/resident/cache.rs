//! A bounded in-memory cache of value entries, keyed like the `values`
//! column: `(key hash, version)`.
//!
//! Entries are immutable: versions only grow, so the entry of a key at a
//! version never changes while the store is open and the cache needs no
//! invalidation. Commits put the values they write; reads put what they
//! fetched. A block's reads mostly ask for entries written a few blocks
//! before (the accounts that transact), which the memtable of RocksDB
//! would otherwise answer with a skiplist search.
//!
//! Eviction is by generations: new entries go into the young map; when it
//! holds half the byte budget, the old map is dropped and the young one
//! takes its place. A hit in the old map moves the entry back to the young
//! one. The cache only decides how fast a read is, never what it returns.

use crate::hash::Hash;
use crate::store::Version;
use std::collections::HashMap;

/// Bytes an entry is charged besides its value: the key, the map slot and
/// the allocation of the value.
const ENTRY_OVERHEAD: usize = 96;

type Entries = HashMap<(Hash, Version), Vec<u8>>;

#[derive(Debug, Default)]
pub(crate) struct ValueCache {
    young: Entries,
    old: Entries,
    young_bytes: usize,
    old_bytes: usize,
    /// Half the budget: the most the young generation holds.
    generation_bytes: usize,
}

impl ValueCache {
    /// A cache holding at most about `budget` bytes (0 disables it).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            generation_bytes: budget / 2,
            ..Self::default()
        }
    }

    /// The value of `key_hash` at exactly `version`, if cached.
    pub(crate) fn get(&mut self, key_hash: &Hash, version: Version) -> Option<Vec<u8>> {
        let key = (*key_hash, version);
        if let Some(value) = self.young.get(&key) {
            return Some(value.clone());
        }
        let value = self.old.remove(&key)?;
        let cost = entry_cost(&value);
        self.old_bytes = self.old_bytes.saturating_sub(cost);
        self.insert(key, value.clone(), cost);
        Some(value)
    }

    /// Caches the value of `key_hash` at `version`.
    pub(crate) fn put(&mut self, key_hash: &Hash, version: Version, value: Vec<u8>) {
        let cost = entry_cost(&value);
        self.insert((*key_hash, version), value, cost);
    }

    fn insert(&mut self, key: (Hash, Version), value: Vec<u8>, cost: usize) {
        if cost > self.generation_bytes {
            return;
        }
        if self.young_bytes.saturating_add(cost) > self.generation_bytes {
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = std::mem::take(&mut self.young_bytes);
        }
        if let Some(previous) = self.young.insert(key, value) {
            self.young_bytes = self.young_bytes.saturating_sub(entry_cost(&previous));
        }
        self.young_bytes = self.young_bytes.saturating_add(cost);
    }

    /// Bytes the cached entries are charged.
    pub(crate) fn bytes(&self) -> usize {
        self.young_bytes.saturating_add(self.old_bytes)
    }
}

fn entry_cost(value: &[u8]) -> usize {
    value.len().saturating_add(ENTRY_OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u8) -> Hash {
        [i; 32]
    }

    #[test]
    fn entries_are_found_by_key_hash_and_exact_version() {
        let mut cache = ValueCache::new(1 << 20);
        cache.put(&hash(1), 5, b"five".to_vec());
        assert_eq!(cache.get(&hash(1), 5), Some(b"five".to_vec()));
        assert_eq!(cache.get(&hash(1), 4), None);
        assert_eq!(cache.get(&hash(2), 5), None);
    }

    #[test]
    fn the_budget_bounds_the_cache_and_recent_entries_survive() {
        let budget = 100 * (ENTRY_OVERHEAD + 8);
        let mut cache = ValueCache::new(budget);
        for i in 0..1_000u64 {
            cache.put(&hash(7), i, i.to_le_bytes().to_vec());
            assert!(cache.bytes() <= budget, "{} > {budget}", cache.bytes());
        }
        assert_eq!(cache.get(&hash(7), 999), Some(999u64.to_le_bytes().to_vec()));
        assert_eq!(cache.get(&hash(7), 0), None);
    }

    #[test]
    fn a_hit_in_the_old_generation_moves_the_entry_back() {
        let budget = 2 * 10 * (ENTRY_OVERHEAD + 8);
        let mut cache = ValueCache::new(budget);
        cache.put(&hash(1), 0, 0u64.to_le_bytes().to_vec());
        // Fill the young generation so the first entry ages into the old one.
        for i in 1..=10u64 {
            cache.put(&hash(2), i, i.to_le_bytes().to_vec());
        }
        assert_eq!(cache.get(&hash(1), 0), Some(0u64.to_le_bytes().to_vec()));
        // Another full generation: entries not read again are gone, the one
        // read back survives.
        for i in 11..=19u64 {
            cache.put(&hash(2), i, i.to_le_bytes().to_vec());
        }
        assert_eq!(cache.get(&hash(1), 0), Some(0u64.to_le_bytes().to_vec()));
        assert_eq!(cache.get(&hash(2), 1), None);
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let mut cache = ValueCache::new(0);
        cache.put(&hash(1), 1, vec![1]);
        assert_eq!(cache.get(&hash(1), 1), None);
        assert_eq!(cache.bytes(), 0);
    }
}
