//! Iterators over a state's entries: a key prefix of any state, or one map of a map state.
//!
//! An iterator reads its entries in batches (at most [`BATCH_ENTRIES`] entries or about
//! [`BATCH_BYTES`] bytes), each under the store's lock, and goes on after the last key it
//! handed out; it holds no lock and no RocksDB iterator between calls, so the store stays
//! usable (and closable) while iterators are open.

use crate::args::{self, Out};
use crate::error::{call, CResult};
use crate::ferrostate_status;
use crate::store::{ferrostate_store, handle, Shared};
use ferrostate_engine::{ScanStart, StateKind};
use std::sync::Arc;

/// Entries read from the store at once, at most.
pub(crate) const BATCH_ENTRIES: usize = 256;

/// Bytes of keys and values read from the store at once, about (one entry more may pass it).
pub(crate) const BATCH_BYTES: usize = 1 << 20;

/// An iterator over entries of one state, in key order. Opaque; created by `ferrostate_scan`
/// or `ferrostate_map_scan`, freed by `ferrostate_iter_free`. Use it from one thread at a
/// time. Entries written while it is open may or may not be seen; none is seen twice.
pub struct ferrostate_iter {
    shared: Arc<Shared>,
    state: u32,
    prefix: Vec<u8>,
    /// One map of a map state (`ferrostate_map_scan`): keys are handed out without `prefix`.
    map: bool,
    /// The keys and values of the batch, one after the other.
    arena: Vec<u8>,
    /// Per entry of the batch: where its key starts in `arena`, its length, its value's length.
    entries: Vec<(usize, usize, usize)>,
    next: usize,
    /// The last key of the previous batch: the next one starts after it.
    last_key: Option<Vec<u8>>,
    done: bool,
}

// An iterator may be used from one thread, then another: it must be `Send`.
const _: () = {
    const fn movable_across_threads<T: Send>() {}
    movable_across_threads::<ferrostate_iter>();
};

impl ferrostate_iter {
    /// Reads the next batch after `last_key`.
    fn refill(&mut self) -> CResult<()> {
        self.arena.clear();
        self.entries.clear();
        self.next = 0;
        let start = match &self.last_key {
            Some(key) => ScanStart::At {
                key,
                exclusive: true,
            },
            None => ScanStart::First,
        };
        let (arena, entries) = (&mut self.arena, &mut self.entries);
        let mut full = false;
        let sink = |k: &[u8], v: &[u8]| {
            if entries.len() >= BATCH_ENTRIES || arena.len() >= BATCH_BYTES {
                full = true;
                return Ok(false);
            }
            entries.push((arena.len(), k.len(), v.len()));
            arena.extend_from_slice(k);
            arena.extend_from_slice(v);
            Ok(true)
        };
        let (state, prefix) = (self.state, &self.prefix[..]);
        let scanned = self.shared.with(|o| {
            if self.map {
                Ok(o.store.scan_map(state, prefix, start, sink)?)
            } else {
                Ok(o.store.scan(state, prefix, start, sink)?)
            }
        });
        if let Err(e) = scanned {
            // Hand out nothing of a failed batch: a later call reads it again.
            self.arena.clear();
            self.entries.clear();
            return Err(e);
        }
        self.done = !full;
        if let Some(&(at, klen, _)) = self.entries.last() {
            let last = self.last_key.get_or_insert_with(Vec::new);
            last.clear();
            last.extend_from_slice(&self.arena[at..at + klen]);
        }
        Ok(())
    }

    /// The next entry, reading a batch when the last one is used up.
    fn advance(&mut self) -> CResult<Option<(&[u8], &[u8])>> {
        if self.next >= self.entries.len() {
            if self.done {
                return Ok(None);
            }
            self.refill()?;
        }
        let Some(&(at, klen, vlen)) = self.entries.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let key = &self.arena[at..at + klen];
        let value = &self.arena[at + klen..at + klen + vlen];
        let key = if self.map {
            &key[self.prefix.len()..]
        } else {
            key
        };
        Ok(Some((key, value)))
    }
}

/// Opens an iterator over `state` on the store at `store`.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `prefix` NULL (with `prefix_len` 0) or `prefix_len`
/// readable bytes; `out` NULL or writable for one pointer.
unsafe fn open_iter(
    store: *mut ferrostate_store,
    state: u32,
    prefix: *const u8,
    prefix_len: usize,
    map: bool,
    out: *mut *mut ferrostate_iter,
) -> CResult<()> {
    // SAFETY: the caller's promise.
    let mut out = unsafe { Out::new("out", out) }?;
    let param = if map { "map" } else { "prefix" };
    // SAFETY: the caller's promise.
    let prefix = unsafe { args::bytes(param, prefix, prefix_len) }?;
    // SAFETY: the caller's promise.
    let shared = unsafe { handle(store) }?.shared.clone();
    shared.with(|o| {
        if map {
            o.expect_kind(state, &[StateKind::Map])?;
            o.check_key("map", prefix)?;
        } else {
            o.store.state_kind(state)?;
        }
        Ok(())
    })?;
    out.set(Box::into_raw(Box::new(ferrostate_iter {
        shared,
        state,
        prefix: prefix.to_vec(),
        map,
        arena: Vec::new(),
        entries: Vec::new(),
        next: 0,
        last_key: None,
        done: false,
    })));
    Ok(())
}

/// Opens an iterator over the entries of `state` (any kind, registered or restored) whose
/// keys start with `prefix` (empty: every entry), in key order. Keys are handed out whole; for
/// a map state that is the map's prefix followed by the user key.
///
/// On success `*out` is a new iterator the caller owns: free it with `ferrostate_iter_free`
/// (before or after closing the store). On error `*out` is not written.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `prefix` is NULL (with `prefix_len` 0) or points
/// to `prefix_len` readable bytes (copied; not used after the call); `out` is NULL or points
/// to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_scan(
    store: *mut ferrostate_store,
    state: u32,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut *mut ferrostate_iter,
) -> ferrostate_status {
    call("ferrostate_scan", || {
        // SAFETY: the caller's promise, passed on.
        unsafe { open_iter(store, state, prefix, prefix_len, false, out) }
    })
}

/// Opens an iterator over the entries of the map `map` in a map state, in user key order.
/// Keys are handed out without the map's prefix: they are the user keys of
/// `ferrostate_map_put`.
///
/// On success `*out` is a new iterator the caller owns: free it with `ferrostate_iter_free`.
/// On error `*out` is not written.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `map` is NULL (with `map_len` 0) or points to
/// `map_len` readable bytes (copied; not used after the call); `out` is NULL or points to
/// writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_map_scan(
    store: *mut ferrostate_store,
    state: u32,
    map: *const u8,
    map_len: usize,
    out: *mut *mut ferrostate_iter,
) -> ferrostate_status {
    call("ferrostate_map_scan", || {
        // SAFETY: the caller's promise, passed on.
        unsafe { open_iter(store, state, map, map_len, true, out) }
    })
}

/// Moves to the next entry. With one, `*has_entry` is true and `*key`, `*key_len`, `*value`,
/// `*value_len` describe it: the pointers point into the iterator and stay valid until the
/// next call of `ferrostate_iter_next` or `ferrostate_iter_free` on it (copy what you keep).
/// At the end `*has_entry` is false, the pointers NULL and the lengths 0 (and stay so). When
/// the store was closed, `FERROSTATE_STATUS_CLOSED` is returned.
///
/// # Safety
///
/// `iter` is NULL or a live iterator; `key` and `value` are NULL or point to writable memory
/// for one pointer each; `key_len`, `value_len` and `has_entry` are NULL or point to a
/// writable `size_t`, `size_t` and `bool`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_iter_next(
    iter: *mut ferrostate_iter,
    key: *mut *const u8,
    key_len: *mut usize,
    value: *mut *const u8,
    value_len: *mut usize,
    has_entry: *mut bool,
) -> ferrostate_status {
    call("ferrostate_iter_next", || {
        // SAFETY: the caller's promise.
        let (mut key, mut key_len, mut value, mut value_len, mut has_entry) = unsafe {
            (
                Out::new("key", key)?,
                Out::new("key_len", key_len)?,
                Out::new("value", value)?,
                Out::new("value_len", value_len)?,
                Out::new("has_entry", has_entry)?,
            )
        };
        if iter.is_null() {
            return Err(crate::error::CallError::null("iter"));
        }
        // SAFETY: a live iterator used by this thread only, by the caller's promise.
        let it = unsafe { &mut *iter };
        match it.advance()? {
            Some((k, v)) => {
                key.set(k.as_ptr());
                key_len.set(k.len());
                value.set(v.as_ptr());
                value_len.set(v.len());
                has_entry.set(true);
            }
            None => {
                key.set(std::ptr::null());
                key_len.set(0);
                value.set(std::ptr::null());
                value_len.set(0);
                has_entry.set(false);
            }
        }
        Ok(())
    })
}

/// Frees an iterator (the pointers it handed out become invalid). NULL is ignored.
///
/// # Safety
///
/// `iter` is NULL or a live iterator; it must not be used after this call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_iter_free(iter: *mut ferrostate_iter) {
    call("ferrostate_iter_free", || {
        if !iter.is_null() {
            // SAFETY: a pointer from `Box::into_raw` in `open_iter`, freed once.
            drop(unsafe { Box::from_raw(iter) });
        }
        Ok(())
    });
}
