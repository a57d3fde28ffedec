//! The store of one keyed state backend: a hot tier per state in front of one RocksDB
//! instance with a column family per state.
//!
//! Keys are Flink's composite keys, `[key group][key][namespace]` (plus `[user key]` for map
//! state), written by the Java side exactly as Flink's RocksDB backend writes them, so each
//! key group is a contiguous key range in every column family.
//!
//! The store is split by concern, each module adding its part of [`Store`]'s methods:
//! [`options`] (the RocksDB options, in one place), [`registry`] (states: the one constructor
//! and the one lookup), [`access`] (point reads and writes), [`scan`] (prefix and map scans),
//! [`writeback`] (hot entries written to RocksDB, checkpoints, compaction), [`budget`]
//! (memory accounting and eviction) and [`keygroups`] (clipping and importing key groups).

mod access;
mod budget;
mod keygroups;
pub mod options;
pub mod registry;
pub mod scan;
mod sets;
pub use sets::SET_BATCH_BYTES;
mod writeback;
pub use writeback::INGEST_MIN_DIRTY;

pub use access::{Read, WARM_BATCH};
pub(crate) use options::open_read_only;
pub use options::StoreOptions;
pub use registry::StateKind;
pub(crate) use scan::scan_cf;
pub use scan::{prefix_successor, ScanStart};

use crate::bytes::IBytes;
use crate::error::{Error, Result};
use crate::hot::{HotTable, KeyBatch};
use crate::ttl::TtlCell;
use options::{cf_options, db_options};
use registry::Origin;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteOptions, DB};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// One state: its hot table and how it is known to RocksDB (a column family of its name).
struct State {
    name: String,
    kind: Option<StateKind>,
    hot: HotTable,
    ttl: Arc<TtlCell>,
    /// Bytes of `hot` counted into the store's usage so far. (Whether the hot tier holds the
    /// whole state, so that RocksDB need not be read, is `hot.is_complete()`.)
    accounted: usize,
}

/// One backend's store.
pub struct Store {
    db: DB,
    opts: StoreOptions,
    states: Vec<State>,
    by_name: HashMap<String, u32>,
    write_opts: WriteOptions,
    /// Change of the hot tier's usage not yet published to the shared counter.
    unpublished: isize,
    /// Hot bytes this store has published.
    published: usize,
    stats: StoreStats,
    /// Reused by [`Store::scan_map`] for a map's changed entries.
    map_changes: Vec<(IBytes, Option<IBytes>)>,
    /// Reused by [`Store::put_entries`] for its entries' whole keys.
    entry_keys: KeyBatch,
    /// Adds and removes of sorted sets (timers) not yet written to RocksDB ([`sets`]).
    set_batch: rocksdb::WriteBatch,
}

/// Counters of what the store did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Point reads that went to RocksDB (hot tier misses).
    pub rocksdb_reads: u64,
    /// Scans that read RocksDB: map scans the hot tier could not list whole, and prefix scans.
    pub rocksdb_scans: u64,
    /// Write batches (write-backs) and direct writes sent to RocksDB.
    pub rocksdb_writes: u64,
    /// Reads answered by the hot tier.
    pub hot_hits: u64,
    /// Evictions of the hot tier.
    pub evictions: u64,
}

impl Store {
    /// Opens the store at `opts.path`, creating it when missing and opening every column
    /// family it already holds (after a restore).
    pub fn open(opts: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(&opts.path).map_err(|e| Error::io(&opts.path, e))?;
        let existing = if opts.path.join("CURRENT").exists() {
            // Restored files: RocksDB must not read a file that would hang or crash it.
            crate::rocks_files::check_dir(&opts.path)?;
            DB::list_cf(&Options::default(), &opts.path)?
        } else {
            Vec::new()
        };
        let mut states = Vec::new();
        let mut by_name = HashMap::new();
        let mut descriptors = Vec::new();
        for name in existing {
            if name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
                descriptors.push(ColumnFamilyDescriptor::new(
                    &name,
                    cf_options(&opts.memory, None),
                ));
                continue;
            }
            let (state, cf) = State::new(&name, Origin::Stored, &opts);
            descriptors.push(ColumnFamilyDescriptor::new(&name, cf));
            registry::push(&mut states, &mut by_name, state);
        }
        let db = DB::open_cf_descriptors(&db_options(&opts.memory), &opts.path, descriptors)?;
        let mut write_opts = WriteOptions::default();
        write_opts.disable_wal(true);
        Ok(Store {
            db,
            opts,
            states,
            by_name,
            write_opts,
            unpublished: 0,
            published: 0,
            stats: StoreStats::default(),
            map_changes: Vec::new(),
            entry_keys: KeyBatch::default(),
            set_batch: rocksdb::WriteBatch::default(),
        })
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        &self.opts.path
    }

    /// What the store did so far.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// The store's gauges now: hot-tier sizes and RocksDB properties, read without waiting
    /// for RocksDB's background work.
    pub fn gauges(&self) -> Result<StoreGauges> {
        let mut g = StoreGauges::default();
        for st in &self.states {
            g.hot_entries += st.hot.len() as u64;
            g.hot_dirty_entries += st.hot.dirty_len() as u64;
            let cf = st.cf(&self.db)?;
            let int = |name: &str| -> Result<u64> {
                Ok(self.db.property_int_value_cf(cf, name)?.unwrap_or(0))
            };
            g.memtable_bytes += int("rocksdb.cur-size-all-mem-tables")?;
            g.pending_compaction_bytes += int("rocksdb.estimate-pending-compaction-bytes")?;
            g.live_sst_bytes += int("rocksdb.live-sst-files-size")?;
            g.estimated_keys += int("rocksdb.estimate-num-keys")?;
        }
        Ok(g)
    }

    /// Native memory held: the hot tier by its own accounting, RocksDB's block cache (which
    /// is charged with the memtables), and what the library's allocator holds.
    pub fn memory_usage(&self) -> MemoryUsage {
        let allocator = crate::alloc::allocator_stats().unwrap_or_default();
        MemoryUsage {
            hot: self.states.iter().map(|s| s.accounted).sum(),
            rocksdb: self.opts.memory.rocksdb_usage(),
            budget: self.opts.memory.budget(),
            allocator_allocated: allocator.allocated,
            allocator_resident: allocator.resident,
        }
    }
}

/// What RocksDB and the hot tier of one store hold, for metrics: each a sum over the
/// store's states (column families).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// Entries the hot tiers hold.
    pub hot_entries: u64,
    /// Changes of the hot tiers not yet written back to RocksDB (an upper bound: a key
    /// changed twice counts twice).
    pub hot_dirty_entries: u64,
    /// Bytes of RocksDB's memtables, active and immutable (`rocksdb.cur-size-all-mem-tables`).
    pub memtable_bytes: u64,
    /// Bytes compactions still have to rewrite (`rocksdb.estimate-pending-compaction-bytes`).
    pub pending_compaction_bytes: u64,
    /// Bytes of the SST files the current version uses (`rocksdb.live-sst-files-size`).
    pub live_sst_bytes: u64,
    /// Entries RocksDB estimates it holds (`rocksdb.estimate-num-keys`).
    pub estimated_keys: u64,
}

/// What a store holds in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes of the hot tier.
    pub hot: usize,
    /// Bytes RocksDB's block cache holds (data, index and filter blocks and memtables) for
    /// every store sharing the budget.
    pub rocksdb: usize,
    /// The shared budget.
    pub budget: usize,
    /// Bytes the library's allocator (jemalloc: the hot tier's values and tables, and every
    /// other Rust allocation; not RocksDB's, which are glibc's) has handed out, for all stores
    /// of this copy of the library; 0 when the allocator keeps no statistics.
    pub allocator_allocated: u64,
    /// Physical memory that allocator holds: what it handed out, its metadata, and freed
    /// pages not yet returned to the kernel; 0 when unknown.
    pub allocator_resident: u64,
}

impl Drop for Store {
    fn drop(&mut self) {
        // Give the shared budget back.
        self.opts.memory.add_hot(-(self.published as isize));
    }
}
