//! Natives of `io.ferrostate.flink.nativ.NativeStore`.
//!
//! Keys and values cross through two direct `ByteBuffer`s that Java registers once per
//! store (and again when one grows): Java writes the composite key into the key buffer and
//! passes lengths only; values come back in the value buffer, with their length as the
//! return value (`-1`: absent; more than the capacity: nothing copied, grow and ask again).

use crate::batch::{self, AnswerWriter, BatchWriter, Write};
use crate::results;
use crate::{guard, JniError, JniResult};
use ferrostate_engine::store::{ScanStart, StateKind, Store, StoreOptions, WARM_BATCH};
use ferrostate_engine::ttl::{self, Clock, TtlConfig, TtlLayout};
use jni::objects::{GlobalRef, JByteArray, JByteBuffer, JClass, JObject, JString};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jobjectArray, JNI_TRUE};
use jni::JNIEnv;
use std::cell::UnsafeCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A store and the Java buffers it reads keys from and writes values to, behind a spin lock:
/// the task thread is the only user in practice (uncontended, the lock costs one atomic
/// exchange), but a queryable-state read from another thread must not race it.
pub(crate) struct StoreHandle {
    busy: AtomicBool,
    inner: UnsafeCell<Inner>,
}

/// What the lock of a [`StoreHandle`] guards.
pub(crate) struct Inner {
    pub(crate) store: Store,
    key: Buffer,
    value: Buffer,
    /// A scan's prefix and start key, copied out of its buffer (which the entries overwrite);
    /// kept between calls so iterating allocates nothing.
    scan_keys: Vec<u8>,
}

struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl StoreHandle {
    #[inline]
    fn lock(&self) -> Busy<'_> {
        let mut spins = 0u32;
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Busy(&self.busy)
    }
}

/// Runs `f` on the store behind handle `h`, holding its lock.
#[inline]
pub(crate) fn with_store<R>(h: jlong, f: impl FnOnce(&mut Inner) -> JniResult<R>) -> JniResult<R> {
    if h == 0 {
        return Err(JniError::Closed("store"));
    }
    // SAFETY: non-zero handles come from `open` below and are freed once, by `close`, which
    // the Java owner guards.
    let handle = unsafe { &*(h as *const StoreHandle) };
    let _busy = handle.lock();
    // SAFETY: the lock gives this thread exclusive access to `inner` until `_busy` drops.
    f(unsafe { &mut *handle.inner.get() })
}

/// A registered direct buffer: its address, capacity, and a reference keeping it alive.
pub(crate) struct Buffer {
    ptr: *mut u8,
    cap: usize,
    _keep: Option<GlobalRef>,
}

impl Buffer {
    const NONE: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        cap: 0,
        _keep: None,
    };

    pub(crate) fn register(env: &mut JNIEnv, buf: &JByteBuffer) -> JniResult<Buffer> {
        if buf.is_null() {
            return Err(JniError::Arg("buffer is null".into()));
        }
        let ptr = env.get_direct_buffer_address(buf)?;
        let cap = env.get_direct_buffer_capacity(buf)?;
        Ok(Buffer {
            ptr,
            cap,
            _keep: Some(env.new_global_ref(buf)?),
        })
    }

    /// Capacity in bytes.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The first `len` bytes.
    #[inline]
    pub(crate) fn slice(&self, len: jint) -> JniResult<&[u8]> {
        let len = checked_len(len, self.cap)?;
        // SAFETY: `ptr` is the address of a live direct buffer (held by `_keep`) of `cap`
        // bytes, and `len <= cap`. Java does not write the buffer during the call.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, len) })
    }

    /// Copies `bytes` to the start of the buffer when they fit.
    #[inline]
    pub(crate) fn write(&self, bytes: &[u8]) -> bool {
        if bytes.len() > self.cap {
            return false;
        }
        // SAFETY: as in `slice`; `bytes` never points into this buffer (it comes from the
        // store), and `bytes.len() <= cap`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr, bytes.len()) };
        true
    }
}

#[inline]
pub(crate) fn checked_len(len: jint, cap: usize) -> JniResult<usize> {
    if len < 0 || len as usize > cap {
        return Err(JniError::Arg(format!(
            "length {len} outside the registered buffer of {cap} bytes"
        )));
    }
    Ok(len as usize)
}

#[inline]
fn value_len(len: usize) -> JniResult<jint> {
    jint::try_from(len).map_err(|_| JniError::Arg(format!("value of {len} bytes exceeds 2 GiB")))
}

/// A clock that reads the time the job's `TtlTimeProvider` last told, from an 8-byte direct
/// buffer Java writes (native byte order) whenever TTL state asks for the time. RocksDB's
/// compaction threads never call into the JVM: a native thread attached to the JVM blocks the
/// JVM's exit.
fn published_clock(env: &mut JNIEnv, cell: &JByteBuffer) -> JniResult<Clock> {
    let ptr = env.get_direct_buffer_address(cell)?;
    let cap = env.get_direct_buffer_capacity(cell)?;
    if cap < 8 || !(ptr as usize).is_multiple_of(8) {
        return Err(JniError::Arg(
            "the time cell must be an aligned direct buffer of 8 bytes".into(),
        ));
    }
    let addr = ptr as usize;
    Ok(Arc::new(move || {
        // SAFETY: the Java store keeps the buffer alive until the store is closed, and closing
        // the store waits for RocksDB's background work; the read is of an aligned i64 that
        // Java writes whole.
        unsafe { std::ptr::read_volatile(addr as *const i64) }
    }))
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_open<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    path: JString<'l>,
    memory: jlong,
    max_hot_value: jlong,
    time_cell: JByteBuffer<'l>,
) -> jlong {
    guard(&mut env, "open store", |env| {
        let path: String = env.get_string(&path)?.into();
        let memory = crate::memory::shared(memory)?;
        let clock = if time_cell.is_null() {
            ttl::system_clock()
        } else {
            published_clock(env, &time_cell)?
        };
        let store = Store::open(StoreOptions {
            path: path.into(),
            memory,
            clock,
            max_hot_value: max_hot_value.max(0) as usize,
            ingest_min_dirty: ferrostate_engine::store::INGEST_MIN_DIRTY,
        })?;
        let h = Box::new(StoreHandle {
            busy: AtomicBool::new(false),
            inner: UnsafeCell::new(Inner {
                store,
                key: Buffer::NONE,
                value: Buffer::NONE,
                scan_keys: Vec::new(),
            }),
        });
        Ok(Box::into_raw(h) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_close<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, "close store", |_| {
        if h != 0 {
            // Wait for a call still running on another thread, then free.
            with_store(h, |_| Ok(()))?;
            // SAFETY: see `with_store`; Java calls this once per handle.
            drop(unsafe { Box::from_raw(h as *mut StoreHandle) });
        }
        Ok(())
    })
}

/// Declares a native method of `NativeStore` that works on the store behind the handle `h`:
/// the JNI signature, the guard (errors and panics become Java exceptions) and the store's
/// lock are written here once, so an entry point holds only what it does. `$env` binds the
/// JNI environment (or `_`), `$s` the locked [`Inner`]; the other arguments are the Java
/// method's after the handle.
macro_rules! store_native {
    ($(#[$meta:meta])* fn $name:ident($what:literal, $env:pat, $s:ident $(, $arg:ident: $ty:ty)*)
        $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[no_mangle]
        pub extern "system" fn $name<'l>(
            mut env: JNIEnv<'l>,
            _c: JClass<'l>,
            h: jlong,
            $($arg: $ty),*
        ) $(-> $ret)? {
            guard(&mut env, $what, |$env| with_store(h, |$s| $body))
        }
    };
}

/// The bytes of a direct buffer, which Java does not touch during the call.
fn direct<'b>(env: &mut JNIEnv, buf: &JByteBuffer) -> JniResult<&'b mut [u8]> {
    if buf.is_null() {
        return Err(JniError::Arg("buffer is null".into()));
    }
    let ptr = env.get_direct_buffer_address(buf)?;
    let cap = env.get_direct_buffer_capacity(buf)?;
    // SAFETY: a live direct buffer of `cap` bytes (the caller's reference keeps it alive
    // for the call), used by this thread only while the call runs.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, cap) })
}

/// A state id from Java (the index `registerState` returned).
#[inline]
fn id(state: jint) -> u32 {
    state as u32
}

/// A key group range from Java, refused when negative.
fn key_groups(start: jint, end: jint) -> JniResult<(u32, u32)> {
    if start < 0 || end < 0 {
        return Err(JniError::Arg(format!(
            "negative key group range [{start}, {end}]"
        )));
    }
    Ok((start as u32, end as u32))
}

/// A new Java `long[]` holding `values`.
pub(crate) fn long_array(env: &mut JNIEnv, values: &[jlong]) -> JniResult<jlongArray> {
    let arr = env.new_long_array(values.len() as jint)?;
    env.set_long_array_region(&arr, 0, values)?;
    Ok(arr.into_raw())
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_setBuffers("register buffers", env, s,
        key: JByteBuffer<'l>, value: JByteBuffer<'l>) {
        s.key = Buffer::register(env, &key)?;
        s.value = Buffer::register(env, &value)?;
        Ok(())
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_registerState("register state", env, s,
        name: JString<'l>, kind: jint) -> jint {
        let name: String = env.get_string(&name)?.into();
        let kind = StateKind::from_code(kind)?;
        Ok(s.store.register_state(&name, kind)? as jint)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_stateNames("list states", env, s) -> jobjectArray {
        let names = s.store.state_names();
        let arr = env.new_object_array(names.len() as jint, "java/lang/String", JObject::null())?;
        for (i, n) in names.iter().enumerate() {
            let n = env.new_string(n)?;
            env.set_object_array_element(&arr, i as jint, n)?;
        }
        Ok(arr.into_raw())
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_setTtl("configure TTL", _, s,
        state: jint, ttl_ms: jlong, layout: jint, query_time_after: jint) {
        let config = if ttl_ms < 0 {
            None
        } else {
            let layout = TtlLayout::from_code(layout)?;
            Some(TtlConfig {
                ttl_ms,
                layout,
                query_time_after: query_time_after.max(1) as u32,
            })
        };
        Ok(s.store.set_ttl(id(state), config)?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_get("get", _, s, state: jint, key_len: jint) -> jint {
        let key = s.key.slice(key_len)?;
        let out = &s.value;
        let found = s.store.get(id(state), key, |v| {
            out.write(v);
            v.len()
        })?;
        found.map_or(Ok(-1), value_len)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_contains("contains", _, s,
        state: jint, key_len: jint) -> jboolean {
        Ok(s.store.contains(id(state), s.key.slice(key_len)?)? as jboolean)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_put("put", _, s,
        state: jint, key_len: jint, value_len: jint) {
        Ok(s.store.put(id(state), s.key.slice(key_len)?, s.value.slice(value_len)?)?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_delete("delete", _, s, state: jint, key_len: jint) {
        Ok(s.store.delete(id(state), s.key.slice(key_len)?)?)
    }
}

store_native! {
    /// Puts a map entry whose first `prefix_len` key bytes name its map.
    fn Java_io_ferrostate_flink_nativ_NativeStore_putEntry("put", _, s,
        state: jint, key_len: jint, prefix_len: jint, value_len: jint) {
        let key = s.key.slice(key_len)?;
        let prefix = checked_len(prefix_len, key.len())?;
        Ok(s.store.put_entry(id(state), key, prefix, s.value.slice(value_len)?)?)
    }
}

store_native! {
    /// Sets several entries of one map: the key buffer holds the map's prefix (`prefix_len`
    /// bytes), the value buffer `batch_len` bytes of length-prefixed user keys and values.
    fn Java_io_ferrostate_flink_nativ_NativeStore_putEntries("putAll", _, s,
        state: jint, prefix_len: jint, batch_len: jint) -> jint {
        let n = s.store.put_entries(id(state), s.key.slice(prefix_len)?, s.value.slice(batch_len)?)?;
        Ok(jint::try_from(n).unwrap_or(jint::MAX))
    }
}

store_native! {
    /// Removes a map entry whose first `prefix_len` key bytes name its map.
    fn Java_io_ferrostate_flink_nativ_NativeStore_deleteEntry("remove", _, s,
        state: jint, key_len: jint, prefix_len: jint) {
        let key = s.key.slice(key_len)?;
        let prefix = checked_len(prefix_len, key.len())?;
        Ok(s.store.delete_entry(id(state), key, prefix)?)
    }
}

store_native! {
    /// Adds the key in the key buffer to a sorted set (timers), past the hot tier.
    fn Java_io_ferrostate_flink_nativ_NativeStore_setAdd("add to a timer queue", _, s,
        state: jint, key_len: jint) {
        Ok(s.store.set_add(id(state), s.key.slice(key_len)?)?)
    }
}

store_native! {
    /// Removes the key in the key buffer from a sorted set (timers).
    fn Java_io_ferrostate_flink_nativ_NativeStore_setRemove("remove from a timer queue", _, s,
        state: jint, key_len: jint) {
        Ok(s.store.set_remove(id(state), s.key.slice(key_len)?)?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_append("append", _, s,
        state: jint, key_len: jint, value_len: jint) {
        Ok(s.store.append(id(state), s.key.slice(key_len)?, s.value.slice(value_len)?)?)
    }
}

store_native! {
    /// Scans the entries of a state whose keys start with a prefix. `io` holds the prefix at
    /// `[0, prefix_len)` and, when `start_len >= 0`, the key to start at right after it. The
    /// entries come back in `io` from offset 0 as `[i32 key length][key][i32 value length][value]`
    /// (big-endian), at most `max_entries`; the result is their number, with `SCAN_END` (bit 30)
    /// set when they are all that is left under the prefix, or `-n` when even the first entry
    /// needs `n` bytes and does not fit. `map` says the prefix is exactly one map's
    /// (key group, key, namespace): only that map's dirty entries are written back first.
    #[allow(clippy::too_many_arguments)]
    fn Java_io_ferrostate_flink_nativ_NativeStore_scan("scan", env, s, state: jint,
        io: JByteBuffer<'l>, prefix_len: jint, start_len: jint, exclusive: jboolean,
        map: jboolean, max_entries: jint) -> jint {
        let buf = direct(env, &io)?;
        let cap = buf.len();
        let p = checked_len(prefix_len, cap)?;
        let st = if start_len < 0 {
            0
        } else {
            checked_len(start_len, cap - p)?
        };
        // The prefix and start key are copied out before the entries overwrite the buffer.
        let mut keys = std::mem::take(&mut s.scan_keys);
        keys.clear();
        keys.extend_from_slice(&buf[..p + st]);
        let (prefix, start_key) = keys.split_at(p);
        let start = if start_len < 0 {
            ScanStart::First
        } else {
            ScanStart::At {
                key: start_key,
                exclusive: exclusive == JNI_TRUE,
            }
        };
        let mut batch = BatchWriter::new(buf, max_entries);
        let sink = |k: &[u8], v: &[u8]| Ok(batch.push(None, k, v));
        let scanned = if map == JNI_TRUE {
            s.store.scan_map(id(state), prefix, start, sink)
        } else {
            s.store.scan(id(state), prefix, start, sink)
        };
        s.scan_keys = keys;
        scanned?;
        batch.scan_result()
    }
}

store_native! {
    /// Reads `count` keys (see `batch`: requests from byte `offset` of `requests`, answers
    /// into `out` from its start) and returns how many were answered before `out` filled, or
    /// `-n` when even the first answer needs `n` bytes. `hot_only`: keys the hot tier does
    /// not know are answered "not hot" instead of being read from RocksDB.
    #[allow(clippy::too_many_arguments)]
    fn Java_io_ferrostate_flink_nativ_NativeStore_getMany("multi-get", env, s,
        requests: JByteBuffer<'l>, offset: jint, length: jint, count: jint,
        out: JByteBuffer<'l>, hot_only: jboolean) -> jint {
        let input = direct(env, &requests)?;
        let output = direct(env, &out)?;
        if input.as_ptr() == output.as_ptr() {
            return Err(JniError::Arg("requests and answers share a buffer".into()));
        }
        let from = checked_len(offset, input.len())?;
        let to = from + checked_len(length, input.len() - from)?;
        let requests = batch::read_requests(&input[from..to], count)?;
        let mut answers = AnswerWriter::new(output);
        s.store.get_many(&requests, hot_only == JNI_TRUE, |read| answers.push(read))?;
        answers.result()
    }
}

store_native! {
    /// Applies the writes of `batch`'s first `length` bytes in order (see `batch`); returns
    /// their number.
    fn Java_io_ferrostate_flink_nativ_NativeStore_putMany("multi-put", env, s,
        writes: JByteBuffer<'l>, length: jint) -> jint {
        let input = direct(env, &writes)?;
        let len = checked_len(length, input.len())?;
        let writes = batch::read_writes(&input[..len])?;
        for chunk in writes.chunks(WARM_BATCH) {
            s.store.warm(chunk.iter().map(Write::target));
            for write in chunk {
                match *write {
                    Write::Put { state, key, value } => s.store.put(state, key, value)?,
                    Write::Delete { state, key } => s.store.delete(state, key)?,
                    Write::PutEntry { state, key, prefix, value } => {
                        s.store.put_entry(state, key, prefix, value)?
                    }
                    Write::DeleteEntry { state, key, prefix } => {
                        s.store.delete_entry(state, key, prefix)?
                    }
                }
            }
        }
        Ok(jint::try_from(writes.len()).unwrap_or(jint::MAX))
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_deletePrefix("delete prefix", _, s,
        state: jint, prefix_len: jint) {
        Ok(s.store.delete_prefix(id(state), s.key.slice(prefix_len)?)?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_isEmptyPrefix("is empty", _, s,
        state: jint, prefix_len: jint) -> jboolean {
        Ok(s.store.is_map_empty(id(state), s.key.slice(prefix_len)?)? as jboolean)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_isInMemory("is in memory", _, s,
        state: jint) -> jboolean {
        Ok(s.store.is_in_memory(id(state))? as jboolean)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_count("count", _, s, state: jint) -> jlong {
        Ok(s.store.count(id(state))? as jlong)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_flushAll("flush", _, s) {
        Ok(s.store.flush_all()?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_dropHotTier("drop hot tier", _, s) {
        Ok(s.store.drop_hot()?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_checkpoint("checkpoint", env, s, dir: JString<'l>) {
        let dir: String = env.get_string(&dir)?.into();
        Ok(s.store.checkpoint(Path::new(&dir))?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_compact("compact", _, s, state: jint) {
        Ok(s.store.compact(id(state))?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_clipKeyGroups("clip key groups", _, s,
        prefix_bytes: jint, start: jint, end: jint) {
        let (start, end) = key_groups(start, end)?;
        Ok(s.store.clip_key_groups(prefix_bytes as usize, start, end)?)
    }
}

store_native! {
    fn Java_io_ferrostate_flink_nativ_NativeStore_importKeyGroups("import key groups", env, s,
        dir: JString<'l>, prefix_bytes: jint, start: jint, end: jint) -> jlong {
        let dir: String = env.get_string(&dir)?.into();
        let (start, end) = key_groups(start, end)?;
        let copied = s.store.import_key_groups(Path::new(&dir), prefix_bytes as usize, start, end)?;
        Ok(copied as jlong)
    }
}

store_native! {
    /// [`results::STORE_MEMORY`].
    fn Java_io_ferrostate_flink_nativ_NativeStore_memoryUsage("memory usage", env, s) -> jlongArray {
        long_array(env, &results::store_memory(&s.store.memory_usage()))
    }
}

store_native! {
    /// Reads the value of a key given as a Java array, returning a new array (or null): the
    /// slow path for callers that must not touch the task thread's buffers, such as queryable
    /// state.
    fn Java_io_ferrostate_flink_nativ_NativeStore_getBytes("get bytes", env, s,
        state: jint, key: JByteArray<'l>) -> jbyteArray {
        let key = env.convert_byte_array(&key)?;
        match s.store.get(id(state), &key, |v| env.byte_array_from_slice(v))? {
            Some(v) => Ok(v?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        }
    }
}

store_native! {
    /// [`results::STORE_GAUGES`].
    fn Java_io_ferrostate_flink_nativ_NativeStore_gauges("store gauges", env, s) -> jlongArray {
        long_array(env, &results::store_gauges(&s.store.gauges()?))
    }
}

store_native! {
    /// [`results::STORE_COUNTERS`].
    fn Java_io_ferrostate_flink_nativ_NativeStore_stats("store statistics", env, s) -> jlongArray {
        long_array(env, &results::store_counters(&s.store.stats()))
    }
}
