//! The store handle: options, open and close, states, TTL, statistics.

use crate::args::{self, Out};
use crate::error::{call, call_or, CResult, CallError};
use crate::ferrostate_status;
use crate::memory::{ferrostate_memory, ratio};
use ferrostate_engine::keygroup;
use ferrostate_engine::memory::SharedMemory;
use ferrostate_engine::ttl::{self, TtlConfig, TtlLayout};
use ferrostate_engine::{StateKind, Store, StoreOptions};
use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The kinds of state, as `ferrostate_register_state` takes them.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ferrostate_kind {
    /// One value per key (Flink's value, reducing and aggregating state): `ferrostate_put`,
    /// `ferrostate_get`, `ferrostate_delete`.
    Value = 0,
    /// A list per key: `ferrostate_list_append` adds one element without reading the list;
    /// `ferrostate_get` returns the whole list in the store's list format (read it with
    /// `ferrostate_list_next`).
    List = 1,
    /// A map per key: `ferrostate_map_put`, `ferrostate_map_get`, `ferrostate_map_remove`,
    /// `ferrostate_map_clear`, `ferrostate_map_scan`.
    Map = 2,
}

/// Largest maximum parallelism (number of key groups), as in Flink.
pub const FERROSTATE_MAX_PARALLELISM: u32 = 1 << 15;

/// How to open (or restore) a store. Get one from `ferrostate_options_default`, then set
/// `path` and what else differs.
///
/// Keys are key-group-first, as Flink lays them out: every key (and every map's prefix)
/// starts with its key group in 1 byte when `max_parallelism` is at most 128, else in 2
/// bytes, big-endian (`ferrostate_key_group_prefix` writes it). A store owns the key groups
/// `[key_group_start, key_group_end]`: a key outside them is refused, and a restore keeps only
/// them, so snapshots of several stores can be merged into one and one split into several.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ferrostate_options {
    /// The working directory (created when missing; a store left there by an earlier open is
    /// opened again). Required; read during the call only.
    pub path: *const c_char,
    /// A budget shared with other stores, or NULL for a private budget of `memory_budget`
    /// bytes. The store keeps its own reference: the caller may free the budget at any time.
    pub memory: *const ferrostate_memory,
    /// Bytes of a private budget (used when `memory` is NULL; at least 16 MiB is used).
    /// Default 64 MiB.
    pub memory_budget: u64,
    /// Share of a private budget for the hot tier (of the 7/8 the tiers plan for, see
    /// `ferrostate_memory_new`), in `[0, 1]`. Default 0.5.
    pub hot_ratio: f64,
    /// Share of a private budget's RocksDB part for memtables, in `[0, 1]`. Default 0.5.
    pub write_buffer_ratio: f64,
    /// Values longer than this bypass the hot tier. Default 65536.
    pub max_hot_value: u64,
    /// Number of key groups, from 1 to 32768. Default 128.
    pub max_parallelism: u32,
    /// First key group of the store. Default 0.
    pub key_group_start: u32,
    /// Last key group of the store (inclusive, below `max_parallelism`). Default 127.
    pub key_group_end: u32,
}

impl Default for ferrostate_options {
    fn default() -> Self {
        ferrostate_options {
            path: std::ptr::null(),
            memory: std::ptr::null(),
            memory_budget: 64 << 20,
            hot_ratio: ferrostate_engine::memory::DEFAULT_HOT_RATIO,
            write_buffer_ratio: ferrostate_engine::memory::DEFAULT_WRITE_BUFFER_RATIO,
            max_hot_value: 64 * 1024,
            max_parallelism: 128,
            key_group_start: 0,
            key_group_end: 127,
        }
    }
}

/// Options checked and turned into the engine's.
pub(crate) struct Settings {
    pub(crate) store: StoreOptions,
    pub(crate) key_groups: KeyGroups,
}

/// The key groups a store owns and how keys carry them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyGroups {
    pub(crate) max_parallelism: u32,
    pub(crate) prefix_bytes: usize,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

fn check_parallelism(max_parallelism: u32) -> CResult<()> {
    if max_parallelism == 0 || max_parallelism > FERROSTATE_MAX_PARALLELISM {
        return Err(CallError::invalid(format!(
            "max_parallelism must lie in [1, {FERROSTATE_MAX_PARALLELISM}], is {max_parallelism}"
        )));
    }
    Ok(())
}

impl Settings {
    /// Checks the options at `opts`.
    ///
    /// # Safety
    ///
    /// `opts` is NULL or points to a readable `ferrostate_options` whose `path` is NULL or a C
    /// string, and whose `memory` is NULL or a live budget.
    pub(crate) unsafe fn from_c(opts: *const ferrostate_options) -> CResult<Settings> {
        // Every store of this library is opened from settings: from here on its allocator is
        // the one that serves them.
        ferrostate_engine::alloc::library_allocator_registered();
        if opts.is_null() {
            return Err(CallError::null("options"));
        }
        // SAFETY: readable, by the caller's promise; the struct is plain data.
        let o = unsafe { *opts };
        // SAFETY: the caller's promise.
        let path: PathBuf = unsafe { args::path("options->path", o.path) }?;
        check_parallelism(o.max_parallelism)?;
        if o.key_group_start > o.key_group_end || o.key_group_end >= o.max_parallelism {
            return Err(CallError::invalid(format!(
                "key groups [{}, {}] are not a range within [0, {})",
                o.key_group_start, o.key_group_end, o.max_parallelism
            )));
        }
        let memory = if o.memory.is_null() {
            if o.memory_budget == 0 {
                return Err(CallError::invalid("options->memory_budget is 0"));
            }
            let budget = usize::try_from(o.memory_budget).unwrap_or(usize::MAX);
            SharedMemory::new(
                budget,
                ratio("options->hot_ratio", o.hot_ratio)?,
                ratio("options->write_buffer_ratio", o.write_buffer_ratio)?,
            )
        } else {
            // SAFETY: a live budget, by the caller's promise.
            unsafe { &*o.memory }.shared.clone()
        };
        Ok(Settings {
            store: StoreOptions {
                path,
                memory,
                clock: ttl::system_clock(),
                max_hot_value: usize::try_from(o.max_hot_value).unwrap_or(usize::MAX),
                ingest_min_dirty: ferrostate_engine::store::INGEST_MIN_DIRTY,
            },
            key_groups: KeyGroups {
                max_parallelism: o.max_parallelism,
                prefix_bytes: keygroup::prefix_bytes(o.max_parallelism),
                start: o.key_group_start,
                end: o.key_group_end,
            },
        })
    }
}

/// An open store and what the C API keeps beside it.
pub(crate) struct Open {
    pub(crate) store: Store,
    pub(crate) key_groups: KeyGroups,
    /// Reused for composite keys (map entries) and list elements.
    pub(crate) scratch: Vec<u8>,
    /// Size and CRC-32C of the files of this store's last snapshot (or of the snapshot it was
    /// restored from): the next snapshot reads only the files that are new.
    pub(crate) known: HashMap<String, (u64, u32)>,
}

impl Open {
    /// Opens the store `settings` describe.
    pub(crate) fn new(settings: Settings) -> CResult<Open> {
        Ok(Open {
            store: Store::open(settings.store)?,
            key_groups: settings.key_groups,
            scratch: Vec::new(),
            known: HashMap::new(),
        })
    }

    fn name(&self, state: u32) -> String {
        self.store
            .state_names()
            .get(state as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// The kind of `state`: unknown states and restored ones not registered yet are errors.
    pub(crate) fn kind(&self, state: u32) -> CResult<StateKind> {
        match self.store.state_kind(state)? {
            Some(k) => Ok(k),
            None => Err(CallError::new(
                ferrostate_status::UnknownState,
                format!(
                    "state {state} ({:?}) was restored but is not registered: register it with \
                     its kind first",
                    self.name(state)
                ),
            )),
        }
    }

    /// The kind of `state`, which must be one of `allowed` for function `what`.
    pub(crate) fn expect_kind(&self, state: u32, allowed: &[StateKind]) -> CResult<StateKind> {
        let kind = self.kind(state)?;
        if !allowed.contains(&kind) {
            return Err(CallError::new(
                ferrostate_status::WrongKind,
                format!(
                    "state {state} ({:?}) is a {kind:?} state; this works on {allowed:?} states",
                    self.name(state)
                ),
            ));
        }
        Ok(kind)
    }

    /// Checks that `key` (parameter `param`) starts with a key group of this store.
    pub(crate) fn check_key(&self, param: &str, key: &[u8]) -> CResult<()> {
        let kg = &self.key_groups;
        let group = keygroup::decode(key, kg.prefix_bytes).map_err(|_| {
            CallError::invalid(format!(
                "{param} of {} bytes cannot start with a {}-byte key group",
                key.len(),
                kg.prefix_bytes
            ))
        })?;
        if group < kg.start || group > kg.end {
            return Err(CallError::invalid(format!(
                "{param} is in key group {group}, outside the store's key groups [{}, {}]",
                kg.start, kg.end
            )));
        }
        Ok(())
    }
}

/// What a store handle and its iterators share: the store, behind a lock (`None` once closed).
pub(crate) struct Shared {
    open: Mutex<Option<Open>>,
}

// C calls a store from any thread, which Rust cannot see: the compiler checks here that the
// store may move between threads and be shared behind its lock.
const _: () = {
    const fn shared_across_threads<T: Send + Sync>() {}
    shared_across_threads::<Shared>();
    shared_across_threads::<ferrostate_store>();
};

impl Shared {
    pub(crate) fn new(open: Open) -> Arc<Shared> {
        Arc::new(Shared {
            open: Mutex::new(Some(open)),
        })
    }

    /// Runs `f` on the open store, holding its lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Open) -> CResult<R>) -> CResult<R> {
        let mut guard = self.open.lock().map_err(|_| {
            CallError::new(
                ferrostate_status::Panic,
                "an earlier call panicked while it used this store; only ferrostate_store_close \
                 works on it now",
            )
        })?;
        let open = guard
            .as_mut()
            .ok_or_else(|| CallError::new(ferrostate_status::Closed, "the store is closed"))?;
        f(open)
    }
}

/// An open store. Opaque; created by `ferrostate_store_open` or `ferrostate_store_restore`,
/// freed by `ferrostate_store_close`. Calls on one store may come from several threads: a lock
/// runs them one at a time.
pub struct ferrostate_store {
    pub(crate) shared: Arc<Shared>,
}

impl ferrostate_store {
    /// A new handle (to hand to C with `Box::into_raw`).
    pub(crate) fn boxed(open: Open) -> Box<ferrostate_store> {
        Box::new(ferrostate_store {
            shared: Shared::new(open),
        })
    }
}

/// The store handle at `store`.
///
/// # Safety
///
/// `store` is NULL or a live handle from this library.
pub(crate) unsafe fn handle<'a>(store: *const ferrostate_store) -> CResult<&'a ferrostate_store> {
    if store.is_null() {
        return Err(CallError::null("store"));
    }
    // SAFETY: a live handle, by the caller's promise; handles are only read through `&`.
    Ok(unsafe { &*store })
}

/// Runs `f` on the store at `store`, holding its lock.
///
/// # Safety
///
/// As [`handle`].
pub(crate) unsafe fn with_store<R>(
    store: *const ferrostate_store,
    f: impl FnOnce(&mut Open) -> CResult<R>,
) -> CResult<R> {
    // SAFETY: the caller's promise, passed on.
    unsafe { handle(store) }?.shared.with(f)
}

/// Runs `f` on the store at `store` (with the state's kind) when `state` is of one of the
/// `allowed` kinds and `key` (parameter `param`) starts with one of the store's key groups:
/// the checks every keyed call makes first.
///
/// # Safety
///
/// As [`handle`].
pub(crate) unsafe fn with_keyed<R>(
    store: *const ferrostate_store,
    state: u32,
    allowed: &[StateKind],
    (param, key): (&str, &[u8]),
    f: impl FnOnce(&mut Open, StateKind) -> CResult<R>,
) -> CResult<R> {
    // SAFETY: the caller's promise, passed on.
    unsafe {
        with_store(store, |o| {
            let kind = o.expect_kind(state, allowed)?;
            o.check_key(param, key)?;
            f(o, kind)
        })
    }
}

/// Options with every default filled in and `path` and `memory` NULL: set `path` (and what
/// else differs) before opening.
#[no_mangle]
pub extern "C" fn ferrostate_options_default() -> ferrostate_options {
    call_or(
        "ferrostate_options_default",
        ferrostate_options::default(),
        ferrostate_options::default,
    )
}

/// Opens the store `options` describe: creates its directory when missing, or opens again
/// the store an earlier `ferrostate_store_close` left there (with every state it held; each
/// must be registered again before use). A snapshot directory is refused
/// (`FERROSTATE_STATUS_INVALID_ARGUMENT`): restore from it with `ferrostate_store_restore`.
///
/// On success `*out` is a new store the caller owns: close it with `ferrostate_store_close`.
/// On error `*out` is not written.
///
/// # Safety
///
/// `options` is NULL or points to readable options (their `path` NULL or a C string, their
/// `memory` NULL or a live budget), read during the call only; `out` is NULL or points to
/// writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_open(
    options: *const ferrostate_options,
    out: *mut *mut ferrostate_store,
) -> ferrostate_status {
    call("ferrostate_store_open", || {
        // SAFETY: the caller's promise.
        let mut out = unsafe { Out::new("out", out) }?;
        // SAFETY: the caller's promise.
        let settings = unsafe { Settings::from_c(options) }?;
        let path = &settings.store.path;
        if path
            .join(ferrostate_engine::snapshot::MANIFEST_NAME)
            .exists()
        {
            return Err(CallError::invalid(format!(
                "{} is a snapshot directory: opening it would change it; restore from it with \
                 ferrostate_store_restore",
                path.display()
            )));
        }
        out.set(Box::into_raw(ferrostate_store::boxed(Open::new(settings)?)));
        Ok(())
    })
}

/// Writes the hot tier back to RocksDB (so `ferrostate_store_open` on the same directory sees
/// everything), closes the store and frees the handle. The handle is freed in every case,
/// also when an error is returned (the write-back failed: what was not written is lost, as
/// with a crash; the last snapshot holds what was taken). Iterators still open on the store
/// return `FERROSTATE_STATUS_CLOSED` from then on. NULL is ignored.
///
/// # Safety
///
/// `store` is NULL or a live store handle; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_close(store: *mut ferrostate_store) -> ferrostate_status {
    call("ferrostate_store_close", || {
        if store.is_null() {
            return Ok(());
        }
        // SAFETY: a handle from `Box::into_raw`, freed once, by the caller's promise.
        let handle = unsafe { Box::from_raw(store) };
        let open = match handle.shared.open.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => {
                drop(poisoned.into_inner().take());
                return Err(CallError::new(
                    ferrostate_status::Panic,
                    "the store was left inconsistent by an earlier panic: closed without \
                     writing its hot tier back",
                ));
            }
        };
        if let Some(mut open) = open {
            let flushed = open.store.flush_all();
            drop(open);
            flushed?;
        }
        Ok(())
    })
}

/// Writes every dirty entry of the hot tier back to RocksDB (snapshots and close do it too).
///
/// # Safety
///
/// `store` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_flush(store: *mut ferrostate_store) -> ferrostate_status {
    call("ferrostate_store_flush", || {
        // SAFETY: the caller's promise.
        unsafe { with_store(store, |o| Ok(o.store.flush_all()?)) }
    })
}

/// Registers the state `name` (UTF-8, not empty, not `"default"`) of `kind` (a
/// `ferrostate_kind`) and writes its id to `*id`. Registering a name again returns the same
/// id; a state restored from a snapshot keeps its id and takes the kind of its first
/// registration. Another kind than the registered one is `FERROSTATE_STATUS_WRONG_KIND`.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `name` is NULL or a C string, read during the call
/// only; `id` is NULL or points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_register_state(
    store: *mut ferrostate_store,
    name: *const c_char,
    kind: u32,
    id: *mut u32,
) -> ferrostate_status {
    call("ferrostate_register_state", || {
        // SAFETY: the caller's promise.
        let mut id = unsafe { Out::new("id", id) }?;
        // SAFETY: the caller's promise.
        let name = unsafe { args::utf8("name", name) }?;
        let kind = StateKind::from_code(i32::try_from(kind).unwrap_or(-1))?;
        // SAFETY: the caller's promise.
        let state = unsafe {
            with_store(store, |o| {
                let existing = o.store.state_names().iter().position(|n| n == name);
                if let Some(i) = existing {
                    if let Some(k) = o.store.state_kind(i as u32)? {
                        if k != kind {
                            return Err(CallError::new(
                                ferrostate_status::WrongKind,
                                format!("state {name:?} is registered as {k:?}, not {kind:?}"),
                            ));
                        }
                    }
                }
                Ok(o.store.register_state(name, kind)?)
            })
        }?;
        id.set(state);
        Ok(())
    })
}

/// Writes the number of states to `*count`: their ids are `0 .. count - 1`. After a restore
/// this lists the restored states (see `ferrostate_state_name`).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `count` is NULL or points to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_state_count(
    store: *mut ferrostate_store,
    count: *mut u32,
) -> ferrostate_status {
    call("ferrostate_state_count", || {
        // SAFETY: the caller's promise.
        let mut count = unsafe { Out::new("count", count) }?;
        // SAFETY: the caller's promise.
        let n = unsafe { with_store(store, |o| Ok(o.store.state_names().len())) }?;
        count.set(u32::try_from(n).unwrap_or(u32::MAX));
        Ok(())
    })
}

/// Writes the name of state `state` to `*name`: a new string the caller owns and frees with
/// `ferrostate_string_free`. On error `*name` is not written.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `name` is NULL or points to writable memory for
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_state_name(
    store: *mut ferrostate_store,
    state: u32,
    name: *mut *mut c_char,
) -> ferrostate_status {
    call("ferrostate_state_name", || {
        // SAFETY: the caller's promise.
        let mut name = unsafe { Out::new("name", name) }?;
        // SAFETY: the caller's promise.
        let s = unsafe {
            with_store(store, |o| {
                o.store.state_kind(state)?;
                Ok(o.store.state_names().swap_remove(state as usize))
            })
        }?;
        let c = CString::new(s).map_err(|_| {
            CallError::new(
                ferrostate_status::Corrupt,
                "the state's name holds a NUL byte",
            )
        })?;
        name.set(c.into_raw());
        Ok(())
    })
}

/// Sets the time to live of a registered state's entries to `ttl_ms` milliseconds (0
/// removes it; negative is an error). Entries expire by the timestamp at their start: each
/// value (value state), each list element (list state) or each map value after one flag byte
/// of 0 (map state) starts with the time of its last write in milliseconds since the Unix
/// epoch, 8 bytes big-endian, as Flink's TTL layer writes it. Expired entries are dropped
/// while RocksDB compacts (`ferrostate_compact` runs a compaction now); a read may still see
/// an expired entry before that, so check the timestamp when reading.
///
/// # Safety
///
/// `store` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_set_ttl(
    store: *mut ferrostate_store,
    state: u32,
    ttl_ms: i64,
) -> ferrostate_status {
    call("ferrostate_set_ttl", || {
        if ttl_ms < 0 {
            return Err(CallError::invalid(format!("ttl_ms is negative: {ttl_ms}")));
        }
        // SAFETY: the caller's promise.
        unsafe {
            with_store(store, |o| {
                let layout = match o.kind(state)? {
                    StateKind::Value => TtlLayout::Value,
                    StateKind::List => TtlLayout::List,
                    StateKind::Map => TtlLayout::Map,
                };
                let config = (ttl_ms > 0).then_some(TtlConfig {
                    ttl_ms,
                    layout,
                    query_time_after: 1000,
                });
                Ok(o.store.set_ttl(state, config)?)
            })
        }
    })
}

/// Writes a state's hot entries back and compacts all its data now (expired entries of a
/// state with a TTL go).
///
/// # Safety
///
/// `store` is NULL or a live store handle.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_compact(
    store: *mut ferrostate_store,
    state: u32,
) -> ferrostate_status {
    call("ferrostate_compact", || {
        // SAFETY: the caller's promise.
        unsafe { with_store(store, |o| Ok(o.store.compact(state)?)) }
    })
}

/// Counters of what a store did since it was opened.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ferrostate_stats {
    /// Point reads that went to RocksDB (the hot tier did not hold the key).
    pub rocksdb_reads: u64,
    /// Scans that read RocksDB: map scans the hot tier could not list whole, and prefix scans.
    pub rocksdb_scans: u64,
    /// Write batches and direct writes sent to RocksDB.
    pub rocksdb_writes: u64,
    /// Reads the hot tier answered.
    pub hot_hits: u64,
    /// Times the hot tier evicted entries to stay within its budget.
    pub evictions: u64,
}

/// Writes the store's counters to `*stats`.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `stats` is NULL or points to a writable
/// `ferrostate_stats`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_stats(
    store: *mut ferrostate_store,
    stats: *mut ferrostate_stats,
) -> ferrostate_status {
    call("ferrostate_store_stats", || {
        // SAFETY: the caller's promise.
        let mut out = unsafe { Out::new("stats", stats) }?;
        // SAFETY: the caller's promise.
        let s = unsafe { with_store(store, |o| Ok(o.store.stats())) }?;
        out.set(ferrostate_stats {
            rocksdb_reads: s.rocksdb_reads,
            rocksdb_scans: s.rocksdb_scans,
            rocksdb_writes: s.rocksdb_writes,
            hot_hits: s.hot_hits,
            evictions: s.evictions,
        });
        Ok(())
    })
}

/// Native memory a store holds, in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ferrostate_memory_usage {
    /// The store's hot tier.
    pub hot_bytes: u64,
    /// RocksDB's block cache and memtables, of every store sharing the budget.
    pub rocksdb_bytes: u64,
    /// The budget (shared or private).
    pub budget_bytes: u64,
}

/// Writes the memory the store holds to `*usage`.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `usage` is NULL or points to a writable
/// `ferrostate_memory_usage`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_memory_usage(
    store: *mut ferrostate_store,
    usage: *mut ferrostate_memory_usage,
) -> ferrostate_status {
    call("ferrostate_store_memory_usage", || {
        // SAFETY: the caller's promise.
        let mut out = unsafe { Out::new("usage", usage) }?;
        // SAFETY: the caller's promise.
        let u = unsafe { with_store(store, |o| Ok(o.store.memory_usage())) }?;
        out.set(ferrostate_memory_usage {
            hot_bytes: u.hot as u64,
            rocksdb_bytes: u.rocksdb as u64,
            budget_bytes: u.budget as u64,
        });
        Ok(())
    })
}

/// Writes the key-group prefix of `key_group` for `max_parallelism` (1 byte when it is at
/// most 128, else 2, big-endian) to `out` and its length to `*written`. When `out_capacity`
/// is too small, only `*written` is written (the length needed) and
/// `FERROSTATE_STATUS_BUFFER_TOO_SMALL` returned; 2 bytes always suffice.
///
/// # Safety
///
/// `out` is NULL (with `out_capacity` 0) or points to `out_capacity` writable bytes;
/// `written` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_key_group_prefix(
    max_parallelism: u32,
    key_group: u32,
    out: *mut u8,
    out_capacity: usize,
    written: *mut usize,
) -> ferrostate_status {
    call("ferrostate_key_group_prefix", || {
        // SAFETY: the caller's promise.
        let mut written = unsafe { Out::new("written", written) }?;
        // SAFETY: the caller's promise.
        let out = unsafe { args::bytes_mut("out", out, out_capacity) }?;
        check_parallelism(max_parallelism)?;
        if key_group >= max_parallelism {
            return Err(CallError::invalid(format!(
                "key group {key_group} is not below max_parallelism {max_parallelism}"
            )));
        }
        let prefix = keygroup::encode(key_group, keygroup::prefix_bytes(max_parallelism))?;
        written.set(prefix.len());
        let Some(dst) = out.get_mut(..prefix.len()) else {
            return Err(CallError::new(
                ferrostate_status::BufferTooSmall,
                format!(
                    "the prefix needs {} bytes, out_capacity is {out_capacity}",
                    prefix.len()
                ),
            ));
        };
        dst.copy_from_slice(&prefix);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ferrostate_last_error_message, ferrostate_string_free};
    use std::ffi::CStr;

    fn message() -> String {
        let p = ferrostate_last_error_message();
        assert!(!p.is_null());
        // SAFETY: a string of this library, freed once.
        unsafe {
            let m = CStr::from_ptr(p).to_string_lossy().into_owned();
            ferrostate_string_free(p);
            m
        }
    }

    #[test]
    fn a_panic_while_holding_a_store_poisons_only_that_store() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            store: StoreOptions::new(dir.path().join("db"), 16 << 20),
            key_groups: KeyGroups {
                max_parallelism: 128,
                prefix_bytes: 1,
                start: 0,
                end: 127,
            },
        };
        let handle = ferrostate_store::boxed(Open::new(settings).unwrap());
        let status = call("ferrostate_test", || {
            handle.shared.with(|_| -> CResult<()> { panic!("a bug") })
        });
        assert_eq!(status, ferrostate_status::Panic);
        assert!(message().contains("a bug"));
        // Every later call is refused, and says why.
        let status = call("ferrostate_test", || handle.shared.with(|_| Ok(())));
        assert_eq!(status, ferrostate_status::Panic);
        assert!(message().contains("an earlier call panicked"));
        // Closing still frees it, and says it could not write the hot tier back.
        // SAFETY: a handle from `Box::into_raw`, closed once.
        let status = unsafe { ferrostate_store_close(Box::into_raw(handle)) };
        assert_eq!(status, ferrostate_status::Panic);
        // The directory is not locked by a leaked RocksDB: it opens again.
        let again = Open::new(Settings {
            store: StoreOptions::new(dir.path().join("db"), 16 << 20),
            key_groups: KeyGroups {
                max_parallelism: 128,
                prefix_bytes: 1,
                start: 0,
                end: 127,
            },
        });
        assert!(again.is_ok());
    }
}
