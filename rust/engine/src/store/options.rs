//! RocksDB's options, in one place: those of the instance and those of every column family.

use crate::error::Result;
use crate::list;
use crate::memory::SharedMemory;
use crate::ttl::{self, Clock, TtlCell, TtlFilterFactory};
use rocksdb::{BlockBasedOptions, ColumnFamilyDescriptor, Options, DB};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything needed to open a store.
#[derive(Clone)]
pub struct StoreOptions {
    /// The working directory of the RocksDB instance.
    pub path: PathBuf,
    /// The memory budget this store shares with others of the same slot.
    pub memory: Arc<SharedMemory>,
    /// The time source of the TTL compaction filter.
    pub clock: Clock,
    /// Values longer than this bypass the hot tier.
    pub max_hot_value: usize,
    /// A checkpoint writes a state's dirty hot entries into an SST file it ingests once at
    /// least this many keys turned dirty since the last write-back; fewer go through write
    /// batches ([`INGEST_MIN_DIRTY`](super::INGEST_MIN_DIRTY) unless a test wants both paths).
    pub ingest_min_dirty: usize,
}

impl StoreOptions {
    /// Options with a private budget of `budget` bytes and the system clock.
    pub fn new(path: impl Into<PathBuf>, budget: usize) -> StoreOptions {
        StoreOptions {
            path: path.into(),
            memory: SharedMemory::new(
                budget,
                crate::memory::DEFAULT_HOT_RATIO,
                crate::memory::DEFAULT_WRITE_BUFFER_RATIO,
            ),
            clock: ttl::system_clock(),
            max_hot_value: 64 * 1024,
            ingest_min_dirty: super::INGEST_MIN_DIRTY,
        }
    }
}

/// Options of every column family.
pub(super) fn cf_options(memory: &SharedMemory, ttl: Option<(Arc<TtlCell>, Clock)>) -> Options {
    let mut o = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(memory.cache());
    // Index and filter blocks live in the budgeted cache, partitioned so only the small top
    // level must stay resident, at high priority so data blocks evict first.
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_metadata_block_size(4096);
    table.set_bloom_filter(10.0, false);
    table.set_optimize_filters_for_memory(true);
    // Small blocks: a point read that misses the cache decompresses 4 KiB, not 16.
    table.set_block_size(4 * 1024);
    o.set_block_based_table_factory(&table);
    o.set_merge_operator_associative("ferrostate.list-concat", list::merge_concat);
    // Every level compressed, L0 too: new L0 files are what an incremental checkpoint uploads.
    o.set_compression_type(rocksdb::DBCompressionType::Lz4);
    o.set_write_buffer_size(memory.write_buffer_size());
    o.set_max_write_buffer_number(4);
    // Out of core, random keys make every L0 -> base compaction rewrite most of the base
    // level: gathering more L0 files per compaction divides that cost (write amplification).
    o.set_level_zero_file_num_compaction_trigger(8);
    o.set_level_zero_slowdown_writes_trigger(40);
    o.set_level_zero_stop_writes_trigger(64);
    if let Some((cell, clock)) = ttl {
        o.set_compaction_filter_factory(TtlFilterFactory::new(cell, clock));
    }
    o
}

/// Options of the RocksDB instance.
pub(super) fn db_options(memory: &SharedMemory) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_write_buffer_manager(memory.write_buffer_manager());
    o.set_max_background_jobs(2);
    o.set_max_open_files(-1);
    // With every file kept open, RocksDB opens all table files when the instance opens, on
    // this many threads, which it starts afresh for every open (and per column family) whatever
    // the number of files: its default of 16 starts 15 threads per open on a 2-core machine.
    o.set_max_file_opening_threads(file_opening_threads());
    o.set_keep_log_file_num(2);
    o.set_max_log_file_size(1 << 20);
    o.set_stats_dump_period_sec(0);
    o.set_max_manifest_file_size(16 << 20);
    // RocksDB preallocates 4 MiB for every new MANIFEST (each open, each manifest roll) and
    // truncates it at close; the engine's manifests hold a few KiB of version edits (column
    // families, flushed and compacted files), and on tmpfs a preallocated page is memory.
    o.set_manifest_preallocation_size(64 << 10);
    o
}

/// Threads RocksDB opens table files on when an instance opens: the machine's cores, at most
/// RocksDB's default of 16.
fn file_opening_threads() -> i32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(16) as i32)
}

/// Opens `path` read-only (a snapshot directory), with every column family it holds.
pub(crate) fn open_read_only(path: &Path, memory: &SharedMemory) -> Result<DB> {
    crate::rocks_files::check_dir(path)?;
    let names = DB::list_cf(&Options::default(), path)?;
    let descriptors = names
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(n, cf_options(memory, None)));
    Ok(DB::open_cf_descriptors_read_only(
        &db_options(memory),
        path,
        descriptors,
        false,
    )?)
}
