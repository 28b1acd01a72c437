//! The RocksDB backend: one column family per [`Column`], one `WriteBatch`
//! per commit.

use crate::backend::{Backend, BatchOp, Column, Entry, WriteBatch};
use crate::error::StateError;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Options,
    ReadOptions, WriteOptions,
};
use std::path::{Path, PathBuf};

/// Tuning of the RocksDB backend.
#[derive(Clone, Debug)]
pub struct RocksOptions {
    /// Shared LRU block cache for all column families, in bytes.
    pub block_cache_bytes: usize,
    /// Memtable size per column family, in bytes.
    pub write_buffer_bytes: usize,
    /// fsync the WAL on every commit. Off by default: a commit is in the OS
    /// page cache when `commit` returns, so it survives a killed process
    /// (SIGKILL); only a power loss can drop the last commits, which the
    /// chain re-executes. Turn on where that matters more than latency.
    pub sync_writes: bool,
}

impl Default for RocksOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 256 << 20,
            write_buffer_bytes: 64 << 20,
            sync_writes: false,
        }
    }
}

/// RocksDB under a data directory.
pub struct RocksBackend {
    db: DB,
    path: PathBuf,
    sync_writes: bool,
}

impl std::fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Column family options, chosen for how each column is read:
/// - all: lz4 (cheap to decompress on the read path; the only codec we
///   compile in), 4 KiB blocks (point lookups dominate: a cache miss
///   reads and decompresses one block), index and filter blocks kept in the shared
///   block cache so memory stays bounded by one number, dynamic level sizing
///   to keep space amplification near 1.1;
/// - `nodes` and `latest`: point lookups by exact key, so 10 bits/key bloom
///   filters (~1% false positives) let a miss skip a level without reading
///   it; `nodes` are only ever looked up when a parent points to them (they
///   exist), so the last level's filter is skipped (`optimize_filters_for_hits`),
///   saving most filter memory;
/// - `history`, `stale`: read by ordered seeks and scans, which bloom filters
///   do not speed up, so none.
fn column_options(column: Column, cache: &Cache, options: &RocksOptions) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_block_size(4 << 10);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_format_version(5);
    let mut cf = Options::default();
    match column {
        Column::Nodes | Column::Latest => {
            table.set_bloom_filter(10.0, false);
            table.set_whole_key_filtering(true);
        }
        Column::History | Column::Stale | Column::Meta | Column::Aux => {}
    }
    if column == Column::Nodes {
        cf.set_optimize_filters_for_hits(true);
    }
    cf.set_block_based_table_factory(&table);
    cf.set_compression_type(DBCompressionType::Lz4);
    cf.set_bottommost_compression_type(DBCompressionType::Lz4);
    cf.set_level_compaction_dynamic_level_bytes(true);
    cf.set_write_buffer_size(options.write_buffer_bytes);
    cf
}

impl RocksBackend {
    /// Opens (creating if needed) the RocksDB database in `path`, taking
    /// its lock: a second opener fails at once with
    /// [`StateError::AlreadyOpen`].
    pub fn open(path: &Path, options: &RocksOptions) -> Result<Self, StateError> {
        Self::open_mode(path, options, false)
    }

    /// Opens an existing database in `path` for reading only, without its
    /// lock, so tools can inspect a data directory a running node holds. It
    /// sees the database as of the moment it was opened; writes fail.
    pub fn open_read_only(path: &Path, options: &RocksOptions) -> Result<Self, StateError> {
        Self::open_mode(path, options, true)
    }

    fn open_mode(path: &Path, options: &RocksOptions, read_only: bool) -> Result<Self, StateError> {
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_options = Options::default();
        db_options.create_if_missing(!read_only);
        db_options.create_missing_column_families(!read_only);
        // Two cores on the reference machine: one flush and one compaction.
        db_options.increase_parallelism(2);
        db_options.set_max_background_jobs(2);
        db_options.set_bytes_per_sync(1 << 20);
        let descriptors: Vec<ColumnFamilyDescriptor> = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), column_options(*c, &cache, options)))
            .collect();
        let db = if read_only {
            DB::open_cf_descriptors_read_only(&db_options, path, descriptors, false)
        } else {
            DB::open_cf_descriptors(&db_options, path, descriptors)
        }
        .map_err(|e| open_error(path, &e))?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            sync_writes: options.sync_writes,
        })
    }

    fn cf(&self, column: Column) -> Result<&ColumnFamily, StateError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StateError::backend(format!("column family {} missing", column.name())))
    }

    /// The data directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_error(path: &Path, error: &rocksdb::Error) -> StateError {
    let detail = error.to_string();
    // RocksDB fails at once (no waiting) when another process holds LOCK.
    if detail.contains("lock") || detail.contains("Resource temporarily unavailable") {
        return StateError::AlreadyOpen {
            path: path.display().to_string().into(),
            detail: detail.into(),
        };
    }
    if detail.contains("Column famil") {
        return StateError::IncompatibleFormat {
            found: format!("a RocksDB database with other column families ({detail})").into(),
            expected: crate::store::FORMAT_VERSION,
        };
    }
    StateError::backend(format!("opening {}: {detail}", path.display()))
}

impl Backend for RocksBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let value = self
            .db
            .get_pinned_cf(self.cf(column)?, key)
            .map_err(StateError::backend)?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn seek_prev(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StateError> {
        let mut iterator = self.db.raw_iterator_cf(self.cf(column)?);
        iterator.seek_for_prev(key);
        let found = match (iterator.key(), iterator.value()) {
            (Some(k), Some(v)) => Some((k.to_vec(), v.to_vec())),
            _ => None,
        };
        iterator.status().map_err(StateError::backend)?;
        Ok(found)
    }

    fn scan(
        &self,
        column: Column,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(end.to_vec());
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(column)?, read);
        iterator.seek(start);
        let mut out = Vec::new();
        while out.len() < limit {
            match (iterator.key(), iterator.value()) {
                (Some(k), Some(v)) => out.push((k.to_vec(), v.to_vec())),
                _ => break,
            }
            iterator.next();
        }
        iterator.status().map_err(StateError::backend)?;
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        let mut rocks_batch = rocksdb::WriteBatch::default();
        for op in &batch.ops {
            match op {
                BatchOp::Put { column, key, value } => {
                    rocks_batch.put_cf(self.cf(*column)?, key, value)
                }
                BatchOp::Delete { column, key } => rocks_batch.delete_cf(self.cf(*column)?, key),
            }
        }
        let mut write = WriteOptions::default();
        write.set_sync(self.sync_writes);
        self.db
            .write_opt(rocks_batch, &write)
            .map_err(StateError::backend)
    }
}
