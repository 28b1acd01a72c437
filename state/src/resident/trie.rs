//! The whole binary trie of `specs/state.md` section 3, resident in memory.
//!
//! Layout (`specs/state.md` section 7):
//! - **Buckets**: the leaves whose key hashes share their first `bits` bits,
//!   sorted by key hash, each `(key hash, leaf hash, version that set it)`.
//!   A bucket holds about 4 to 8 leaves; its subtree is rehashed from its
//!   leaves when it changes (a few hashes), so no hash below the bucket
//!   level is stored.
//! - **Dense levels**: for every position at depths `0..=bits`, the
//!   [`Summary`] of its subtree (empty, a lone leaf, or a branch, and its
//!   hash), in one heap-ordered array (node `(d, p)` at index `2^d + p`).
//!
//! Updates compute new buckets and summaries without touching the trie
//! ([`Trie::prepare`], pure, on all cores split by subtree); installing them
//! ([`Trie::install`]) swaps them in and returns what they replaced, the
//! reverse delta older versions are read through. Nothing here depends on
//! thread timing or hash-map order: each part of the work is a function of
//! its subtree alone.

use crate::hash::{EMPTY_HASH, Hash, bit, internal_hash};
use crate::proof::{Coverage, witness_sides};
use std::sync::Arc;

/// A leaf of the trie: a present key, by hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// keccak256 of the key.
    pub(crate) key_hash: Hash,
    /// `leaf(key_hash, value_hash)` (`specs/state.md` section 2).
    pub(crate) leaf_hash: Hash,
    /// The version whose commit set the value (its value entry's version).
    pub(crate) version: u64,
}

/// What a subtree is, as far as its parent's hash is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No leaf: hashes as [`EMPTY_HASH`].
    Empty = 0,
    /// Exactly one leaf: hashes as that leaf (single-child compression).
    Leaf = 1,
    /// Two leaves or more: an internal node.
    Branch = 2,
}

impl Kind {
    fn from_byte(byte: u8) -> Kind {
        match byte {
            1 => Kind::Leaf,
            2 => Kind::Branch,
            _ => Kind::Empty,
        }
    }
}

/// A subtree's kind and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) kind: Kind,
    pub(crate) hash: Hash,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::EMPTY
    }
}

impl Summary {
    pub(crate) const EMPTY: Summary = Summary {
        kind: Kind::Empty,
        hash: EMPTY_HASH,
    };

    /// The summary of a node from its children's, by the rule of
    /// `specs/state.md` section 3.
    pub(crate) fn join(left: &Summary, right: &Summary) -> Summary {
        match (left.kind, right.kind) {
            (Kind::Empty, Kind::Empty) => Summary::EMPTY,
            (Kind::Leaf, Kind::Empty) => *left,
            (Kind::Empty, Kind::Leaf) => *right,
            _ => Summary {
                kind: Kind::Branch,
                hash: internal_hash(&left.hash, &right.hash),
            },
        }
    }
}

/// The summary of the subtree at `depth` holding `leaves` (sorted, sharing
/// their first `depth` bits).
pub(crate) fn summarize(leaves: &[Leaf], depth: usize) -> Summary {
    match leaves {
        [] => Summary::EMPTY,
        [leaf] => Summary {
            kind: Kind::Leaf,
            hash: leaf.leaf_hash,
        },
        _ => Summary {
            kind: Kind::Branch,
            hash: subtree_hash(leaves, depth),
        },
    }
}

fn subtree_hash(leaves: &[Leaf], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY_HASH,
        [leaf] => leaf.leaf_hash,
        _ => {
            let split = leaves.partition_point(|l| bit(&l.key_hash, depth) == 0);
            let (left, right) = leaves.split_at(split);
            internal_hash(
                &subtree_hash(left, depth + 1),
                &subtree_hash(right, depth + 1),
            )
        }
    }
}

/// Smallest and largest bucket depth. 2^26 buckets would cost 4 GiB of
/// summaries: far beyond the sizes this store is meant for.
pub(crate) const MIN_BITS: u32 = 6;
pub(crate) const MAX_BITS: u32 = 26;

/// A layout is rebuilt when the average bucket holds more than
/// `MAX_FILL` leaves (every changed bucket is rehashed whole: a bucket of
/// `k` leaves costs about `1.4 k` hashes, against `log2 k + 1.3` for a
/// path, so big buckets cost hashes) or fewer than `MIN_FILL` (summaries
/// cost 33 bytes each). 4 measured fastest for 10k-update blocks at 1M keys.
pub(crate) const MAX_FILL: u64 = 4;
const MIN_FILL: u64 = 1;

/// The bucket depth for `leaves` leaves: average fill in `(MAX_FILL/2, MAX_FILL]`.
pub(crate) fn bits_for(leaves: u64) -> u32 {
    let mut bits = MIN_BITS;
    while bits < MAX_BITS && leaves > MAX_FILL << bits {
        bits += 1;
    }
    bits
}

/// Whether a trie of `leaves` leaves should leave its `bits` layout.
/// A new layout hashes the whole trie again, so it waits until the fill is
/// half as high again as a fresh layout's (`(MAX_FILL/2, MAX_FILL]`): a state
/// just past a boundary does not pay it at once, and growth pays it once
/// per doubling.
pub(crate) fn needs_relayout(bits: u32, leaves: u64) -> bool {
    bits != bits_for(leaves)
        && (leaves > (MAX_FILL + MAX_FILL / 2) << bits
            || (leaves < MIN_FILL << bits && bits > MIN_BITS))
}

/// The bucket of a key hash in a layout of `bits` bits (`bits <= 32`).
pub(crate) fn bucket_of(key_hash: &Hash, bits: u32) -> usize {
    let top = u32::from_be_bytes([key_hash[0], key_hash[1], key_hash[2], key_hash[3]]);
    // `bits` is in MIN_BITS..=MAX_BITS, so the shift is below 32.
    usize::try_from(top >> (32 - bits)).unwrap_or(usize::MAX)
}

/// The first `n` bits of a key hash (`n <= 32`), as a number.
fn top_bits(key_hash: &Hash, n: u32) -> usize {
    if n == 0 { 0 } else { bucket_of(key_hash, n) }
}

fn usize_of(bits: u32) -> usize {
    1usize << bits
}

/// The in-memory trie.
#[derive(Debug, Clone)]
pub(crate) struct Trie {
    bits: u32,
    /// Heap-ordered summaries' hashes, index `2^d + p`; index 0 unused.
    hashes: Vec<Hash>,
    /// Their kinds (a [`Kind`] as a byte).
    kinds: Vec<u8>,
    buckets: Vec<Arc<[Leaf]>>,
    leaves: u64,
}

/// Read access to one version of the trie: the live one, or an older one
/// through reverse deltas.
pub(crate) trait TrieView {
    /// The bucket depth.
    fn bits(&self) -> u32;
    /// The summary at heap index `index` (depth `<= bits`).
    fn summary(&self, index: usize) -> Summary;
    /// The leaves of bucket `bucket`.
    fn bucket(&self, bucket: usize) -> &[Leaf];
}

impl TrieView for Trie {
    fn bits(&self) -> u32 {
        self.bits
    }
    fn summary(&self, index: usize) -> Summary {
        Summary {
            kind: Kind::from_byte(self.kinds[index]),
            hash: self.hashes[index],
        }
    }
    fn bucket(&self, bucket: usize) -> &[Leaf] {
        &self.buckets[bucket]
    }
}

/// A change by hashes: the new leaf (key hash, leaf hash) or a deletion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeafChange {
    pub(crate) key_hash: Hash,
    /// `None` deletes.
    pub(crate) leaf_hash: Option<Hash>,
}

/// New buckets and summaries computed by [`Trie::prepare`], for
/// [`Trie::install`].
#[derive(Debug, Default)]
pub(crate) struct TrieDelta {
    /// Changed buckets, by index, ascending.
    pub(crate) buckets: Vec<(u32, Arc<[Leaf]>)>,
    /// Changed summaries, by heap index, ascending.
    pub(crate) summaries: Vec<(u32, Summary)>,
    /// The new root summary.
    pub(crate) root: Summary,
    /// The leaf count after the change.
    pub(crate) leaves: u64,
}

/// What [`Trie::install`] replaced: the trie of the previous version is the
/// current one with these put back.
#[derive(Debug)]
pub(crate) struct ReverseDelta {
    /// Leaves held by `buckets` (the delta's memory, in leaves).
    pub(crate) leaves: u64,
    pub(crate) buckets: Vec<(u32, Arc<[Leaf]>)>,
    pub(crate) summaries: Vec<(u32, Summary)>,
}

impl ReverseDelta {
    pub(crate) fn summary(&self, index: usize) -> Option<Summary> {
        let key = u32::try_from(index).ok()?;
        self.summaries
            .binary_search_by_key(&key, |(i, _)| *i)
            .ok()
            .map(|at| self.summaries[at].1)
    }

    pub(crate) fn bucket(&self, bucket: usize) -> Option<&[Leaf]> {
        let key = u32::try_from(bucket).ok()?;
        self.buckets
            .binary_search_by_key(&key, |(i, _)| *i)
            .ok()
            .map(|at| &*self.buckets[at].1)
    }

    /// Approximate heap bytes held (for the memory budget).
    pub(crate) fn bytes(&self) -> usize {
        self.summaries.len() * std::mem::size_of::<(u32, Summary)>()
            + self
                .buckets
                .iter()
                .map(|(_, b)| 24 + b.len() * std::mem::size_of::<Leaf>())
                .sum::<usize>()
    }
}

/// One part of a parallel update: a subtree at depth `top` and what
/// changed under it, level by level.
struct PartDelta {
    buckets: Vec<(u32, Arc<[Leaf]>)>,
    /// `levels[d - top]`: changed positions at depth `d` (ascending) with
    /// their new summaries, for `d` in `top..=bits`.
    levels: Vec<Vec<(usize, Summary)>>,
}

/// Below this many changes an update runs on one thread: spawning costs
/// more than it saves.
const PARALLEL_MIN_CHANGES: usize = 2048;

/// The number of worker threads for hashing (all cores), read once: on
/// Linux `available_parallelism` reads the affinity mask and the cgroup's
/// CPU quota from files on every call, and every block asks twice.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Merges `changes` (sorted by key hash, unique, all in this bucket) into
/// `old`, new leaves stamped `version`.
fn merge_bucket(old: &[Leaf], changes: &[LeafChange], version: u64) -> Vec<Leaf> {
    let mut out = Vec::with_capacity(old.len() + changes.len());
    let mut old_iter = old.iter().peekable();
    for change in changes {
        while let Some(leaf) = old_iter.peek() {
            if leaf.key_hash < change.key_hash {
                out.push(**leaf);
                old_iter.next();
            } else {
                break;
            }
        }
        if old_iter
            .peek()
            .is_some_and(|leaf| leaf.key_hash == change.key_hash)
        {
            old_iter.next();
        }
        if let Some(leaf_hash) = change.leaf_hash {
            out.push(Leaf {
                key_hash: change.key_hash,
                leaf_hash,
                version,
            });
        }
    }
    out.extend(old_iter);
    out
}

impl Trie {
    /// An empty trie with `bits` bucket bits.
    pub(crate) fn empty(bits: u32) -> Trie {
        let bits = bits.clamp(MIN_BITS, MAX_BITS);
        let empty: Arc<[Leaf]> = Arc::from(Vec::new());
        Trie {
            bits,
            hashes: vec![EMPTY_HASH; usize_of(bits + 1)],
            kinds: vec![0; usize_of(bits + 1)],
            buckets: vec![empty; usize_of(bits)],
            leaves: 0,
        }
    }

    /// A trie of `leaves` (sorted by key hash, unique), laid out for their
    /// number, hashed on all cores.
    pub(crate) fn from_sorted(leaves: impl IntoIterator<Item = Leaf>, count_hint: u64) -> Trie {
        let mut trie = Trie::empty(bits_for(count_hint));
        trie.fill_sorted(leaves);
        let bits = bits_for(trie.leaves);
        if bits != trie.bits {
            trie = trie.relayout(bits);
        }
        trie.rehash_all();
        trie
    }

    fn fill_sorted(&mut self, leaves: impl IntoIterator<Item = Leaf>) {
        let mut current: Option<usize> = None;
        let mut pending: Vec<Leaf> = Vec::new();
        let mut count = 0u64;
        for leaf in leaves {
            let bucket = bucket_of(&leaf.key_hash, self.bits);
            if current != Some(bucket) {
                if let Some(done) = current {
                    self.buckets[done] = Arc::from(std::mem::take(&mut pending));
                }
                current = Some(bucket);
            }
            pending.push(leaf);
            count += 1;
        }
        if let Some(done) = current {
            self.buckets[done] = Arc::from(pending);
        }
        self.leaves = count;
    }

    /// The same leaves laid out with `bits` bucket bits (summaries not yet
    /// computed: call [`Trie::rehash_all`]).
    fn relayout(&self, bits: u32) -> Trie {
        let mut trie = Trie::empty(bits);
        trie.fill_sorted(self.buckets.iter().flat_map(|b| b.iter().copied()));
        trie
    }

    /// The bucket table, to fill when loading an image.
    pub(crate) fn buckets_mut(&mut self) -> &mut [Arc<[Leaf]>] {
        &mut self.buckets
    }

    /// Sets the leaf count after filling the buckets directly.
    pub(crate) fn set_leaves(&mut self, leaves: u64) {
        self.leaves = leaves;
    }

    /// The layout's bucket depth.
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// Number of leaves (present keys).
    pub(crate) fn leaves(&self) -> u64 {
        self.leaves
    }

    /// The root summary.
    pub(crate) fn root(&self) -> Summary {
        self.summary(1)
    }

    /// All buckets, for a checkpoint image (cheap: reference counts).
    pub(crate) fn bucket_handles(&self) -> Vec<Arc<[Leaf]>> {
        self.buckets.clone()
    }

    /// The leaf of `key_hash`, if present.
    pub(crate) fn leaf(&self, key_hash: &Hash) -> Option<Leaf> {
        find_leaf(self, key_hash)
    }

    /// Heap bytes the trie holds (summaries, bucket table, leaves and their
    /// allocation headers).
    pub(crate) fn bytes(&self) -> usize {
        self.hashes.len() * 33
            + self.buckets.len() * std::mem::size_of::<Arc<[Leaf]>>()
            + self
                .buckets
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| 16 + b.len() * std::mem::size_of::<Leaf>())
                .sum::<usize>()
    }

    /// Recomputes every summary from the buckets, on all cores.
    pub(crate) fn rehash_all(&mut self) {
        let bits = self.bits;
        let threads = threads().next_power_of_two();
        let top = threads.trailing_zeros().min(bits);
        let parts = usize_of(top);
        // Each part owns a contiguous range of every level at depth >= top.
        let mut level_slices: Vec<Vec<(&mut [Hash], &mut [u8])>> =
            (0..parts).map(|_| Vec::new()).collect();
        {
            let (mut hashes, mut kinds): (&mut [Hash], &mut [u8]) =
                (&mut self.hashes, &mut self.kinds);
            // Skip index 0 and the levels above `top`.
            let skip = usize_of(top);
            let (_, h) = hashes.split_at_mut(skip);
            let (_, k) = kinds.split_at_mut(skip);
            hashes = h;
            kinds = k;
            for depth in top..=bits {
                let width = usize_of(depth);
                let (level_h, rest_h) = hashes.split_at_mut(width);
                let (level_k, rest_k) = kinds.split_at_mut(width);
                hashes = rest_h;
                kinds = rest_k;
                let per = width / parts;
                for (part, (h, k)) in level_h
                    .chunks_mut(per)
                    .zip(level_k.chunks_mut(per))
                    .enumerate()
                {
                    level_slices[part].push((h, k));
                }
            }
        }
        let buckets = &self.buckets;
        let per_part = usize_of(bits - top);
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (part, levels) in level_slices.into_iter().enumerate() {
                let buckets = &buckets[part * per_part..(part + 1) * per_part];
                let work = move || {
                    let mut levels = levels;
                    // The bottom level: bucket summaries.
                    let Some((bottom_h, bottom_k)) = levels.last_mut() else {
                        return;
                    };
                    for (i, bucket) in buckets.iter().enumerate() {
                        let s = summarize(bucket, bits as usize);
                        bottom_h[i] = s.hash;
                        bottom_k[i] = s.kind as u8;
                    }
                    for depth in (0..levels.len().saturating_sub(1)).rev() {
                        let (upper, lower) = levels.split_at_mut(depth + 1);
                        let (up_h, up_k) = &mut upper[depth];
                        let (low_h, low_k) = &lower[0];
                        for i in 0..up_h.len() {
                            let left = Summary {
                                kind: Kind::from_byte(low_k[2 * i]),
                                hash: low_h[2 * i],
                            };
                            let right = Summary {
                                kind: Kind::from_byte(low_k[2 * i + 1]),
                                hash: low_h[2 * i + 1],
                            };
                            let s = Summary::join(&left, &right);
                            up_h[i] = s.hash;
                            up_k[i] = s.kind as u8;
                        }
                    }
                };
                if part + 1 == parts {
                    work();
                } else {
                    handles.push(scope.spawn(work));
                }
            }
            for handle in handles {
                // A panic in a worker is a bug; propagate it.
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
        for depth in (0..top).rev() {
            let start = usize_of(depth);
            for index in start..2 * start {
                let s = Summary::join(&self.summary(2 * index), &self.summary(2 * index + 1));
                self.hashes[index] = s.hash;
                self.kinds[index] = s.kind as u8;
            }
        }
    }

    /// Merges `changes` (sorted by key hash, unique) into the buckets
    /// without rehashing (recovery replays many versions, then hashes once).
    pub(crate) fn apply_unhashed(&mut self, changes: &[LeafChange], version: u64) {
        let mut rest = changes;
        while let Some(first) = rest.first() {
            let bucket = bucket_of(&first.key_hash, self.bits);
            let end = rest.partition_point(|c| bucket_of(&c.key_hash, self.bits) == bucket);
            let (group, tail) = rest.split_at(end);
            let merged = merge_bucket(&self.buckets[bucket], group, version);
            self.leaves = self.leaves - self.buckets[bucket].len() as u64 + merged.len() as u64;
            self.buckets[bucket] = Arc::from(merged);
            rest = tail;
        }
    }

    /// The same leaves in the layout their number calls for, not yet
    /// hashed (between versions of a long replay).
    pub(crate) fn relayout_unhashed(self) -> Trie {
        let bits = bits_for(self.leaves);
        if bits == self.bits {
            self
        } else {
            self.relayout(bits)
        }
    }

    /// Lays the trie out anew if its fill left the allowed range (after
    /// [`Trie::apply_unhashed`]), then rehashes it whole.
    pub(crate) fn finish_unhashed(self) -> Trie {
        let bits = bits_for(self.leaves);
        let mut trie = if bits == self.bits {
            self
        } else {
            self.relayout(bits)
        };
        trie.rehash_all();
        trie
    }

    /// Computes the trie after `changes` (sorted by key hash, unique), new
    /// leaves stamped `version`, without changing anything. Use
    /// [`Trie::rebuilt`] instead when the result needs another layout
    /// ([`needs_relayout`]).
    pub(crate) fn prepare(&self, changes: &[LeafChange], version: u64) -> TrieDelta {
        let bits = self.bits;
        let parallel = changes.len() >= PARALLEL_MIN_CHANGES;
        let top = if parallel {
            threads().next_power_of_two().trailing_zeros().min(bits)
        } else {
            0
        };
        let parts = usize_of(top);
        let mut split: Vec<&[LeafChange]> = Vec::with_capacity(parts);
        let mut rest = changes;
        for part in 0..parts {
            let end = rest.partition_point(|c| top_bits(&c.key_hash, top) <= part);
            let (mine, tail) = rest.split_at(end);
            split.push(mine);
            rest = tail;
        }
        let results: Vec<PartDelta> = if parts == 1 {
            vec![self.prepare_part(0, 0, changes, version)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = split
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(part, mine)| {
                        scope.spawn(move || self.prepare_part(top, part, mine, version))
                    })
                    .collect();
                let mut out = vec![self.prepare_part(top, 0, split[0], version)];
                for handle in handles {
                    match handle.join() {
                        Ok(part) => out.push(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                out
            })
        };
        let mut delta = TrieDelta::default();
        let mut leaves = self.leaves;
        for part in &results {
            for (index, bucket) in &part.buckets {
                let old = self.buckets[*index as usize].len() as u64;
                leaves = leaves - old + bucket.len() as u64;
            }
        }
        // Levels above `top`: join the parts' top summaries.
        let mut level: Vec<(usize, Summary)> = results
            .iter()
            .flat_map(|p| p.levels.first().into_iter().flatten().copied())
            .collect();
        let mut upper: Vec<Vec<(usize, Summary)>> = Vec::with_capacity(top as usize + 1);
        for depth in (1..=top as usize).rev() {
            let parents = self.join_level(depth, &level);
            upper.push(std::mem::replace(&mut level, parents));
        }
        upper.push(level);
        // `upper[d]` is depth `d`.
        upper.reverse();
        let mut push = |depth: usize, entries: &mut dyn Iterator<Item = &(usize, Summary)>| {
            let base = usize_of(u32::try_from(depth).unwrap_or(0));
            for (pos, summary) in entries {
                let index = u32::try_from(base + pos).unwrap_or(u32::MAX);
                delta.summaries.push((index, *summary));
            }
        };
        for (depth, level) in upper.iter().enumerate() {
            push(depth, &mut level.iter());
        }
        for level in 1..=(bits - top) as usize {
            push(
                top as usize + level,
                &mut results.iter().flat_map(|p| p.levels[level].iter()),
            );
        }
        delta.buckets = results.into_iter().flat_map(|p| p.buckets).collect();
        delta.root = upper[0].first().map_or_else(|| self.root(), |(_, s)| *s);
        delta.leaves = leaves;
        delta
    }

    /// The trie after `changes`, laid out anew for its size.
    pub(crate) fn rebuilt(&self, changes: &[LeafChange], version: u64) -> Trie {
        let mut merged = Vec::new();
        let mut rest = changes;
        let old = self.buckets.iter().flat_map(|b| b.iter());
        let mut old = old.peekable();
        // One pass: old leaves and changes, both sorted.
        loop {
            match (old.peek(), rest.first()) {
                (None, None) => break,
                (Some(leaf), Some(change)) if leaf.key_hash < change.key_hash => {
                    merged.push(**leaf);
                    old.next();
                }
                (Some(leaf), None) => {
                    merged.push(**leaf);
                    old.next();
                }
                (leaf, Some(change)) => {
                    if leaf.is_some_and(|l| l.key_hash == change.key_hash) {
                        old.next();
                    }
                    if let Some(leaf_hash) = change.leaf_hash {
                        merged.push(Leaf {
                            key_hash: change.key_hash,
                            leaf_hash,
                            version,
                        });
                    }
                    rest = &rest[1..];
                }
            }
        }
        let count = merged.len() as u64;
        Trie::from_sorted(merged, count)
    }

    /// New summaries at depth `depth - 1` from changed positions at `depth`.
    fn join_level(&self, depth: usize, changed: &[(usize, Summary)]) -> Vec<(usize, Summary)> {
        let base = usize_of(u32::try_from(depth).unwrap_or(0));
        let mut out = Vec::with_capacity(changed.len());
        let mut i = 0;
        while i < changed.len() {
            let (pos, summary) = changed[i];
            let parent = pos / 2;
            let (left, right) = if pos % 2 == 0 {
                match changed.get(i + 1) {
                    Some((next, s)) if *next == pos + 1 => {
                        i += 1;
                        (summary, *s)
                    }
                    _ => (summary, self.summary(base + pos + 1)),
                }
            } else {
                (self.summary(base + pos - 1), summary)
            };
            out.push((parent, Summary::join(&left, &right)));
            i += 1;
        }
        out
    }

    fn prepare_part(
        &self,
        top: u32,
        part: usize,
        changes: &[LeafChange],
        version: u64,
    ) -> PartDelta {
        let bits = self.bits;
        let mut buckets = Vec::new();
        let mut bottom = Vec::new();
        let mut rest = changes;
        while let Some(first) = rest.first() {
            let bucket = bucket_of(&first.key_hash, bits);
            let end = rest.partition_point(|c| bucket_of(&c.key_hash, bits) == bucket);
            let (group, tail) = rest.split_at(end);
            let merged = merge_bucket(&self.buckets[bucket], group, version);
            let summary = summarize(&merged, bits as usize);
            buckets.push((
                u32::try_from(bucket).unwrap_or(u32::MAX),
                Arc::<[Leaf]>::from(merged),
            ));
            bottom.push((bucket, summary));
            rest = tail;
        }
        let _ = part;
        let levels_count = (bits - top) as usize + 1;
        let mut levels: Vec<Vec<(usize, Summary)>> = vec![Vec::new(); levels_count];
        levels[levels_count - 1] = bottom;
        for level in (0..levels_count - 1).rev() {
            let depth = top as usize + level + 1;
            let joined = self.join_level(depth, &levels[level + 1]);
            levels[level] = joined;
        }
        PartDelta { buckets, levels }
    }

    /// Swaps a prepared delta in; returns what it replaced.
    pub(crate) fn install(&mut self, delta: TrieDelta) -> ReverseDelta {
        let mut summaries = delta.summaries;
        for (index, summary) in &mut summaries {
            let i = *index as usize;
            let old = self.summary(i);
            self.hashes[i] = summary.hash;
            self.kinds[i] = summary.kind as u8;
            *summary = old;
        }
        let mut buckets = delta.buckets;
        for (index, bucket) in &mut buckets {
            std::mem::swap(&mut self.buckets[*index as usize], bucket);
        }
        self.leaves = delta.leaves;
        ReverseDelta {
            leaves: buckets.iter().map(|(_, b)| b.len() as u64).sum(),
            buckets,
            summaries,
        }
    }
}

/// The leaf of `key_hash` in `view`, if present.
pub(crate) fn find_leaf<V: TrieView + ?Sized>(view: &V, key_hash: &Hash) -> Option<Leaf> {
    let bucket = view.bucket(bucket_of(key_hash, view.bits()));
    bucket
        .binary_search_by(|l| l.key_hash.cmp(key_hash))
        .ok()
        .map(|at| bucket[at])
}

/// An older version of the trie: the live trie with reverse deltas put
/// back, newest first (`deltas` ordered oldest to newest; the first one
/// holding a position wins).
pub(crate) struct HistoricalView<'a> {
    pub(crate) live: &'a Trie,
    pub(crate) deltas: Vec<&'a ReverseDelta>,
}

impl TrieView for HistoricalView<'_> {
    fn bits(&self) -> u32 {
        self.live.bits
    }
    fn summary(&self, index: usize) -> Summary {
        self.deltas
            .iter()
            .find_map(|d| d.summary(index))
            .unwrap_or_else(|| self.live.summary(index))
    }
    fn bucket(&self, bucket: usize) -> &[Leaf] {
        self.deltas
            .iter()
            .find_map(|d| d.bucket(bucket))
            .unwrap_or_else(|| self.live.bucket(bucket))
    }
}

/// The structural part of a proof: siblings, and the leaf the path ends at.
#[derive(Debug)]
pub(crate) struct ProofPlan {
    pub(crate) siblings: Vec<Hash>,
    pub(crate) end: Option<Leaf>,
}

/// The lone leaf of a subtree whose summary is [`Kind::Leaf`], found by
/// descending to its bucket.
fn lone_leaf<V: TrieView + ?Sized>(view: &V, mut index: usize, mut depth: u32) -> Option<Leaf> {
    let bits = view.bits();
    while depth < bits {
        let left = 2 * index;
        index = if view.summary(left).kind == Kind::Leaf {
            left
        } else {
            left + 1
        };
        depth += 1;
    }
    let bucket = index - usize_of(bits);
    match view.bucket(bucket) {
        [leaf] => Some(*leaf),
        _ => None,
    }
}

/// The proof path of `key_hash`: `None` if the trie is inconsistent (a
/// bug or memory corruption; reported as an error by the caller).
pub(crate) fn plan_proof<V: TrieView + ?Sized>(view: &V, key_hash: &Hash) -> Option<ProofPlan> {
    let bits = view.bits();
    let mut siblings = Vec::new();
    let mut index = 1usize;
    let mut depth = 0u32;
    let root = view.summary(1);
    match root.kind {
        Kind::Empty => {
            return Some(ProofPlan {
                siblings,
                end: None,
            });
        }
        Kind::Leaf => {
            return Some(ProofPlan {
                siblings,
                end: Some(lone_leaf(view, 1, 0)?),
            });
        }
        Kind::Branch => {}
    }
    while depth < bits {
        let b = usize::from(bit(key_hash, depth as usize));
        let child = 2 * index + b;
        siblings.push(view.summary(child ^ 1).hash);
        depth += 1;
        index = child;
        let s = view.summary(child);
        match s.kind {
            Kind::Empty => {
                return Some(ProofPlan {
                    siblings,
                    end: None,
                });
            }
            Kind::Leaf => {
                return Some(ProofPlan {
                    siblings,
                    end: Some(lone_leaf(view, index, depth)?),
                });
            }
            Kind::Branch => {}
        }
    }
    // A branch bucket: continue on its leaves.
    let mut leaves = view.bucket(index - usize_of(bits));
    let mut depth = bits as usize;
    loop {
        let split = leaves.partition_point(|l| bit(&l.key_hash, depth) == 0);
        let (left, right) = leaves.split_at(split);
        let (own, other) = if bit(key_hash, depth) == 0 {
            (left, right)
        } else {
            (right, left)
        };
        siblings.push(subtree_hash(other, depth + 1));
        depth += 1;
        match own {
            [] => {
                return Some(ProofPlan {
                    siblings,
                    end: None,
                });
            }
            [leaf] => {
                return Some(ProofPlan {
                    siblings,
                    end: Some(*leaf),
                });
            }
            _ => leaves = own,
        }
        if depth >= 256 {
            return None;
        }
    }
}

/// A witness node before leaves get their value hashes.
#[derive(Debug)]
pub(crate) enum PlanNode {
    Empty,
    Leaf(Leaf),
    Hash(Hash),
    Branch,
}

impl PlanNode {
    /// `0x00` for an empty subtree, else its hash.
    fn of_hash(hash: Hash) -> PlanNode {
        if hash == EMPTY_HASH {
            PlanNode::Empty
        } else {
            PlanNode::Hash(hash)
        }
    }
}

/// The witness of `targets` (sorted, unique), pre-order, as in
/// `specs/state.md` 5.2: an empty subtree is `Empty`, a subtree without
/// targets its hash (opened one level when its sibling's leaves are all
/// targets), a lone leaf the leaf, a branch its two sides.
pub(crate) fn plan_witness<V: TrieView + ?Sized>(
    view: &V,
    targets: &[Hash],
) -> Option<Vec<PlanNode>> {
    let mut out = Vec::new();
    witness_dense(view, 1, 0, targets, &mut out).ok()?;
    Some(out)
}

/// An inconsistent trie (reported as an error by the caller).
type Planned = Result<Coverage, ()>;

fn witness_dense<V: TrieView + ?Sized>(
    view: &V,
    index: usize,
    depth: u32,
    targets: &[Hash],
    out: &mut Vec<PlanNode>,
) -> Planned {
    let s = view.summary(index);
    match s.kind {
        Kind::Empty => {
            out.push(PlanNode::Empty);
            Ok(Coverage::Empty)
        }
        _ if targets.is_empty() => {
            out.push(PlanNode::Hash(s.hash));
            Ok(Coverage::Partial)
        }
        Kind::Leaf => {
            let leaf = lone_leaf(view, index, depth).ok_or(())?;
            out.push(PlanNode::Leaf(leaf));
            Ok(Coverage::of_leaf(&leaf.key_hash, targets))
        }
        Kind::Branch if depth == view.bits() => {
            let leaves = view.bucket(index - usize_of(depth));
            witness_leaves(leaves, depth as usize, targets, out)
        }
        Kind::Branch => {
            out.push(PlanNode::Branch);
            let split = targets.partition_point(|t| bit(t, depth as usize) == 0);
            let sides = [&targets[..split], &targets[split..]];
            witness_sides(
                out,
                [!sides[0].is_empty(), !sides[1].is_empty()],
                &mut |side, out| witness_dense(view, 2 * index + side, depth + 1, sides[side], out),
                &mut |side, out| open_dense(view, 2 * index + side, depth + 1, out),
            )
        }
    }
}

fn witness_leaves(
    leaves: &[Leaf],
    depth: usize,
    targets: &[Hash],
    out: &mut Vec<PlanNode>,
) -> Planned {
    match leaves {
        [] => {
            out.push(PlanNode::Empty);
            Ok(Coverage::Empty)
        }
        _ if targets.is_empty() => {
            out.push(PlanNode::Hash(subtree_hash(leaves, depth)));
            Ok(Coverage::Partial)
        }
        [leaf] => {
            out.push(PlanNode::Leaf(*leaf));
            Ok(Coverage::of_leaf(&leaf.key_hash, targets))
        }
        _ => {
            out.push(PlanNode::Branch);
            let split = leaves.partition_point(|l| bit(&l.key_hash, depth) == 0);
            let halves = [&leaves[..split], &leaves[split..]];
            let t = targets.partition_point(|t| bit(t, depth) == 0);
            let sides = [&targets[..t], &targets[t..]];
            witness_sides(
                out,
                [!sides[0].is_empty(), !sides[1].is_empty()],
                &mut |side, out| witness_leaves(halves[side], depth + 1, sides[side], out),
                &mut |side, out| Ok(open_leaves(halves[side], depth + 1, out)),
            )
        }
    }
}

/// Emits the subtree at heap `index` opened one level: a lone leaf as the
/// leaf, a branch as `Branch` and its two sides as hashes.
fn open_dense<V: TrieView + ?Sized>(
    view: &V,
    index: usize,
    depth: u32,
    out: &mut Vec<PlanNode>,
) -> Planned {
    match view.summary(index).kind {
        Kind::Empty => {
            out.push(PlanNode::Empty);
            Ok(Coverage::Empty)
        }
        Kind::Leaf => {
            out.push(PlanNode::Leaf(lone_leaf(view, index, depth).ok_or(())?));
            Ok(Coverage::Partial)
        }
        Kind::Branch if depth == view.bits() => Ok(open_leaves(
            view.bucket(index - usize_of(depth)),
            depth as usize,
            out,
        )),
        Kind::Branch => {
            out.push(PlanNode::Branch);
            out.push(PlanNode::of_hash(view.summary(2 * index).hash));
            out.push(PlanNode::of_hash(view.summary(2 * index + 1).hash));
            Ok(Coverage::Partial)
        }
    }
}

/// [`open_dense`] within a bucket: `leaves` are a subtree's at `depth`.
fn open_leaves(leaves: &[Leaf], depth: usize, out: &mut Vec<PlanNode>) -> Coverage {
    match leaves {
        [] => {
            out.push(PlanNode::Empty);
            Coverage::Empty
        }
        [leaf] => {
            out.push(PlanNode::Leaf(*leaf));
            Coverage::Partial
        }
        _ => {
            let split = leaves.partition_point(|l| bit(&l.key_hash, depth) == 0);
            out.push(PlanNode::Branch);
            out.push(PlanNode::of_hash(subtree_hash(&leaves[..split], depth + 1)));
            out.push(PlanNode::of_hash(subtree_hash(&leaves[split..], depth + 1)));
            Coverage::Partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{keccak256, leaf_hash};
    use crate::reference::subtree_root;

    fn pairs(n: u64, salt: u64) -> Vec<(Hash, Hash)> {
        let mut out: Vec<(Hash, Hash)> = (0..n)
            .map(|i| {
                (
                    keccak256(&(i ^ (salt << 32)).to_be_bytes()),
                    keccak256(&i.to_le_bytes()),
                )
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn leaves(n: u64, salt: u64) -> Vec<Leaf> {
        pairs(n, salt)
            .iter()
            .map(|(key_hash, value_hash)| Leaf {
                key_hash: *key_hash,
                leaf_hash: leaf_hash(key_hash, value_hash),
                version: 1,
            })
            .collect()
    }

    #[test]
    fn layouts_agree_with_the_recursive_hash() {
        for n in [0u64, 1, 2, 3, 17, 500, 5000] {
            let all = leaves(n, 1);
            let expected = subtree_root(&pairs(n, 1), 0);
            for bits in [MIN_BITS, MIN_BITS + 3, 14] {
                let mut trie = Trie::empty(bits);
                trie.fill_sorted(all.iter().copied());
                trie.rehash_all();
                assert_eq!(trie.root().hash, expected, "n={n} bits={bits}");
            }
        }
    }

    #[test]
    fn prepared_deltas_match_a_rebuild() {
        let base = leaves(3000, 2);
        let trie = Trie::from_sorted(base.clone(), 3000);
        let mut changes: Vec<LeafChange> = leaves(1500, 3)
            .iter()
            .map(|l| LeafChange {
                key_hash: l.key_hash,
                leaf_hash: Some(l.leaf_hash),
            })
            .collect();
        // Delete some existing keys too.
        changes.extend(base.iter().step_by(3).map(|l| LeafChange {
            key_hash: l.key_hash,
            leaf_hash: None,
        }));
        changes.sort_by_key(|c| c.key_hash);
        let rebuilt = trie.rebuilt(&changes, 2);
        assert!(!needs_relayout(trie.bits(), rebuilt.leaves()));
        let delta = trie.prepare(&changes, 2);
        assert_eq!(delta.root.hash, rebuilt.root().hash);
        let mut live = trie.clone();
        let reverse = live.install(delta);
        assert_eq!(live.root().hash, rebuilt.root().hash);
        let old = HistoricalView {
            live: &live,
            deltas: vec![&reverse],
        };
        assert_eq!(old.summary(1).hash, trie.root().hash);
        for leaf in base.iter().take(50) {
            let a = plan_proof(&old, &leaf.key_hash).unwrap();
            let b = plan_proof(&trie, &leaf.key_hash).unwrap();
            assert_eq!(a.siblings, b.siblings);
            assert_eq!(a.end, b.end);
        }
    }
}
