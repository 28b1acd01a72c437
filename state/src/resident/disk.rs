//! What [`ResidentStore`](super::ResidentStore) keeps on RocksDB: the
//! column families, their keys and encodings, the journal, and checkpoint
//! images of the trie (`specs/state.md` section 6).

use super::trie::{Leaf, LeafChange, Trie, bits_for, bucket_of};
use crate::error::StateError;
use crate::hash::{Hash, keccak256, leaf_hash, to_hex};
use crate::store::Version;
use parity_scale_codec::{Decode, DecodeAll, Encode};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType,
    IngestExternalFileOptions, MemtableFactory, Options, ReadOptions, SliceTransform,
    SstFileWriter, WriteBatch, WriteOptions,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The column families.
pub(crate) const CF_VALUES: &str = "values";
pub(crate) const CF_JOURNAL: &str = "journal";
pub(crate) const CF_CHECKPOINT: &str = "checkpoint";
pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_AUX: &str = "aux";
const ALL_CFS: [&str; 5] = [CF_VALUES, CF_JOURNAL, CF_CHECKPOINT, CF_META, CF_AUX];

pub(crate) const META_FORMAT: &[u8] = b"format";
pub(crate) const META_LATEST: &[u8] = b"latest";
pub(crate) const META_FIRST: &[u8] = b"first";
pub(crate) const META_OLDEST: &[u8] = b"oldest";
const META_ROOT: &[u8] = b"root/";
const META_IMAGE: &[u8] = b"image/";

/// Chunks of a checkpoint image: leaves grouped by the first `CHUNK_BITS`
/// bits of their key hash.
const CHUNK_BITS: u32 = 12;
const HEADER_CHUNK: u32 = u32::MAX;

/// Bytes of one leaf in an image chunk: key hash, leaf hash, version (LE).
const LEAF_BYTES: usize = 72;

/// RocksDB tuning of a [`ResidentStore`](super::ResidentStore).
#[derive(Clone, Debug)]
pub struct ResidentRocksOptions {
    /// Shared LRU block cache, bytes.
    pub block_cache_bytes: usize,
    /// Memtable size of the `values` column family, bytes.
    pub write_buffer_bytes: usize,
    /// fsync the WAL on every commit (see `RocksOptions::sync_writes`).
    pub sync_writes: bool,
    /// Collect RocksDB statistics (bytes written by WAL, flush and
    /// compaction), for benchmarks.
    pub statistics: bool,
}

impl Default for ResidentRocksOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 64 << 20,
            sync_writes: false,
            statistics: false,
        }
    }
}

/// Bytes RocksDB wrote, by cause (statistics must be on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteBytes {
    /// Write-ahead log.
    pub wal: u64,
    /// Memtable flushes to L0 files.
    pub flush: u64,
    /// Compactions.
    pub compaction: u64,
}

/// The RocksDB database under a data directory.
pub(crate) struct Disk {
    pub(crate) db: DB,
    options: Options,
    path: PathBuf,
    sync_writes: bool,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn cf_options(name: &str, cache: &Cache, rocks: &ResidentRocksOptions) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_format_version(5);
    let mut cf = Options::default();
    match name {
        CF_VALUES => {
            // Latest reads are exact gets (whole-key bloom); reads at older
            // versions seek within one key hash (prefix bloom on 32 bytes).
            // Index and filter blocks stay with the table readers, outside
            // the block cache: in it, a file's index block (about 1 MB per
            // 64 MB file) is evicted by the data blocks that every random
            // read brings in, and reloaded (and checksummed) on the next
            // read; measured 20x slower gets at 1M keys.
            // The memtable is bucketed by key hash: a get or a seek looks in
            // one bucket (a few entries) instead of searching a skiplist of
            // the whole 64 MiB memtable, which was about a third of a get's
            // CPU. Its iterators serve seeks within one key hash only, which
            // is all this column family is read by (forward seeks: entries
            // sort newest first, see `value_key`).
            table.set_cache_index_and_filter_blocks(false);
            table.set_block_size(4 << 10);
            table.set_bloom_filter(10.0, false);
            table.set_whole_key_filtering(true);
            cf.set_prefix_extractor(SliceTransform::create_fixed_prefix(32));
            cf.set_memtable_factory(values_memtable(rocks.write_buffer_bytes));
            cf.set_write_buffer_size(rocks.write_buffer_bytes);
            cf.set_compression_type(DBCompressionType::Lz4);
        }
        CF_JOURNAL | CF_CHECKPOINT => {
            // Large records of hashes: incompressible, read whole, in order.
            table.set_cache_index_and_filter_blocks(true);
            table.set_block_size(64 << 10);
            cf.set_compression_type(DBCompressionType::None);
            cf.set_write_buffer_size(rocks.write_buffer_bytes / 2);
        }
        _ => {
            table.set_cache_index_and_filter_blocks(true);
            table.set_block_size(4 << 10);
            cf.set_compression_type(DBCompressionType::Lz4);
            cf.set_write_buffer_size(8 << 20);
        }
    }
    cf.set_block_based_table_factory(&table);
    cf.set_level_compaction_dynamic_level_bytes(true);
    cf
}

fn backend(e: impl std::fmt::Display) -> StateError {
    StateError::Backend(e.to_string().into())
}

impl Disk {
    pub(crate) fn open(path: &Path, rocks: &ResidentRocksOptions) -> Result<Disk, StateError> {
        let cache = Cache::new_lru_cache(rocks.block_cache_bytes);
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        options.set_max_background_jobs(2);
        options.set_bytes_per_sync(1 << 20);
        // The hash memtable of `values` takes one writer at a time; commits
        // come from one thread anyway.
        options.set_allow_concurrent_memtable_write(false);
        // The small column families (meta, aux) keep old WAL files alive;
        // this bounds the WAL (and so the replay after a crash) by flushing
        // them now and then.
        options.set_max_total_wal_size(128 << 20);
        if rocks.statistics {
            options.enable_statistics();
        }
        let descriptors: Vec<ColumnFamilyDescriptor> = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache, rocks)))
            .collect();
        let db = DB::open_cf_descriptors(&options, path, descriptors).map_err(|e| {
            let detail = e.to_string();
            if detail.contains("lock") || detail.contains("Resource temporarily unavailable") {
                StateError::AlreadyOpen {
                    path: path.display().to_string().into(),
                    detail: detail.into(),
                }
            } else if detail.contains("Column famil") {
                StateError::IncompatibleFormat {
                    found: format!("a RocksDB database with other column families ({detail})")
                        .into(),
                    expected: super::RESIDENT_FORMAT_VERSION,
                }
            } else {
                backend(format!("opening {}: {detail}", path.display()))
            }
        })?;
        // Leftovers of a checkpoint write a crash interrupted.
        let _ = std::fs::remove_dir_all(image_dir(path));
        Ok(Disk {
            db,
            options,
            path: path.to_path_buf(),
            sync_writes: rocks.sync_writes,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&ColumnFamily, StateError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| backend(format!("column family {name} missing")))
    }

    pub(crate) fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(cf)?, key)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        let mut write = WriteOptions::default();
        write.set_sync(self.sync_writes);
        self.db.write_opt(batch, &write).map_err(backend)
    }

    /// Flushes every memtable to SST files.
    pub(crate) fn flush(&self) -> Result<(), StateError> {
        for name in ALL_CFS {
            self.db.flush_cf(self.cf(name)?).map_err(backend)?;
        }
        Ok(())
    }

    /// Waits until RocksDB has no flush or compaction running or pending,
    /// at most `timeout`.
    pub(crate) fn wait_for_compactions(&self, timeout: Duration) -> Result<(), StateError> {
        self.db
            .wait_for_compact(&settle_options(timeout))
            .map_err(backend)
    }

    pub(crate) fn write_bytes(&self) -> WriteBytes {
        use rocksdb::statistics::Ticker;
        WriteBytes {
            wal: self.options.get_ticker_count(Ticker::WalFileBytes),
            flush: self.options.get_ticker_count(Ticker::FlushWriteBytes),
            compaction: self.options.get_ticker_count(Ticker::CompactWriteBytes),
        }
    }

    pub(crate) fn meta_u64(
        &self,
        key: &[u8],
        what: &'static str,
    ) -> Result<Option<u64>, StateError> {
        self.get(CF_META, key)?
            .map(|bytes| decode_u64(what, &bytes))
            .transpose()
    }

    /// The recorded root of `version`.
    pub(crate) fn root(&self, version: Version) -> Result<Hash, StateError> {
        let bytes = self.get(CF_META, &root_key(version))?.ok_or_else(|| {
            StateError::corrupt_record(
                "root record",
                format!("no root recorded for committed version {version}"),
            )
        })?;
        bytes.try_into().map_err(|_| {
            StateError::corrupt_record("root record", format!("version {version}: not 32 bytes"))
        })
    }

    /// The value entry of `key_hash` at exactly `version`.
    pub(crate) fn value_exact(
        &self,
        key_hash: &Hash,
        version: Version,
    ) -> Result<Option<Option<Vec<u8>>>, StateError> {
        self.get(CF_VALUES, &value_key(key_hash, version))?
            .map(|bytes| decode_value(key_hash, version, &bytes))
            .transpose()
    }

    /// The value of `key_hash` at `version`: its last entry at or before it.
    /// Entries of one key hash are stored newest first ([`value_key`]), so
    /// that is the first entry at or after `value_key(key_hash, version)`:
    /// one forward seek within the key hash's prefix (the prefix-bucketed
    /// memtable serves forward seeks only).
    pub(crate) fn value_at(
        &self,
        key_hash: &Hash,
        version: Version,
    ) -> Result<Option<Vec<u8>>, StateError> {
        let mut read = ReadOptions::default();
        read.set_prefix_same_as_start(true);
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(CF_VALUES)?, read);
        iterator.seek(value_key(key_hash, version));
        let found = match (iterator.key(), iterator.value()) {
            (Some(k), Some(v)) if k.len() == 40 && k.starts_with(key_hash) => {
                let at = !decode_u64("value entry key", &k[32..])?;
                Some(decode_value(key_hash, at, v)?)
            }
            _ => None,
        };
        iterator.status().map_err(backend)?;
        Ok(found.flatten())
    }

    pub(crate) fn journal(&self, version: Version) -> Result<JournalEntry, StateError> {
        let bytes = self
            .get(CF_JOURNAL, &version.to_be_bytes())?
            .ok_or_else(|| {
                StateError::corrupt_record(
                    "journal",
                    format!("no journal entry for committed version {version}"),
                )
            })?;
        JournalEntry::decode_all(&mut &bytes[..]).map_err(|e| {
            StateError::corrupt_record("journal", format!("entry of version {version}: {e}"))
        })
    }

    /// Versions of the checkpoint images recorded in `meta`, ascending.
    pub(crate) fn images(&self) -> Result<Vec<Version>, StateError> {
        let mut end = META_IMAGE.to_vec();
        end.push(0xff);
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(end);
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(CF_META)?, read);
        iterator.seek(META_IMAGE);
        let mut out = Vec::new();
        while let Some(key) = iterator.key() {
            out.push(decode_u64("image record", &key[META_IMAGE.len()..])?);
            iterator.next();
        }
        iterator.status().map_err(backend)?;
        Ok(out)
    }

    /// Deletes checkpoint data not recorded in `meta` (an image a crash
    /// interrupted before it was recorded).
    pub(crate) fn drop_unrecorded_images(&self, recorded: &[Version]) -> Result<(), StateError> {
        let cf = self.cf(CF_CHECKPOINT)?;
        let mut batch = WriteBatch::default();
        let mut from = 0u64;
        for image in recorded {
            if *image > from {
                batch.delete_range_cf(cf, image_key(from, 0), image_key(*image, 0));
            }
            from = image.saturating_add(1);
        }
        batch.delete_range_cf(cf, &image_key(from, 0)[..], &[0xffu8; 13][..]);
        self.write(batch)
    }

    /// Adds to `batch` the deletion of image `version` (and its record).
    pub(crate) fn drop_image(
        &self,
        batch: &mut WriteBatch,
        version: Version,
    ) -> Result<(), StateError> {
        batch.delete_range_cf(
            self.cf(CF_CHECKPOINT)?,
            image_key(version, 0),
            image_key(version.saturating_add(1), 0),
        );
        batch.delete_cf(self.cf(CF_META)?, image_record_key(version));
        Ok(())
    }

    /// Frees the files of images already deleted (space only; best
    /// effort: compaction reclaims what this leaves).
    pub(crate) fn compact_dropped_images(&self, dropped: &[Version]) {
        if let Ok(cf) = self.cf(CF_CHECKPOINT) {
            for image in dropped {
                let _ = self.db.delete_file_in_range_cf(
                    cf,
                    image_key(*image, 0),
                    image_key(image.saturating_add(1), 0),
                );
            }
        }
    }

    /// Writes the image of a trie (its buckets) at `version` as one SST
    /// file, ingests it, and records it. The image is complete and checked
    /// when recorded; a crash before leaves unrecorded data that
    /// [`Disk::drop_unrecorded_images`] removes.
    pub(crate) fn write_image(
        &self,
        version: Version,
        root: &Hash,
        buckets: &[Arc<[Leaf]>],
        leaves: u64,
    ) -> Result<(), StateError> {
        let dir = image_dir(&self.path);
        std::fs::create_dir_all(&dir).map_err(backend)?;
        let file = dir.join(format!("image-{version}.sst"));
        let mut sst_options = Options::default();
        sst_options.set_compression_type(DBCompressionType::None);
        let mut writer = SstFileWriter::create(&sst_options);
        writer.open(&file).map_err(backend)?;
        let mut chunks = 0u32;
        let mut chunk: Option<u32> = None;
        let mut bytes: Vec<u8> = Vec::new();
        let flush = |chunk: u32, bytes: &mut Vec<u8>, writer: &mut SstFileWriter<'_>| {
            let digest = keccak256(bytes);
            bytes.extend_from_slice(&digest);
            let result = writer.put(image_key(version, chunk), &bytes[..]);
            bytes.clear();
            result.map_err(backend)
        };
        for leaf in buckets.iter().flat_map(|b| b.iter()) {
            let this = chunk_of(&leaf.key_hash);
            if chunk != Some(this) {
                if let Some(done) = chunk {
                    flush(done, &mut bytes, &mut writer)?;
                    chunks += 1;
                }
                chunk = Some(this);
            }
            bytes.extend_from_slice(&leaf.key_hash);
            bytes.extend_from_slice(&leaf.leaf_hash);
            bytes.extend_from_slice(&leaf.version.to_le_bytes());
        }
        if let Some(done) = chunk {
            flush(done, &mut bytes, &mut writer)?;
            chunks += 1;
        }
        let header = ImageHeader {
            format: super::RESIDENT_FORMAT_VERSION,
            version,
            leaves,
            root: *root,
            chunks,
        };
        writer
            .put(image_key(version, HEADER_CHUNK), header.encode())
            .map_err(backend)?;
        writer.finish().map_err(backend)?;
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        self.db
            .ingest_external_file_cf_opts(self.cf(CF_CHECKPOINT)?, &ingest, vec![&file])
            .map_err(backend)?;
        let _ = std::fs::remove_file(&file);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META)?, image_record_key(version), []);
        self.write(batch)
    }

    /// Loads image `version` into a trie, checking every chunk's digest,
    /// the order of the leaves and, unless `check_root` is off (a journal
    /// follows and the caller checks the final root), its root.
    pub(crate) fn load_image(
        &self,
        version: Version,
        check_root: bool,
    ) -> Result<Trie, StateError> {
        let bad = |reason: String| {
            StateError::corrupt_record(
                "checkpoint image",
                format!("image of version {version}: {reason}"),
            )
        };
        let header = self
            .get(CF_CHECKPOINT, &image_key(version, HEADER_CHUNK))?
            .ok_or_else(|| bad("missing".into()))?;
        let header =
            ImageHeader::decode_all(&mut &header[..]).map_err(|e| bad(format!("header: {e}")))?;
        if header.format != super::RESIDENT_FORMAT_VERSION || header.version != version {
            return Err(bad(format!(
                "header names format {} version {}",
                header.format, header.version
            )));
        }
        let bits = bits_for(header.leaves);
        let mut trie = Trie::empty(bits);
        let threads = super::trie::threads()
            .next_power_of_two()
            .min(1 << CHUNK_BITS.min(bits));
        let results: Vec<Result<(u64, u32), StateError>> = {
            let table = trie.buckets_mut();
            let per = table.len() / threads;
            let parts: Vec<&mut [Arc<[Leaf]>]> = table.chunks_mut(per).collect();
            std::thread::scope(|scope| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .enumerate()
                    .map(|(part, slots)| {
                        let chunks_per = (1u32 << CHUNK_BITS) / u32::try_from(threads).unwrap_or(1);
                        let first_chunk = u32::try_from(part).unwrap_or(0) * chunks_per;
                        let first_bucket = part * per;
                        scope.spawn(move || {
                            self.load_chunks(
                                version,
                                first_chunk,
                                first_chunk + chunks_per,
                                bits,
                                first_bucket,
                                slots,
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let (mut leaves, mut chunks) = (0u64, 0u32);
        for result in results {
            let (l, c) = result?;
            leaves += l;
            chunks += c;
        }
        if leaves != header.leaves || chunks != header.chunks {
            return Err(bad(format!(
                "{leaves} leaves in {chunks} chunks, the header says {} in {}",
                header.leaves, header.chunks
            )));
        }
        trie.set_leaves(leaves);
        if check_root {
            trie.rehash_all();
            if trie.root().hash != header.root {
                return Err(bad(format!(
                    "its leaves hash to {}, the header records {}",
                    to_hex(&trie.root().hash),
                    to_hex(&header.root)
                )));
            }
        }
        let recorded = self.root(version)?;
        if header.root != recorded {
            return Err(bad(format!(
                "header root {} differs from the recorded root {}",
                to_hex(&header.root),
                to_hex(&recorded)
            )));
        }
        Ok(trie)
    }

    /// Reads chunks `from..to` of image `version` into `slots` (buckets
    /// `first_bucket..`); returns the leaves and chunks read.
    fn load_chunks(
        &self,
        version: Version,
        from: u32,
        to: u32,
        bits: u32,
        first_bucket: usize,
        slots: &mut [Arc<[Leaf]>],
    ) -> Result<(u64, u32), StateError> {
        let bad = |reason: String| {
            StateError::corrupt_record(
                "checkpoint image",
                format!("image of version {version}: {reason}"),
            )
        };
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(image_key(version, to));
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(CF_CHECKPOINT)?, read);
        iterator.seek(image_key(version, from));
        let (mut leaves, mut chunks) = (0u64, 0u32);
        let mut previous: Option<Hash> = None;
        let mut current: Option<usize> = None;
        let mut pending: Vec<Leaf> = Vec::new();
        while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
            let chunk =
                u32::from_be_bytes(key[8..12].try_into().map_err(|_| bad("chunk key".into()))?);
            if value.len() < 32 || !(value.len() - 32).is_multiple_of(LEAF_BYTES) {
                return Err(bad(format!("chunk {chunk} has {} bytes", value.len())));
            }
            let (body, digest) = value.split_at(value.len() - 32);
            if keccak256(body)[..] != *digest {
                return Err(bad(format!("chunk {chunk} does not match its digest")));
            }
            for raw in body.chunks_exact(LEAF_BYTES) {
                let mut leaf = Leaf {
                    key_hash: [0; 32],
                    leaf_hash: [0; 32],
                    version: 0,
                };
                leaf.key_hash.copy_from_slice(&raw[..32]);
                leaf.leaf_hash.copy_from_slice(&raw[32..64]);
                leaf.version =
                    u64::from_le_bytes(raw[64..72].try_into().map_err(|_| bad("leaf".into()))?);
                if chunk_of(&leaf.key_hash) != chunk
                    || previous.is_some_and(|p| p >= leaf.key_hash)
                    || leaf.version > version
                {
                    return Err(bad(format!(
                        "leaf 0x{} out of place in chunk {chunk}",
                        to_hex(&leaf.key_hash)
                    )));
                }
                previous = Some(leaf.key_hash);
                let bucket = bucket_of(&leaf.key_hash, bits);
                if current != Some(bucket) {
                    if let Some(done) = current {
                        slots[done - first_bucket] = Arc::from(std::mem::take(&mut pending));
                    }
                    if bucket < first_bucket || bucket - first_bucket >= slots.len() {
                        return Err(bad(format!("chunk {chunk} out of its range")));
                    }
                    current = Some(bucket);
                }
                pending.push(leaf);
                leaves += 1;
            }
            chunks += 1;
            iterator.next();
        }
        if let Some(done) = current {
            slots[done - first_bucket] = Arc::from(pending);
        }
        iterator.status().map_err(backend)?;
        Ok((leaves, chunks))
    }
}

fn image_dir(path: &Path) -> PathBuf {
    path.join("checkpoint-tmp")
}

fn chunk_of(key_hash: &Hash) -> u32 {
    u32::from_be_bytes([key_hash[0], key_hash[1], key_hash[2], key_hash[3]]) >> (32 - CHUNK_BITS)
}

/// The header record of an image.
#[derive(Debug, Encode, Decode)]
struct ImageHeader {
    format: u32,
    version: u64,
    leaves: u64,
    root: Hash,
    chunks: u32,
}

/// One version's journal entry: its root and, per changed key hash (in
/// order), the new value hash (`None`: deleted) and the version of the
/// entry it replaced, if the key was present (for pruning).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(crate) struct JournalEntry {
    pub(crate) root: Hash,
    pub(crate) changes: Vec<JournalChange>,
}

/// One change in a [`JournalEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub(crate) struct JournalChange {
    pub(crate) key_hash: Hash,
    pub(crate) value_hash: Option<Hash>,
    pub(crate) replaced: Option<u64>,
}

impl JournalEntry {
    /// The leaf changes it makes, checked to be in strict key-hash order.
    pub(crate) fn leaf_changes(&self, version: Version) -> Result<Vec<LeafChange>, StateError> {
        if !self
            .changes
            .windows(2)
            .all(|w| w[0].key_hash < w[1].key_hash)
        {
            return Err(StateError::corrupt_record(
                "journal",
                format!("entry of version {version}: changes out of order"),
            ));
        }
        Ok(self
            .changes
            .iter()
            .map(|c| LeafChange {
                key_hash: c.key_hash,
                leaf_hash: c.value_hash.map(|v| leaf_hash(&c.key_hash, &v)),
            })
            .collect())
    }
}

pub(crate) fn decode_u64(what: &'static str, bytes: &[u8]) -> Result<u64, StateError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StateError::corrupt_record(what, "not 8 bytes"))?;
    Ok(u64::from_be_bytes(array))
}

fn decode_value(
    key_hash: &Hash,
    version: Version,
    bytes: &[u8],
) -> Result<Option<Vec<u8>>, StateError> {
    Option::<Vec<u8>>::decode_all(&mut &bytes[..]).map_err(|e| {
        StateError::corrupt_record(
            "value entry",
            format!("key hash 0x{} at version {version}: {e}", to_hex(key_hash)),
        )
    })
}

pub(crate) fn root_key(version: Version) -> Vec<u8> {
    let mut key = META_ROOT.to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn image_record_key(version: Version) -> Vec<u8> {
    let mut key = META_IMAGE.to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `kh ‖ !version` (big-endian): the entries of one key hash sort newest
/// first, so a read at a version is one forward seek.
pub(crate) fn value_key(key_hash: &Hash, version: Version) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(key_hash);
    key[32..].copy_from_slice(&(!version).to_be_bytes());
    key
}

fn image_key(version: Version, chunk: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&version.to_be_bytes());
    key[8..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// The memtable of the `values` column family (a memtable of
/// `write_buffer_bytes`): RocksDB's hash skiplist, bucketed by the 32-byte
/// key-hash prefix, one bucket (8 bytes, in the memtable's own arena) per
/// 256 bytes of memtable: about two entries per bucket, 3% of its memory.
/// It needs the 32-byte prefix extractor and
/// `set_allow_concurrent_memtable_write(false)`. Public so that benchmarks
/// compare the store with a raw database configured alike.
#[must_use]
pub fn values_memtable(write_buffer_bytes: usize) -> MemtableFactory {
    MemtableFactory::HashSkipList {
        bucket_count: (write_buffer_bytes / 256).max(1 << 10),
        height: 4,
        branching_factor: 4,
    }
}

/// Options to wait for RocksDB's background work: at most `timeout`, and
/// not at all while that work is paused.
#[must_use]
pub fn settle_options(timeout: Duration) -> rocksdb::WaitForCompactOptions {
    let mut options = rocksdb::WaitForCompactOptions::default();
    options.set_abort_on_pause(true);
    options.set_timeout(
        u64::try_from(timeout.as_micros())
            .unwrap_or(u64::MAX)
            .max(1),
    );
    options
}
