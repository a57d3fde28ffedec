//! Natives of `io.ferrostate.flink.nativ.NativeStore`.
//!
//! Keys and values cross through two direct `ByteBuffer`s that Java registers once per
//! store (and again when one grows): Java writes the composite key into the key buffer and
//! passes lengths only; values come back in the value buffer, with their length as the
//! return value (`-1`: absent; more than the capacity: nothing copied, grow and ask again).

use crate::{guard, JniError, JniResult};
use ferrostate_engine::store::{ScanStart, StateKind, Store, StoreOptions};
use ferrostate_engine::ttl::{self, Clock, TtlConfig, TtlLayout};
use jni::objects::{GlobalRef, JByteArray, JByteBuffer, JClass, JObject, JString};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jobjectArray, JNI_TRUE};
use jni::JNIEnv;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A store and the Java buffers it reads keys from and writes values to, behind a spin lock:
/// the task thread is the only user in practice (uncontended, the lock costs one atomic
/// exchange), but a queryable-state read from another thread must not race it.
pub(crate) struct StoreHandle {
    busy: AtomicBool,
    inner: UnsafeCell<Inner>,
}

struct Inner {
    store: Store,
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
fn with_store<R>(h: jlong, f: impl FnOnce(&mut Inner) -> JniResult<R>) -> JniResult<R> {
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
fn checked_len(len: jint, cap: usize) -> JniResult<usize> {
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

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_setBuffers<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    key: JByteBuffer<'l>,
    value: JByteBuffer<'l>,
) {
    guard(&mut env, "register buffers", |env| {
        let key = Buffer::register(env, &key)?;
        let value = Buffer::register(env, &value)?;
        with_store(h, |s| {
            s.key = key;
            s.value = value;
            Ok(())
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_registerState<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    name: JString<'l>,
    kind: jint,
) -> jint {
    guard(&mut env, "register state", |env| {
        let name: String = env.get_string(&name)?.into();
        let kind = StateKind::from_code(kind)?;
        with_store(h, |s| Ok(s.store.register_state(&name, kind)? as jint))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_stateNames<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jobjectArray {
    guard(&mut env, "list states", |env| {
        let names = with_store(h, |s| Ok(s.store.state_names()))?;
        let arr = env.new_object_array(names.len() as jint, "java/lang/String", JObject::null())?;
        for (i, n) in names.iter().enumerate() {
            let s = env.new_string(n)?;
            env.set_object_array_element(&arr, i as jint, s)?;
        }
        Ok(arr.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_setTtl<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    ttl_ms: jlong,
    layout: jint,
    query_time_after: jint,
) {
    guard(&mut env, "configure TTL", |_| {
        let config = if ttl_ms < 0 {
            None
        } else {
            let layout = match layout {
                0 => TtlLayout::Value,
                1 => TtlLayout::List,
                2 => TtlLayout::Map,
                other => return Err(JniError::Arg(format!("unknown TTL layout {other}"))),
            };
            Some(TtlConfig {
                ttl_ms,
                layout,
                query_time_after: query_time_after.max(1) as u32,
            })
        };
        with_store(h, |s| Ok(s.store.set_ttl(state as u32, config)?))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_get<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
) -> jint {
    guard(&mut env, "get", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            let out = &s.value;
            match s.store.get(state as u32, key, |v| {
                out.write(v);
                v.len()
            })? {
                Some(n) => value_len(n),
                None => Ok(-1),
            }
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_contains<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
) -> jboolean {
    guard(&mut env, "contains", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            Ok(s.store.contains(state as u32, key)? as jboolean)
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_put<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
    value_len: jint,
) {
    guard(&mut env, "put", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            let value = s.value.slice(value_len)?;
            Ok(s.store.put(state as u32, key, value)?)
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_delete<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
) {
    guard(&mut env, "delete", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            Ok(s.store.delete(state as u32, key)?)
        })
    })
}

/// Puts a map entry whose first `prefix_len` key bytes name its map.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_putEntry<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
    prefix_len: jint,
    value_len: jint,
) {
    guard(&mut env, "put", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            let value = s.value.slice(value_len)?;
            let prefix = checked_len(prefix_len, key.len())?;
            Ok(s.store.put_entry(state as u32, key, prefix, value)?)
        })
    })
}

/// Sets several entries of one map: the key buffer holds the map's prefix (`prefix_len` bytes),
/// the value buffer `batch_len` bytes of length-prefixed user keys and values.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_putEntries<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    prefix_len: jint,
    batch_len: jint,
) -> jint {
    guard(&mut env, "putAll", |_| {
        with_store(h, |s| {
            let prefix = s.key.slice(prefix_len)?;
            let batch = s.value.slice(batch_len)?;
            let n = s.store.put_entries(state as u32, prefix, batch)?;
            Ok(jint::try_from(n).unwrap_or(jint::MAX))
        })
    })
}

/// Removes a map entry whose first `prefix_len` key bytes name its map.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_deleteEntry<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
    prefix_len: jint,
) {
    guard(&mut env, "remove", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            let prefix = checked_len(prefix_len, key.len())?;
            Ok(s.store.delete_entry(state as u32, key, prefix)?)
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_append<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key_len: jint,
    value_len: jint,
) {
    guard(&mut env, "append", |_| {
        with_store(h, |s| {
            let key = s.key.slice(key_len)?;
            let value = s.value.slice(value_len)?;
            Ok(s.store.append(state as u32, key, value)?)
        })
    })
}

/// Scans the entries of a state whose keys start with a prefix. `io` holds the prefix at
/// `[0, prefix_len)` and, when `start_len >= 0`, the key to start at right after it. The
/// entries come back in `io` from offset 0 as `[i32 key length][key][i32 value length][value]`
/// (big-endian), at most `max_entries`; the result is their number, or `-n` when even the
/// first entry needs `n` bytes and does not fit. `map` says the prefix is exactly one map's
/// (key group, key, namespace): only that map's dirty entries are written back first.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_scan<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    io: JByteBuffer<'l>,
    prefix_len: jint,
    start_len: jint,
    exclusive: jboolean,
    map: jboolean,
    max_entries: jint,
) -> jint {
    guard(&mut env, "scan", |env| {
        with_store(h, |s| {
            let ptr = env.get_direct_buffer_address(&io)?;
            let cap = env.get_direct_buffer_capacity(&io)?;
            let p = checked_len(prefix_len, cap)?;
            let st = if start_len < 0 {
                0
            } else {
                checked_len(start_len, cap - p)?
            };
            // SAFETY: a live direct buffer of `cap` bytes, used by this thread only during the
            // call. The prefix and start key are copied out before the buffer is overwritten.
            let buf = unsafe { std::slice::from_raw_parts_mut(ptr, cap) };
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
            let mut pos = 0usize;
            let mut count: jint = 0;
            let mut too_big: Option<usize> = None;
            let sink = |k: &[u8], v: &[u8]| {
                let need = 8 + k.len() + v.len();
                if count >= max_entries.max(1) {
                    return Ok(false);
                }
                if pos + need > cap {
                    if count == 0 {
                        too_big = Some(need);
                    }
                    return Ok(false);
                }
                buf[pos..pos + 4].copy_from_slice(&(k.len() as u32).to_be_bytes());
                buf[pos + 4..pos + 4 + k.len()].copy_from_slice(k);
                let vp = pos + 4 + k.len();
                buf[vp..vp + 4].copy_from_slice(&(v.len() as u32).to_be_bytes());
                buf[vp + 4..vp + 4 + v.len()].copy_from_slice(v);
                pos += need;
                count += 1;
                Ok(true)
            };
            let scanned = if map == JNI_TRUE {
                s.store.scan_map(state as u32, prefix, start, sink)
            } else {
                s.store.scan(state as u32, prefix, start, sink)
            };
            s.scan_keys = keys;
            scanned?;
            match too_big {
                Some(n) => Ok(-(value_len(n)?)),
                None => Ok(count),
            }
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_deletePrefix<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    prefix_len: jint,
) {
    guard(&mut env, "delete prefix", |_| {
        with_store(h, |s| {
            let prefix = s.key.slice(prefix_len)?;
            Ok(s.store.delete_prefix(state as u32, prefix)?)
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_count<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
) -> jlong {
    guard(&mut env, "count", |_| {
        with_store(h, |s| Ok(s.store.count(state as u32)? as jlong))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_flushAll<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, "flush", |_| {
        with_store(h, |s| Ok(s.store.flush_all()?))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_dropHotTier<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) {
    guard(&mut env, "drop hot tier", |_| {
        with_store(h, |s| Ok(s.store.drop_hot()?))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_checkpoint<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    dir: JString<'l>,
) {
    guard(&mut env, "checkpoint", |env| {
        let dir: String = env.get_string(&dir)?.into();
        with_store(h, |s| Ok(s.store.checkpoint(std::path::Path::new(&dir))?))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_compact<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
) {
    guard(&mut env, "compact", |_| {
        with_store(h, |s| Ok(s.store.compact(state as u32)?))
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_clipKeyGroups<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    prefix_bytes: jint,
    start: jint,
    end: jint,
) {
    guard(&mut env, "clip key groups", |_| {
        if start < 0 || end < 0 {
            return Err(JniError::Arg(format!(
                "negative key group range [{start}, {end}]"
            )));
        }
        with_store(h, |s| {
            Ok(s.store
                .clip_key_groups(prefix_bytes as usize, start as u32, end as u32)?)
        })
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_importKeyGroups<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    dir: JString<'l>,
    prefix_bytes: jint,
    start: jint,
    end: jint,
) -> jlong {
    guard(&mut env, "import key groups", |env| {
        let dir: String = env.get_string(&dir)?.into();
        if start < 0 || end < 0 {
            return Err(JniError::Arg(format!(
                "negative key group range [{start}, {end}]"
            )));
        }
        with_store(h, |s| {
            Ok(s.store.import_key_groups(
                std::path::Path::new(&dir),
                prefix_bytes as usize,
                start as u32,
                end as u32,
            )? as jlong)
        })
    })
}

/// `[hot tier bytes, RocksDB bytes, budget]`.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_memoryUsage<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlongArray {
    guard(&mut env, "memory usage", |env| {
        let u = with_store(h, |s| Ok(s.store.memory_usage()))?;
        let arr = env.new_long_array(3)?;
        env.set_long_array_region(
            &arr,
            0,
            &[u.hot as jlong, u.rocksdb as jlong, u.budget as jlong],
        )?;
        Ok(arr.into_raw())
    })
}

/// Reads the value of a key given as a Java array, returning a new array (or null): the slow
/// path for callers that must not touch the task thread's buffers, such as queryable state.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_getBytes<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    key: JByteArray<'l>,
) -> jbyteArray {
    guard(&mut env, "get bytes", |env| {
        let key = env.convert_byte_array(&key)?;
        let value = with_store(h, |s| {
            Ok(s.store.get(state as u32, &key, |v| v.to_vec())?)
        })?;
        match value {
            Some(v) => Ok(env.byte_array_from_slice(&v)?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        }
    })
}

/// `[RocksDB point reads, RocksDB writes, hot-tier hits, evictions]`.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_stats<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlongArray {
    guard(&mut env, "store statistics", |env| {
        let st = with_store(h, |s| Ok(s.store.stats()))?;
        let arr = env.new_long_array(4)?;
        env.set_long_array_region(
            &arr,
            0,
            &[
                st.rocksdb_reads as jlong,
                st.rocksdb_writes as jlong,
                st.hot_hits as jlong,
                st.evictions as jlong,
            ],
        )?;
        Ok(arr.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_isEmptyPrefix<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    prefix_len: jint,
) -> jboolean {
    guard(&mut env, "is empty", |_| {
        with_store(h, |s| {
            let prefix = s.key.slice(prefix_len)?;
            Ok(s.store.is_map_empty(state as u32, prefix)? as jboolean)
        })
    })
}

/// The Rust-only floor of a state access (benchmarks): `count` lookups of the keys laid back
/// to back in `keys` (each `key_len` bytes), in one native call; returns the sum of the value
/// lengths found.
#[no_mangle]
pub extern "system" fn Java_io_ferrostate_flink_nativ_NativeStore_benchGetLoop<'l>(
    mut env: JNIEnv<'l>,
    _c: JClass<'l>,
    h: jlong,
    state: jint,
    keys: JByteBuffer<'l>,
    key_len: jint,
    count: jint,
) -> jlong {
    guard(&mut env, "benchmark lookups", |env| {
        let keys = Buffer::register(env, &keys)?;
        let kl = checked_len(key_len, keys.cap)?;
        let n = count.max(0) as usize;
        if kl == 0 || n.checked_mul(kl).is_none_or(|total| total > keys.cap) {
            return Err(JniError::Arg("keys do not fit the buffer".into()));
        }
        let all = keys.slice((n * kl) as jint)?;
        with_store(h, |s| {
            let mut sum = 0i64;
            for key in all.chunks_exact(kl) {
                if let Some(len) = s.store.get(state as u32, key, |v| v.len())? {
                    sum += len as i64;
                }
            }
            Ok(sum)
        })
    })
}
