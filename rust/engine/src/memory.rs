//! The memory budget a store lives in, shared by every store of one Flink slot.
//!
//! One budget covers the hot tier and RocksDB: RocksDB's block cache holds data, index and
//! filter blocks, and the write buffer manager charges memtables to the same cache, so
//! RocksDB stays within the cache's capacity; the hot tier counts its own bytes and evicts
//! when the shared counter passes its share.
//!
//! What the hot tier counts is what it asked the allocator for (values at their size class,
//! [`crate::alloc::size_class`]). The allocator holds more: its metadata and freed pages it has
//! not returned yet. With jemalloc as the library's allocator, that overhead
//! ([`allocator_overhead`]) is charged to the hot tiers too, each budget in proportion to its
//! hot bytes, so what the hot tiers may hold is what the process really spends on them.
//!
//! Some memory no tier counts: jemalloc's overhead beyond the hot tier's cap on it, RocksDB's
//! allocations outside its cache (iterators and their pinned blocks, table readers, compaction
//! and flush buffers) and glibc's free chunks between RocksDB's live blocks. Out of core
//! (64 MiB budget, both tiers full) it put five benchmarks' native resident growth at medians
//! of 73-75.5 MiB, 3-6 MiB above the budget + 10%. So the tiers plan for all but
//! [`UNCOUNTED_SHARE`] of a budget (at most [`MAX_UNCOUNTED`]) and leave that to what they do
//! not count.

use rocksdb::{Cache, LruCacheOptions, WriteBufferManager};
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Smallest budget a store accepts; below it RocksDB cannot work sensibly.
pub const MIN_BUDGET: usize = 16 << 20;

/// The hot tier's default share of a budget.
pub const DEFAULT_HOT_RATIO: f64 = 0.5;

/// The default share of RocksDB's part of a budget that memtables may take: Flink's own default
/// for RocksDB (`state.backend.rocksdb.memory.write-buffer-ratio`). Out of core (64 MiB budget),
/// 0.5 instead of 0.25 made random writes 1.4-1.9x faster (memtables of 8 MiB instead of 4 flush
/// half as many L0 files, and compaction, which took 60% of the CPU, has half as much to merge)
/// with reads and resident memory unchanged; 0.75 left reads unchanged too but grew resident
/// memory past the budget in one benchmark.
pub const DEFAULT_WRITE_BUFFER_RATIO: f64 = 0.5;

/// The share of a budget neither tier plans for, left to memory they do not count (see the
/// module documentation). Measured out of core with a 64 MiB budget (bench/README.md,
/// "2026-12-06 (later)"): with 1/8 kept back, the benchmarks that had been 3-6 MiB above the
/// budget + 10% came within it in short trials; in full-length trials too once the stores
/// trimmed glibc's heaps during scans ([`crate::alloc::trim_system_heaps`];
/// bench/results/out-of-core-full.md).
pub const UNCOUNTED_SHARE: f64 = 0.125;

/// The most a budget keeps back for memory the tiers do not count: what they leave uncounted
/// grows with their churn and the number of files, not without bound with the budget.
pub const MAX_UNCOUNTED: usize = 32 << 20;

/// Hot bytes of every budget of this library copy (the overhead is shared out by them).
static ALL_HOT: AtomicIsize = AtomicIsize::new(0);

/// The allocator's overhead as last read, and when it may be read again.
static OVERHEAD: AtomicUsize = AtomicUsize::new(0);
static NEXT_OVERHEAD_READ_MS: AtomicU64 = AtomicU64::new(0);

/// How often the allocator's statistics are read at most (a read merges every arena's).
const OVERHEAD_READ_INTERVAL_MS: u64 = 100;

/// What the library's allocator holds beyond what it handed out (metadata, freed pages not yet
/// returned), read at most every 100 ms; 0 without jemalloc statistics.
pub fn allocator_overhead() -> usize {
    if crate::alloc::due(&NEXT_OVERHEAD_READ_MS, OVERHEAD_READ_INTERVAL_MS) {
        crate::alloc::purge_decayed();
        if let Some(s) = crate::alloc::allocator_stats() {
            let overhead = s.resident.saturating_sub(s.allocated);
            OVERHEAD.store(overhead as usize, Ordering::Relaxed);
        }
    }
    OVERHEAD.load(Ordering::Relaxed)
}

/// The memory shared by the stores of one slot.
pub struct SharedMemory {
    budget: usize,
    hot_limit: usize,
    write_buffer_size: usize,
    hot_used: AtomicIsize,
    cache: Cache,
    write_buffers: WriteBufferManager,
}

impl SharedMemory {
    /// A budget of `budget` bytes: of what the tiers plan for (all but [`UNCOUNTED_SHARE`]),
    /// `hot_ratio` for the hot tier and the rest for RocksDB, of which `write_buffer_ratio` may
    /// be memtables.
    pub fn new(budget: usize, hot_ratio: f64, write_buffer_ratio: f64) -> Arc<SharedMemory> {
        let budget = budget.max(MIN_BUDGET);
        let hot_ratio = hot_ratio.clamp(0.0, 0.9);
        let uncounted = ((budget as f64 * UNCOUNTED_SHARE) as usize).min(MAX_UNCOUNTED);
        let planned = budget - uncounted;
        let hot_limit = (planned as f64 * hot_ratio) as usize;
        let rocks = planned - hot_limit;
        let write_buffers = ((rocks as f64) * write_buffer_ratio.clamp(0.05, 0.9)) as usize;
        // Few shards: with many small shards of a small cache, large index blocks keep evicting
        // each other (Flink's RocksDB defaults show this out of core).
        let mut cache_opts = LruCacheOptions::default();
        cache_opts.set_capacity(rocks);
        cache_opts.set_num_shard_bits(2);
        let cache = Cache::new_lru_cache_opts(&cache_opts);
        let manager = WriteBufferManager::new_write_buffer_manager_with_cache(
            write_buffers,
            false,
            cache.clone(),
        );
        Arc::new(SharedMemory {
            budget,
            hot_limit,
            // A memtable of half the write buffer memory, at least 1 MiB: the write buffer
            // manager flushes the largest memtable once all of them together reach the limit,
            // so several states still fit. Smaller memtables made many small L0 files, and
            // RocksDB slowed writes down at 20 of them (blind writes out of core slept 75% of
            // the time in its write controller with 1 MiB memtables).
            write_buffer_size: (write_buffers / 2).clamp(1 << 20, 64 << 20),
            hot_used: AtomicIsize::new(0),
            cache,
            write_buffers: manager,
        })
    }

    /// The whole budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The hot tier's share.
    pub fn hot_limit(&self) -> usize {
        self.hot_limit
    }

    /// Bytes the hot tiers of all stores hold, as published.
    pub fn hot_used(&self) -> usize {
        self.hot_used.load(Ordering::Relaxed).max(0) as usize
    }

    pub(crate) fn add_hot(&self, delta: isize) {
        self.hot_used.fetch_add(delta, Ordering::Relaxed);
        ALL_HOT.fetch_add(delta, Ordering::Relaxed);
    }

    /// The hot tiers' bytes plus their share of the allocator's overhead
    /// ([`allocator_overhead`]), in proportion to this budget's part of all hot bytes, and at
    /// most a quarter of the hot limit: part of the overhead is fixed (jemalloc's metadata,
    /// a few MiB), and a small budget must not evict its whole hot tier for it.
    pub fn hot_charged(&self) -> usize {
        let used = self.hot_used();
        let overhead = allocator_overhead();
        if overhead == 0 || used == 0 {
            return used;
        }
        let all = (ALL_HOT.load(Ordering::Relaxed).max(0) as usize).max(used);
        let share = ((overhead as u128 * used as u128) / all as u128) as usize;
        used + share.min(self.hot_limit / 4)
    }

    pub(crate) fn hot_over_limit(&self) -> bool {
        self.hot_charged() > self.hot_limit
    }

    pub(crate) fn hot_excess(&self) -> usize {
        self.hot_charged().saturating_sub(self.hot_limit)
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    pub(crate) fn write_buffer_manager(&self) -> &WriteBufferManager {
        &self.write_buffers
    }

    pub(crate) fn write_buffer_size(&self) -> usize {
        self.write_buffer_size
    }

    /// Bytes RocksDB holds in the shared cache (memtables included).
    pub fn rocksdb_usage(&self) -> usize {
        self.cache.get_usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_plan_for_all_but_the_uncounted_share() {
        let m = SharedMemory::new(64 << 20, 0.5, 0.5);
        assert_eq!(m.budget(), 64 << 20);
        // 1/8 kept back: 56 MiB planned, half of it the hot tier's.
        assert_eq!(m.hot_limit(), 28 << 20);
        // Large budgets keep back at most MAX_UNCOUNTED.
        let m = SharedMemory::new(1 << 30, 0.5, 0.5);
        assert_eq!(m.hot_limit(), ((1 << 30) - MAX_UNCOUNTED) / 2);
        // The smallest budget still has a hot tier.
        let m = SharedMemory::new(1, 0.5, 0.5);
        assert_eq!(m.budget(), MIN_BUDGET);
        assert_eq!(m.hot_limit(), 7 << 20);
    }
}
