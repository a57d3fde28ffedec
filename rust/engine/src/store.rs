//! The store of one keyed state backend: a hot tier per state in front of one RocksDB
//! instance with a column family per state.
//!
//! Keys are Flink's composite keys, `[key group][key][namespace]` (plus `[user key]` for map
//! state), written by the Java side exactly as Flink's RocksDB backend writes them, so each
//! key group is a contiguous key range in every column family.

use crate::bytes::IBytes;
use crate::error::{Error, Result};
use crate::fault;
use crate::hot::{HotTable, SlotRef, WriteBack};
use crate::keygroup;
use crate::list;
use crate::memory::SharedMemory;
use crate::ttl::{self, Clock, TtlCell, TtlConfig, TtlFilterFactory};
use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBRawIterator, Options, ReadOptions,
    WriteBatch, WriteOptions, DB,
};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How values of a state are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StateKind {
    /// Value, reducing and aggregating state: one value per key and namespace.
    Value = 0,
    /// List state, in the store's list format ([`crate::list`]).
    List = 1,
    /// Map state: one entry per user key, the value preceded by a null flag.
    Map = 2,
}

impl StateKind {
    /// Decodes the kind the Java side sends.
    pub fn from_code(code: i32) -> Result<StateKind> {
        match code {
            0 => Ok(StateKind::Value),
            1 => Ok(StateKind::List),
            2 => Ok(StateKind::Map),
            other => Err(Error::InvalidArgument(format!(
                "unknown state kind {other}"
            ))),
        }
    }
}

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
}

impl StoreOptions {
    /// Options with a private budget of `budget` bytes and the system clock.
    pub fn new(path: impl Into<PathBuf>, budget: usize) -> StoreOptions {
        StoreOptions {
            path: path.into(),
            memory: SharedMemory::new(budget, 0.5, 0.25),
            clock: ttl::system_clock(),
            max_hot_value: 64 * 1024,
        }
    }
}

struct State {
    name: String,
    kind: Option<StateKind>,
    hot: HotTable,
    ttl: Arc<TtlCell>,
    /// Bytes of `hot` counted into the store's usage so far. (Whether the hot tier holds the
    /// whole state, so that RocksDB need not be read, is `hot.is_complete()`.)
    accounted: usize,
}

/// Publish the hot tier's usage to the shared budget once it moved by this much.
const PUBLISH_STEP: isize = 64 * 1024;

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
    /// Reused by [`Store::put_entries`] for each entry's whole key.
    entry_key: Vec<u8>,
}

/// The first length-prefixed field of `bytes` (4-byte big-endian length) and what follows it.
fn split_field(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let damaged = |detail: String| Error::Corrupt {
        what: "map entry batch".to_string(),
        detail,
    };
    let (len, rest) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| damaged(format!("{} bytes left, a length needs 4", bytes.len())))?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > rest.len() {
        return Err(damaged(format!(
            "a field of {len} bytes, {} bytes left",
            rest.len()
        )));
    }
    Ok(rest.split_at(len))
}

/// A map scan merges at most this many changed hot entries with RocksDB; a map with more
/// is written back instead (each batch of a scan lists and sorts them again).
const MAX_MERGED_CHANGES: usize = 256;

/// A complete hot tier lists a map of at most this many entries by itself; a longer map is
/// written back and scanned in RocksDB (each batch of a scan lists and sorts them again).
const MAX_LISTED_ENTRIES: usize = 1024;

/// Counters of what the store did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Point reads that went to RocksDB (hot tier misses).
    pub rocksdb_reads: u64,
    /// Map scans that read RocksDB (the hot tier could not list the whole map).
    pub rocksdb_scans: u64,
    /// Write batches (write-backs) and direct writes sent to RocksDB.
    pub rocksdb_writes: u64,
    /// Reads answered by the hot tier.
    pub hot_hits: u64,
    /// Evictions of the hot tier.
    pub evictions: u64,
}

/// Hands memory that eviction freed back to the OS. glibc keeps freed chunks in its arenas,
/// so without this the process would keep the pages of every evicted value resident and its
/// RSS would exceed the budget the store accounts for. `malloc_trim` walks every heap of the
/// process, so it runs at most once a second however often stores evict.
#[allow(unsafe_code)]
fn release_free_memory() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Instant;
    const INTERVAL_MS: u64 = 1000;
    static START: OnceLock<Instant> = OnceLock::new();
    static NEXT_MS: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let next = NEXT_MS.load(Ordering::Relaxed);
    if now < next
        || NEXT_MS
            .compare_exchange(
                next,
                now + INTERVAL_MS,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
    {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's heaps to the kernel; it is
    // thread-safe and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Options of every column family.
fn cf_options(memory: &SharedMemory, ttl: Option<(Arc<TtlCell>, Clock)>) -> Options {
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

fn db_options(memory: &SharedMemory) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_write_buffer_manager(memory.write_buffer_manager());
    o.set_max_background_jobs(2);
    o.set_max_open_files(-1);
    o.set_keep_log_file_num(2);
    o.set_max_log_file_size(1 << 20);
    o.set_stats_dump_period_sec(0);
    o.set_max_manifest_file_size(16 << 20);
    o
}

/// Opens `path` read-only (a snapshot directory), with every column family it holds.
pub(crate) fn open_read_only(path: &Path, memory: &SharedMemory) -> Result<DB> {
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

/// The smallest byte string greater than every string starting with `prefix`, or `None`
/// when there is none (an empty prefix or one of all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last != 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// Where a scan starts.
#[derive(Clone, Copy, Debug)]
pub enum ScanStart<'a> {
    /// At the first key with the prefix.
    First,
    /// At this key, or after it when `exclusive`.
    At { key: &'a [u8], exclusive: bool },
}

/// An iterator over the keys of `cf` that start with `prefix`, positioned at `start`.
fn seek<'a>(
    db: &'a DB,
    cf: &ColumnFamily,
    prefix: &[u8],
    start: ScanStart<'_>,
) -> DBRawIterator<'a> {
    let mut ro = ReadOptions::default();
    ro.set_total_order_seek(true);
    if let Some(upper) = prefix_successor(prefix) {
        ro.set_iterate_upper_bound(upper);
    }
    let mut it: DBRawIterator<'a> = db.raw_iterator_cf_opt(cf, ro);
    match start {
        ScanStart::First => it.seek(prefix),
        ScanStart::At { key, exclusive } => {
            it.seek(key);
            if exclusive && it.key() == Some(key) {
                it.next();
            }
        }
    }
    it
}

/// Visits the entries of `cf` whose keys start with `prefix`, in key order, until `sink`
/// returns false. Returns the number of entries `sink` accepted.
pub(crate) fn scan_cf(
    db: &DB,
    cf: &ColumnFamily,
    prefix: &[u8],
    start: ScanStart<'_>,
    mut sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
) -> Result<usize> {
    let mut it = seek(db, cf, prefix, start);
    let mut n = 0;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if !k.starts_with(prefix) {
            break;
        }
        if !sink(k, v)? {
            return Ok(n);
        }
        n += 1;
        it.next();
    }
    it.status()?;
    Ok(n)
}

/// Visits the entries of a map in key order from `start`, as [`scan_cf`] does, with `changes`
/// (sorted by key, from [`HotTable::map_changes`]) laid over what `cf` holds: a changed entry
/// replaces RocksDB's, a removed one hides it. `cf` is `None` when RocksDB holds nothing of the
/// state.
fn scan_merged(
    db: &DB,
    cf: Option<&ColumnFamily>,
    prefix: &[u8],
    start: ScanStart<'_>,
    changes: &[(IBytes, Option<IBytes>)],
    mut sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
) -> Result<usize> {
    let from = match start {
        ScanStart::First => 0,
        ScanStart::At { key, exclusive } => changes.partition_point(|(k, _)| {
            let k = k.as_slice();
            k < key || (exclusive && k == key)
        }),
    };
    let mut hot = changes[from..]
        .iter()
        .filter(|(k, _)| k.as_slice().starts_with(prefix))
        .peekable();
    let mut it = cf.map(|cf| seek(db, cf, prefix, start));
    let mut n = 0;
    loop {
        let stored = it
            .as_ref()
            .and_then(|it| it.key())
            .filter(|k| k.starts_with(prefix));
        let order = match (stored, hot.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(k), Some((hk, _))) => k.cmp(hk.as_slice()),
        };
        if order == Ordering::Less {
            let Some(it) = it.as_mut() else { break };
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !sink(k, v)? {
                break;
            }
            n += 1;
            it.next();
        } else {
            if order == Ordering::Equal {
                // The hot entry replaces (or hides) the stored one.
                if let Some(it) = it.as_mut() {
                    it.next();
                }
            }
            let Some((hk, hv)) = hot.next() else { break };
            if let Some(v) = hv {
                if !sink(hk.as_slice(), v.as_slice())? {
                    break;
                }
                n += 1;
            }
        }
    }
    if let Some(it) = it {
        it.status()?;
    }
    Ok(n)
}

impl Store {
    /// Opens the store at `opts.path`, creating it when missing and opening every column
    /// family it already holds (after a restore).
    pub fn open(opts: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(&opts.path).map_err(|e| Error::io(&opts.path, e))?;
        let existing = if opts.path.join("CURRENT").exists() {
            DB::list_cf(&Options::default(), &opts.path)?
        } else {
            Vec::new()
        };
        let mut states = Vec::new();
        let mut by_name = HashMap::new();
        let mut descriptors = Vec::new();
        for name in existing {
            let cell = Arc::new(TtlCell::default());
            descriptors.push(ColumnFamilyDescriptor::new(
                &name,
                cf_options(&opts.memory, Some((cell.clone(), opts.clock.clone()))),
            ));
            if name != rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
                by_name.insert(name.clone(), states.len() as u32);
                states.push(State {
                    name,
                    kind: None,
                    hot: Self::new_incomplete_table(&opts.memory),
                    ttl: cell,
                    accounted: 0,
                });
            }
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
            entry_key: Vec::new(),
        })
    }

    /// The hot table of a state registered fresh: complete (RocksDB holds none of it).
    fn new_table(memory: &SharedMemory) -> HotTable {
        let mut t = HotTable::new();
        t.set_growth_limit(memory.hot_limit());
        t
    }

    /// The hot table of a state whose entries RocksDB holds (restored or imported).
    fn new_incomplete_table(memory: &SharedMemory) -> HotTable {
        let mut t = Self::new_table(memory);
        t.set_incomplete();
        t
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        &self.opts.path
    }

    /// Registers a state (or finds the one restored under that name) and returns its id.
    /// A restored state takes the kind of its first registration; a different kind later is
    /// an error.
    pub fn register_state(&mut self, name: &str, kind: StateKind) -> Result<u32> {
        if name.is_empty() || name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
            return Err(Error::InvalidArgument(format!(
                "state name {name:?} is reserved"
            )));
        }
        if let Some(&id) = self.by_name.get(name) {
            let st = &mut self.states[id as usize];
            match st.kind {
                None => st.kind = Some(kind),
                Some(k) if k == kind => {}
                Some(k) => {
                    return Err(Error::InvalidArgument(format!(
                        "state {name:?} is registered as {k:?}, not {kind:?}"
                    )))
                }
            }
            return Ok(id);
        }
        let cell = Arc::new(TtlCell::default());
        let o = cf_options(
            &self.opts.memory,
            Some((cell.clone(), self.opts.clock.clone())),
        );
        self.db.create_cf(name, &o)?;
        let id = self.states.len() as u32;
        self.states.push(State {
            name: name.to_string(),
            kind: Some(kind),
            hot: Self::new_table(&self.opts.memory),
            ttl: cell,
            accounted: 0,
        });
        self.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// Names of all states, by id (restored ones included).
    pub fn state_names(&self) -> Vec<String> {
        self.states.iter().map(|s| s.name.clone()).collect()
    }

    /// The kind a state was registered with.
    pub fn state_kind(&self, state: u32) -> Result<Option<StateKind>> {
        Ok(self.state(state)?.kind)
    }

    /// Sets or clears the TTL compaction filter of a state.
    pub fn set_ttl(&mut self, state: u32, config: Option<TtlConfig>) -> Result<()> {
        self.state(state)?.ttl.set(config);
        Ok(())
    }

    fn state(&self, state: u32) -> Result<&State> {
        self.states
            .get(state as usize)
            .ok_or(Error::UnknownState(state))
    }

    fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
        db.cf_handle(name)
            .ok_or_else(|| Error::corrupt("store", format!("column family {name:?} is missing")))
    }

    /// Reads the value of `key` and hands it to `sink`; `None` when the key holds nothing.
    #[inline]
    pub fn get<R>(
        &mut self,
        state: u32,
        key: &[u8],
        sink: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>> {
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        let complete = st.hot.is_complete();
        let pending_append = match st.hot.get(key) {
            Some(SlotRef::Present(v)) => {
                self.stats.hot_hits += 1;
                return Ok(Some(sink(v)));
            }
            Some(SlotRef::Absent) => {
                self.stats.hot_hits += 1;
                return Ok(None);
            }
            Some(SlotRef::Appended(_)) => true,
            None if complete => return Ok(None),
            None => false,
        };
        let cf = Self::cf(&self.db, &st.name)?;
        self.stats.rocksdb_reads += 1;
        let result = {
            let base = self.db.get_pinned_cf(cf, key)?;
            if pending_append {
                // The list's stored part was never read: read it now and keep the whole list.
                let mut whole = base.as_deref().unwrap_or_default().to_vec();
                if let Some(SlotRef::Appended(app)) = st.hot.get(key) {
                    whole.extend_from_slice(app);
                }
                st.hot.set(key, &whole, true);
                Some(sink(&whole))
            } else {
                match base {
                    Some(v) => {
                        if v.len() <= self.opts.max_hot_value {
                            st.hot.set(key, &v, false);
                        }
                        Some(sink(&v))
                    }
                    None => {
                        st.hot.set_absent(key, false);
                        None
                    }
                }
            }
        };
        self.account(state);
        Ok(result)
    }

    /// True when `key` holds a value.
    pub fn contains(&mut self, state: u32, key: &[u8]) -> Result<bool> {
        Ok(self.get(state, key, |_| ())?.is_some())
    }

    /// Sets the value of `key`.
    #[inline]
    pub fn put(&mut self, state: u32, key: &[u8], value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_hot_value {
            self.take_hot(state, key)?;
            let st = self.state(state)?;
            let cf = Self::cf(&self.db, &st.name)?;
            fault::check_write()?;
            self.db.put_cf_opt(cf, key, value, &self.write_opts)?;
            self.stats.rocksdb_writes += 1;
        } else {
            self.state_mut(state)?.hot.set(key, value, true);
        }
        self.account(state);
        Ok(())
    }

    /// Sets the map entry `key`, whose first `prefix_len` bytes (key group, key, namespace)
    /// name its map: iterating that map later writes back only its own entries.
    #[inline]
    pub fn put_entry(
        &mut self,
        state: u32,
        key: &[u8],
        prefix_len: usize,
        value: &[u8],
    ) -> Result<()> {
        if value.len() > self.opts.max_hot_value || prefix_len > key.len() {
            return self.put(state, key, value);
        }
        self.state_mut(state)?.hot.set_entry(key, prefix_len, value);
        self.account(state);
        Ok(())
    }

    /// Sets several entries of the map `prefix` (key group, key, namespace) at once: `batch`
    /// holds, per entry, a 4-byte big-endian length and the user key, then a 4-byte length and
    /// the value (what a `MapState.putAll` sends in one call). Returns the entries written; a
    /// malformed batch is an error, and the entries before the damage stay written.
    pub fn put_entries(&mut self, state: u32, prefix: &[u8], batch: &[u8]) -> Result<usize> {
        let mut key = std::mem::take(&mut self.entry_key);
        let mut rest = batch;
        let mut n = 0;
        let result = loop {
            if rest.is_empty() {
                break Ok(n);
            }
            let (user_key, after) = match split_field(rest) {
                Ok(x) => x,
                Err(e) => break Err(e),
            };
            let (value, after) = match split_field(after) {
                Ok(x) => x,
                Err(e) => break Err(e),
            };
            rest = after;
            key.clear();
            key.extend_from_slice(prefix);
            key.extend_from_slice(user_key);
            if let Err(e) = self.put_entry(state, &key, prefix.len(), value) {
                break Err(e);
            }
            n += 1;
        };
        self.entry_key = key;
        result
    }

    /// Removes the map entry `key`, whose first `prefix_len` bytes name its map.
    #[inline]
    pub fn delete_entry(&mut self, state: u32, key: &[u8], prefix_len: usize) -> Result<()> {
        if prefix_len > key.len() {
            return self.delete(state, key);
        }
        self.state_mut(state)?.hot.remove_entry(key, prefix_len);
        self.account(state);
        Ok(())
    }

    /// Removes the value of `key`.
    #[inline]
    pub fn delete(&mut self, state: u32, key: &[u8]) -> Result<()> {
        self.state_mut(state)?.hot.set_absent(key, true);
        self.account(state);
        Ok(())
    }

    /// Appends list elements (in the store's list format) to `key` without reading it.
    #[inline]
    pub fn append(&mut self, state: u32, key: &[u8], elements: &[u8]) -> Result<()> {
        if elements.len() > self.opts.max_hot_value {
            self.take_hot(state, key)?;
            let st = self.state(state)?;
            let cf = Self::cf(&self.db, &st.name)?;
            fault::check_write()?;
            self.db.merge_cf_opt(cf, key, elements, &self.write_opts)?;
            self.stats.rocksdb_writes += 1;
        } else {
            let st = self.state_mut(state)?;
            let complete = st.hot.is_complete();
            st.hot.append(key, elements, complete);
        }
        self.account(state);
        Ok(())
    }

    fn state_mut(&mut self, state: u32) -> Result<&mut State> {
        self.states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))
    }

    /// Writes the hot slot of `key` back if it is dirty and drops it, so a direct write to
    /// RocksDB can follow.
    fn take_hot(&mut self, state: u32, key: &[u8]) -> Result<()> {
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        if st.hot.has_dirty() {
            Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
        }
        // The caller writes `key` to RocksDB directly: the table is no longer complete.
        st.hot.forget(key);
        st.hot.set_incomplete();
        Ok(())
    }

    /// Writes the dirty hot entries of `st` back in one write batch: all of them, or at least
    /// those of the map `map_prefix` names (see [`HotTable::flush_prefix`]).
    fn flush_state(
        db: &DB,
        write_opts: &WriteOptions,
        st: &mut State,
        stats: &mut StoreStats,
        map_prefix: Option<&[u8]>,
    ) -> Result<()> {
        if !st.hot.has_dirty() {
            return Ok(());
        }
        let cf = Self::cf(db, &st.name)?;
        let batch = std::cell::RefCell::new(WriteBatch::default());
        let stage = |w: WriteBack<'_>| -> Result<()> {
            let mut b = batch.borrow_mut();
            match w {
                WriteBack::Put(k, v) => b.put_cf(cf, k, v),
                WriteBack::Delete(k) => b.delete_cf(cf, k),
                WriteBack::Merge(k, v) => b.merge_cf(cf, k, v),
            }
            Ok(())
        };
        let written = std::cell::Cell::new(false);
        let commit = || -> Result<()> {
            let b = batch.take();
            if b.is_empty() {
                return Ok(());
            }
            fault::check_write()?;
            db.write_opt(b, write_opts)?;
            written.set(true);
            Ok(())
        };
        match map_prefix {
            Some(prefix) => st.hot.flush_prefix(prefix, stage, commit)?,
            None => st.hot.flush(stage, commit)?,
        }
        if written.get() {
            stats.rocksdb_writes += 1;
        }
        Ok(())
    }

    /// Writes back the dirty entries of one map (`prefix`: key group, key, namespace) of
    /// `state`, so RocksDB holds that map entirely; other maps' entries stay in the hot tier.
    fn flush_map(&mut self, state: u32, prefix: &[u8]) -> Result<()> {
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        Self::flush_state(
            &self.db,
            &self.write_opts,
            st,
            &mut self.stats,
            Some(prefix),
        )?;
        self.account(state);
        Ok(())
    }

    /// Visits the entries of one map (`prefix`: key group, key, namespace, as given to
    /// [`Store::put_entry`]) of `state` in key order, from `start`, until `sink` returns false.
    /// A complete hot tier lists the whole map itself ([`HotTable::map_entries`]); otherwise
    /// the map's entries changed in the hot tier are merged with what RocksDB holds, so nothing
    /// is written back. When the hot tier cannot list them cheaply (see
    /// [`HotTable::map_changes`]), only that map's dirty entries are written back first.
    pub fn scan_map(
        &mut self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        let mut changes = std::mem::take(&mut self.map_changes);
        let hot = &mut self.state_mut(state)?.hot;
        let whole = hot.map_entries(prefix, MAX_LISTED_ENTRIES, &mut changes);
        let listed = whole || hot.map_changes(prefix, MAX_MERGED_CHANGES, &mut changes);
        if !whole {
            self.stats.rocksdb_scans += 1;
        }
        let result = if listed {
            let st = self.state(state)?;
            let cf = if whole {
                None
            } else {
                Some(Self::cf(&self.db, &st.name)?)
            };
            scan_merged(&self.db, cf, prefix, start, &changes, sink)
        } else {
            self.flush_map(state, prefix)
                .and_then(|()| self.scan_written_back(state, prefix, start, sink))
        };
        changes.clear();
        self.map_changes = changes;
        result
    }

    /// Scans RocksDB alone: the caller wrote back whatever the scan must see.
    fn scan_written_back(
        &self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        let st = self.state(state)?;
        let cf = Self::cf(&self.db, &st.name)?;
        scan_cf(&self.db, cf, prefix, start, sink)
    }

    /// True when the map `prefix` (key group, key, namespace) of `state` holds no entry. The
    /// hot tier answers when it holds a written entry of the map; otherwise the map is scanned
    /// up to its first entry (see [`Store::scan_map`]).
    pub fn is_map_empty(&mut self, state: u32, prefix: &[u8]) -> Result<bool> {
        if self.state_mut(state)?.hot.map_has_written_entry(prefix) {
            return Ok(false);
        }
        let mut any = false;
        self.scan_map(state, prefix, ScanStart::First, |_, _| {
            any = true;
            Ok(false)
        })?;
        Ok(!any)
    }

    /// Writes every dirty hot entry of `state` to RocksDB.
    pub fn flush(&mut self, state: u32) -> Result<()> {
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
        self.account(state);
        Ok(())
    }

    /// Writes every dirty hot entry of every state to RocksDB.
    pub fn flush_all(&mut self) -> Result<()> {
        for i in 0..self.states.len() {
            self.flush(i as u32)?;
        }
        Ok(())
    }

    /// Updates the accounting after `state`'s hot table changed, evicting when the shared
    /// budget is exceeded.
    #[inline]
    fn account(&mut self, state: u32) {
        let Some(st) = self.states.get_mut(state as usize) else {
            return;
        };
        let now = st.hot.memory_bytes();
        self.unpublished += now as isize - st.accounted as isize;
        st.accounted = now;
        if self.unpublished.abs() >= PUBLISH_STEP {
            self.publish();
            if self.opts.memory.hot_over_limit() {
                // Accounting must not fail a read; a failed write-back resurfaces on the
                // next flush, which reports it.
                let _ = self.evict();
            }
        }
    }

    fn publish(&mut self) {
        self.published = (self.published as isize + self.unpublished).max(0) as usize;
        self.opts.memory.add_hot(self.unpublished);
        self.unpublished = 0;
    }

    /// Brings the hot tier back under its share of the budget: writes dirty entries back,
    /// then evicts cold entries.
    pub fn evict(&mut self) -> Result<()> {
        let excess = self.opts.memory.hot_excess();
        if excess == 0 {
            return Ok(());
        }
        self.stats.evictions += 1;
        // Free down to 3/4 of the limit so eviction runs rarely.
        let mut want = excess + self.opts.memory.hot_limit() / 4;
        let total: usize = self
            .states
            .iter()
            .map(|s| s.accounted)
            .sum::<usize>()
            .max(1);
        for i in 0..self.states.len() {
            let st = &mut self.states[i];
            Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
            // Each state gives up its share of what must go.
            let share =
                want.min(((st.accounted as u128 * want as u128) / total as u128) as usize + 1);
            st.hot.evict(share);
            let now = st.hot.memory_bytes();
            let freed = st.accounted.saturating_sub(now);
            want = want.saturating_sub(freed);
            self.unpublished += now as isize - st.accounted as isize;
            st.accounted = now;
        }
        self.publish();
        release_free_memory();
        Ok(())
    }

    /// Drops the whole hot tier after writing it back (tests and memory pressure).
    pub fn drop_hot(&mut self) -> Result<()> {
        self.flush_all()?;
        for st in &mut self.states {
            st.hot.clear();
        }
        for i in 0..self.states.len() {
            self.account(i as u32);
        }
        self.publish();
        Ok(())
    }

    /// Visits the entries of `state` whose keys start with `prefix`, in key order, until
    /// `sink` returns false. Dirty hot entries are written back first, so RocksDB holds
    /// everything.
    pub fn scan(
        &mut self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        self.flush(state)?;
        self.scan_written_back(state, prefix, start, sink)
    }

    /// Removes every entry of `state` whose key starts with `prefix` (clearing a map). A
    /// complete hot tier marks the map's entries removed itself (written back later).
    pub fn delete_prefix(&mut self, state: u32, prefix: &[u8]) -> Result<()> {
        let mut entries = std::mem::take(&mut self.map_changes);
        let hot = &mut self.state_mut(state)?.hot;
        if hot.map_entries(prefix, usize::MAX, &mut entries) {
            for (k, _) in &entries {
                hot.remove_entry(k.as_slice(), prefix.len());
            }
            entries.clear();
            self.map_changes = entries;
            self.account(state);
            return Ok(());
        }
        self.map_changes = entries;
        self.flush_map(state, prefix)?;
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        let cf = Self::cf(&self.db, &st.name)?;
        let mut batch = WriteBatch::default();
        scan_cf(&self.db, cf, prefix, ScanStart::First, |k, _| {
            st.hot.forget(k);
            batch.delete_cf(cf, k);
            Ok(true)
        })?;
        if !batch.is_empty() {
            fault::check_write()?;
            self.db.write_opt(batch, &self.write_opts)?;
        }
        self.account(state);
        Ok(())
    }

    /// Number of entries of `state`.
    pub fn count(&mut self, state: u32) -> Result<usize> {
        self.scan(state, &[], ScanStart::First, |_, _| Ok(true))
    }

    /// Deletes every key outside key groups `[start, end]`, written with `prefix_bytes`
    /// bytes: after a restore, the key groups that now belong to other backends go, by range
    /// deletion and whole-file deletion rather than a rewrite.
    pub fn clip_key_groups(&mut self, prefix_bytes: usize, start: u32, end: u32) -> Result<()> {
        if start > end {
            return Err(Error::InvalidArgument(format!(
                "empty key group range [{start}, {end}]"
            )));
        }
        self.flush_all()?;
        let low = keygroup::encode(start, prefix_bytes)?;
        let high = keygroup::encode(end + 1, prefix_bytes).ok();
        let top = vec![0xffu8; prefix_bytes + 1];
        for st in &mut self.states {
            let cf = Self::cf(&self.db, &st.name)?;
            let empty: &[u8] = &[];
            fault::check_write()?;
            self.db.delete_file_in_range_cf(cf, empty, &low[..])?;
            self.db.delete_range_cf(cf, empty, &low[..])?;
            if let Some(high) = &high {
                self.db.delete_file_in_range_cf(cf, &high[..], &top[..])?;
                self.db.delete_range_cf(cf, &high[..], &top[..])?;
            }
            st.hot.remove_where(|k| {
                keygroup::decode(k, prefix_bytes).map_or(true, |kg| kg < start || kg > end)
            });
        }
        for i in 0..self.states.len() {
            self.account(i as u32);
        }
        Ok(())
    }

    /// Copies every entry of the store at `dir` (a snapshot directory) whose key group lies
    /// in `[start, end]` into this store, by state name (used when several snapshots are
    /// merged into one backend on rescaling).
    pub fn import_key_groups(
        &mut self,
        dir: &Path,
        prefix_bytes: usize,
        start: u32,
        end: u32,
    ) -> Result<u64> {
        let other = open_read_only(dir, &self.opts.memory)?;
        let names = DB::list_cf(&Options::default(), dir)?;
        let low = keygroup::encode(start, prefix_bytes)?;
        let mut copied = 0u64;
        for name in names {
            if name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
                continue;
            }
            let id = match self.by_name.get(&name) {
                Some(&id) => id,
                None => {
                    let cell = Arc::new(TtlCell::default());
                    let o = cf_options(
                        &self.opts.memory,
                        Some((cell.clone(), self.opts.clock.clone())),
                    );
                    self.db.create_cf(&name, &o)?;
                    let id = self.states.len() as u32;
                    self.states.push(State {
                        name: name.clone(),
                        kind: None,
                        hot: Self::new_incomplete_table(&self.opts.memory),
                        ttl: cell,
                        accounted: 0,
                    });
                    self.by_name.insert(name.clone(), id);
                    id
                }
            };
            self.flush(id)?;
            self.states[id as usize].hot.set_incomplete();
            let src = Self::cf(&other, &name)?;
            let dst = Self::cf(&self.db, &name)?;
            let mut batch = WriteBatch::default();
            let mut err = None;
            scan_cf(
                &other,
                src,
                &[],
                ScanStart::At {
                    key: &low,
                    exclusive: false,
                },
                |k, v| match keygroup::decode(k, prefix_bytes) {
                    Ok(kg) if kg > end => Ok(false),
                    Ok(_) => {
                        batch.put_cf(dst, k, v);
                        copied += 1;
                        if batch.size_in_bytes() > 4 << 20 {
                            fault::check_write()?;
                            self.db
                                .write_opt(std::mem::take(&mut batch), &self.write_opts)?;
                        }
                        Ok(true)
                    }
                    Err(e) => {
                        err = Some(e);
                        Ok(false)
                    }
                },
            )?;
            if let Some(e) = err {
                return Err(e);
            }
            fault::check_write()?;
            self.db.write_opt(batch, &self.write_opts)?;
        }
        Ok(copied)
    }

    /// Writes a consistent copy of the store into `dir` (which must not exist): dirty hot
    /// entries are written back, memtables flushed, and SST files hard-linked.
    pub fn checkpoint(&mut self, dir: &Path) -> Result<()> {
        self.flush_all()?;
        fault::check_write()?;
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        cp.create_checkpoint(dir)?;
        Ok(())
    }

    /// Runs a full manual compaction of `state` (TTL cleanup tests and maintenance). The
    /// state's hot entries are written back first. With a TTL, they are dropped too: the
    /// compaction filter may delete expired entries, and the hot tier must not keep serving
    /// them; without one, compaction changes no value, so the (now clean) hot tier stays.
    pub fn compact(&mut self, state: u32) -> Result<()> {
        self.flush(state)?;
        let st = self
            .states
            .get_mut(state as usize)
            .ok_or(Error::UnknownState(state))?;
        if st.ttl.get().is_some() {
            st.hot.clear();
        }
        let cf = Self::cf(&self.db, &st.name)?;
        let none: Option<&[u8]> = None;
        self.db.flush_cf(cf)?;
        self.db.compact_range_cf(cf, none, none);
        self.account(state);
        Ok(())
    }

    /// What the store did so far.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Native memory held: the hot tier by its own accounting, and RocksDB's block cache
    /// (which is charged with the memtables).
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            hot: self.states.iter().map(|s| s.accounted).sum(),
            rocksdb: self.opts.memory.rocksdb_usage(),
            budget: self.opts.memory.budget(),
        }
    }
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
}

impl Drop for Store {
    fn drop(&mut self) {
        // Give the shared budget back.
        self.opts.memory.add_hot(-(self.published as isize));
    }
}
