//! The key/value engine under a [`Store`](crate::Store): a few ordered
//! columns and atomic batches. RocksDB in production, memory in tools.

use crate::error::StateError;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The columns (RocksDB column families) of a store. See `specs/state.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Trie nodes by [`NodeKey`](crate::NodeKey) bytes.
    Nodes,
    /// Latest value of every live key, by raw key: one get per latest read.
    Latest,
    /// Every value by `keccak256(key) ‖ version (u64 BE)`; SCALE
    /// `Option<Vec<u8>>` (`None` = deleted at that version).
    History,
    /// What each version made stale, by `stale_since (u64 BE) ‖ kind ‖ ...`.
    Stale,
    /// Format version, latest and oldest retained version, root per version.
    Meta,
    /// The chain layer's own records (blocks, receipts, indexes), committed
    /// in the same atomic batch as the state.
    Aux,
}

impl Column {
    /// All columns.
    pub const ALL: [Column; 6] = [
        Column::Nodes,
        Column::Latest,
        Column::History,
        Column::Stale,
        Column::Meta,
        Column::Aux,
    ];

    /// The RocksDB column family name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Column::Nodes => "nodes",
            Column::Latest => "latest",
            Column::History => "history",
            Column::Stale => "stale",
            Column::Meta => "meta",
            Column::Aux => "aux",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One write of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// Set `key` to `value`.
    Put {
        /// Column.
        column: Column,
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Remove `key`.
    Delete {
        /// Column.
        column: Column,
        /// Key.
        key: Vec<u8>,
    },
}

/// A set of writes applied all or nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// The writes, applied in order.
    pub ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, column: Column, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(BatchOp::Put { column, key, value });
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: Vec<u8>) {
        self.ops.push(BatchOp::Delete { column, key });
    }
}

/// A key and its value, as returned by scans.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered key/value engine with columns and atomic batches.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The value of `key`.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// The last entry whose key is `<= key`.
    fn seek_prev(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StateError>;

    /// Entries with `start <= key < end`, in key order, at most `limit`.
    fn scan(
        &self,
        column: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError>;

    /// Applies `batch` atomically: after a crash either all of it or none of
    /// it is visible.
    fn write(&self, batch: WriteBatch) -> Result<(), StateError>;
}

impl<B: Backend + ?Sized> Backend for Box<B> {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(column, key)
    }
    fn seek_prev(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StateError> {
        (**self).seek_prev(column, key)
    }
    fn scan(
        &self,
        column: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        (**self).scan(column, start, end, limit)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        (**self).write(batch)
    }
}

type Columns = [BTreeMap<Vec<u8>, Vec<u8>>; 6];

/// An in-memory backend. Clones share the same data, so a test can drop a
/// store and "reopen" it from a clone.
#[derive(Clone, Debug, Default)]
pub struct MemoryBackend {
    columns: Arc<RwLock<Columns>>,
}

impl MemoryBackend {
    /// An empty backend.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Columns>, StateError> {
        self.columns
            .read()
            .map_err(|_| StateError::backend("memory backend lock poisoned"))
    }

    /// Replaces or removes one raw entry, bypassing the store (for tests
    /// that corrupt data on purpose).
    pub fn poke(&self, column: Column, key: &[u8], value: Option<Vec<u8>>) {
        if let Ok(mut columns) = self.columns.write() {
            match value {
                Some(value) => columns[column.index()].insert(key.to_vec(), value),
                None => columns[column.index()].remove(key),
            };
        }
    }
}

impl Backend for MemoryBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.read()?[column.index()].get(key).cloned())
    }

    fn seek_prev(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StateError> {
        Ok(self.read()?[column.index()]
            .range(..=key.to_vec())
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn scan(
        &self,
        column: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self.read()?[column.index()]
            .range(start.to_vec()..end.to_vec())
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        let mut columns = self
            .columns
            .write()
            .map_err(|_| StateError::backend("memory backend lock poisoned"))?;
        for op in batch.ops {
            match op {
                BatchOp::Put { column, key, value } => {
                    columns[column.index()].insert(key, value);
                }
                BatchOp::Delete { column, key } => {
                    columns[column.index()].remove(&key);
                }
            }
        }
        Ok(())
    }
}
