//! Point access: values, list appends, map entries, and the list format's reader.

use crate::args::{self, Out};
use crate::error::{call, CResult, CallError};
use crate::ferrostate_status;
use crate::store::{ferrostate_store, with_keyed};
use ferrostate_engine::{list, StateKind};

const VALUE_OR_LIST: &[StateKind] = &[StateKind::Value, StateKind::List];
const MAP: &[StateKind] = &[StateKind::Map];
const LIST: &[StateKind] = &[StateKind::List];

/// Where a read writes what it found: the caller's buffer, the value's length, and whether
/// there was a value.
struct ReadOut<'a> {
    buf: &'a mut [u8],
    len: Out<usize>,
    found: Out<bool>,
}

impl ReadOut<'_> {
    /// Checks the out-parameters of a read before anything is done.
    ///
    /// # Safety
    ///
    /// As the `buf`, `value_len` and `found` parameters of `ferrostate_get`.
    unsafe fn new(
        buf: *mut u8,
        capacity: usize,
        len: *mut usize,
        found: *mut bool,
    ) -> CResult<Self> {
        // SAFETY: the caller's promise, passed on.
        unsafe {
            Ok(ReadOut {
                len: Out::new("value_len", len)?,
                found: Out::new("found", found)?,
                buf: args::bytes_mut("buf", buf, capacity)?,
            })
        }
    }

    /// Hands out what a read found.
    fn finish(mut self, value: Option<Result<usize, usize>>) -> CResult<()> {
        match value {
            None => {
                self.found.set(false);
                self.len.set(0);
                Ok(())
            }
            Some(Ok(n)) => {
                self.found.set(true);
                self.len.set(n);
                Ok(())
            }
            Some(Err(n)) => {
                self.found.set(true);
                self.len.set(n);
                Err(CallError::new(
                    ferrostate_status::BufferTooSmall,
                    format!(
                        "the value has {n} bytes, the buffer {} bytes",
                        self.buf.len()
                    ),
                ))
            }
        }
    }

    /// Copies `value` into the buffer when it fits: `Ok(len)`, else `Err(len)`.
    fn copy(buf: &mut [u8], value: &[u8]) -> Result<usize, usize> {
        match buf.get_mut(..value.len()) {
            Some(dst) => {
                dst.copy_from_slice(value);
                Ok(value.len())
            }
            None => Err(value.len()),
        }
    }
}

/// Sets the value of `key` in a value state, or replaces the whole list of `key` in a list
/// state (`value` then holds elements in the store's list format: per element a 4-byte
/// big-endian length and the bytes; a malformed list is `FERROSTATE_STATUS_INVALID_ARGUMENT`).
/// The key must start with a key group of the store (see `ferrostate_options`).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `key` and `value` are NULL (with a length of 0
/// for an empty one) or point to `key_len` and `value_len` readable bytes, read during the
/// call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_put(
    store: *mut ferrostate_store,
    state: u32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> ferrostate_status {
    call("ferrostate_put", || {
        // SAFETY: the caller's promise.
        let (key, value) = unsafe {
            (
                args::bytes("key", key, key_len)?,
                args::bytes("value", value, value_len)?,
            )
        };
        // SAFETY: the caller's promise.
        unsafe {
            with_keyed(store, state, VALUE_OR_LIST, ("key", key), |o, kind| {
                if kind == StateKind::List {
                    list::validate(value).map_err(|e| {
                        CallError::invalid(format!(
                            "value is not a list in the store's format: {e}"
                        ))
                    })?;
                }
                Ok(o.store.put(state, key, value)?)
            })
        }
    })
}

/// Reads the value of `key` in a value state, or the whole list of `key` in a list state (in
/// the store's list format: read it with `ferrostate_list_next`).
///
/// When there is no value, `*found` is false and `*value_len` 0. When there is one and it fits
/// `buf_capacity`, it is copied to `buf`, `*found` is true and `*value_len` its length. When
/// it does not fit, nothing is copied, `*found` is true, `*value_len` the length needed, and
/// `FERROSTATE_STATUS_BUFFER_TOO_SMALL` is returned: call again with a larger buffer (or with
/// `buf` NULL and `buf_capacity` 0 to learn the length).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `key` is NULL (with `key_len` 0) or points to
/// `key_len` readable bytes; `buf` is NULL (with `buf_capacity` 0) or points to
/// `buf_capacity` writable bytes; `value_len` and `found` are NULL or point to a writable
/// `size_t` and `bool`. Nothing is kept after the call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_get(
    store: *mut ferrostate_store,
    state: u32,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_capacity: usize,
    value_len: *mut usize,
    found: *mut bool,
) -> ferrostate_status {
    call("ferrostate_get", || {
        // SAFETY: the caller's promise.
        let out = unsafe { ReadOut::new(buf, buf_capacity, value_len, found) }?;
        // SAFETY: the caller's promise.
        let key = unsafe { args::bytes("key", key, key_len) }?;
        // SAFETY: the caller's promise.
        let value = unsafe {
            with_keyed(store, state, VALUE_OR_LIST, ("key", key), |o, _| {
                Ok(o.store
                    .get(state, key, |v| ReadOut::copy(&mut *out.buf, v))?)
            })
        }?;
        out.finish(value)
    })
}

/// Writes to `*found` whether `key` holds a value (value state) or a list (list state).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `key` is NULL (with `key_len` 0) or points to
/// `key_len` readable bytes, read during the call only; `found` is NULL or points to a
/// writable `bool`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_contains(
    store: *mut ferrostate_store,
    state: u32,
    key: *const u8,
    key_len: usize,
    found: *mut bool,
) -> ferrostate_status {
    call("ferrostate_contains", || {
        // SAFETY: the caller's promise.
        let mut found = unsafe { Out::new("found", found) }?;
        // SAFETY: the caller's promise.
        let key = unsafe { args::bytes("key", key, key_len) }?;
        // SAFETY: the caller's promise.
        let present = unsafe {
            with_keyed(store, state, VALUE_OR_LIST, ("key", key), |o, _| {
                Ok(o.store.contains(state, key)?)
            })
        }?;
        found.set(present);
        Ok(())
    })
}

/// Removes the value (value state) or the whole list (list state) of `key`; removing what is
/// absent is not an error.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `key` is NULL (with `key_len` 0) or points to
/// `key_len` readable bytes, read during the call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_delete(
    store: *mut ferrostate_store,
    state: u32,
    key: *const u8,
    key_len: usize,
) -> ferrostate_status {
    call("ferrostate_delete", || {
        // SAFETY: the caller's promise.
        let key = unsafe { args::bytes("key", key, key_len) }?;
        // SAFETY: the caller's promise.
        unsafe {
            with_keyed(store, state, VALUE_OR_LIST, ("key", key), |o, _| {
                Ok(o.store.delete(state, key)?)
            })
        }
    })
}

/// Appends one element to the list of `key` in a list state, without reading the list.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `key` and `element` are NULL (with a length of 0)
/// or point to `key_len` and `element_len` readable bytes, read during the call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_list_append(
    store: *mut ferrostate_store,
    state: u32,
    key: *const u8,
    key_len: usize,
    element: *const u8,
    element_len: usize,
) -> ferrostate_status {
    call("ferrostate_list_append", || {
        // SAFETY: the caller's promise.
        let (key, element) = unsafe {
            (
                args::bytes("key", key, key_len)?,
                args::bytes("element", element, element_len)?,
            )
        };
        // SAFETY: the caller's promise.
        unsafe {
            with_keyed(store, state, LIST, ("key", key), |o, _| {
                let mut one = std::mem::take(&mut o.scratch);
                one.clear();
                list::push_element(&mut one, element);
                let appended = o.store.append(state, key, &one);
                o.scratch = one;
                Ok(appended?)
            })
        }
    })
}

/// Reads the element of a list value (from `ferrostate_get` on a list state) at `*offset`:
/// start with `*offset` 0 and call until `*has_element` is false. Each call with an element
/// sets `*element` to it (a pointer into `list`, valid as long as `list` is), `*element_len`
/// to its length, and moves `*offset` past it. At the end `*has_element` is false,
/// `*element` NULL and `*element_len` 0. A malformed list is `FERROSTATE_STATUS_CORRUPT`.
///
/// # Safety
///
/// `list` is NULL (with `list_len` 0) or points to `list_len` readable bytes; `offset` points
/// to a readable and writable `size_t`; `element`, `element_len` and `has_element` are NULL
/// or point to a writable pointer, `size_t` and `bool`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_list_next(
    list: *const u8,
    list_len: usize,
    offset: *mut usize,
    element: *mut *const u8,
    element_len: *mut usize,
    has_element: *mut bool,
) -> ferrostate_status {
    call("ferrostate_list_next", || {
        // SAFETY: the caller's promise.
        let (mut element, mut element_len, mut has_element) = unsafe {
            (
                Out::new("element", element)?,
                Out::new("element_len", element_len)?,
                Out::new("has_element", has_element)?,
            )
        };
        if offset.is_null() {
            return Err(CallError::null("offset"));
        }
        // SAFETY: not NULL, and a readable `size_t` by the caller's promise.
        let at = unsafe { offset.read() };
        // SAFETY: the caller's promise.
        let list = unsafe { args::bytes("list", list, list_len) }?;
        let rest = list.get(at..).ok_or_else(|| {
            CallError::invalid(format!("offset {at} lies past the list's {list_len} bytes"))
        })?;
        match list::elements(rest).next() {
            None => {
                element.set(std::ptr::null());
                element_len.set(0);
                has_element.set(false);
            }
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(e)) => {
                element.set(e.as_ptr());
                element_len.set(e.len());
                has_element.set(true);
                // SAFETY: a writable `size_t`, by the caller's promise.
                unsafe { offset.write(at + list::HEADER + e.len()) };
            }
        }
        Ok(())
    })
}

/// Runs `f` with the store, the whole key of entry `user_key` of map `map` (built in the
/// store's scratch buffer) and the map prefix's length, after the checks of a map call.
///
/// # Safety
///
/// As `with_keyed`.
unsafe fn with_entry_key<R>(
    store: *mut ferrostate_store,
    state: u32,
    map: &[u8],
    user_key: &[u8],
    f: impl FnOnce(&mut ferrostate_engine::Store, &[u8], usize) -> CResult<R>,
) -> CResult<R> {
    // SAFETY: the caller's promise, passed on.
    unsafe {
        with_keyed(store, state, MAP, ("map", map), |o, _| {
            let mut key = std::mem::take(&mut o.scratch);
            key.clear();
            key.extend_from_slice(map);
            key.extend_from_slice(user_key);
            let result = f(&mut o.store, &key, map.len());
            o.scratch = key;
            result
        })
    }
}

/// Sets entry `user_key` of the map `map` (the map's prefix: key group, key, and whatever
/// else names one map) in a map state to `value`. The prefixes of a state's maps must not be
/// prefixes of each other (fixed-length or length-prefixed keys do that).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `map`, `user_key` and `value` are NULL (with a
/// length of 0) or point to that many readable bytes, read during the call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_map_put(
    store: *mut ferrostate_store,
    state: u32,
    map: *const u8,
    map_len: usize,
    user_key: *const u8,
    user_key_len: usize,
    value: *const u8,
    value_len: usize,
) -> ferrostate_status {
    call("ferrostate_map_put", || {
        // SAFETY: the caller's promise.
        let (map, user_key, value) = unsafe {
            (
                args::bytes("map", map, map_len)?,
                args::bytes("user_key", user_key, user_key_len)?,
                args::bytes("value", value, value_len)?,
            )
        };
        // SAFETY: the caller's promise.
        unsafe {
            with_entry_key(store, state, map, user_key, |s, key, prefix| {
                Ok(s.put_entry(state, key, prefix, value)?)
            })
        }
    })
}

/// Reads entry `user_key` of the map `map` in a map state, as `ferrostate_get` reads a value
/// (same buffer rules and `FERROSTATE_STATUS_BUFFER_TOO_SMALL`).
///
/// # Safety
///
/// `store` is NULL or a live store handle; `map` and `user_key` are NULL (with a length of 0)
/// or point to that many readable bytes; `buf` is NULL (with `buf_capacity` 0) or points to
/// `buf_capacity` writable bytes; `value_len` and `found` are NULL or point to a writable
/// `size_t` and `bool`. Nothing is kept after the call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_map_get(
    store: *mut ferrostate_store,
    state: u32,
    map: *const u8,
    map_len: usize,
    user_key: *const u8,
    user_key_len: usize,
    buf: *mut u8,
    buf_capacity: usize,
    value_len: *mut usize,
    found: *mut bool,
) -> ferrostate_status {
    call("ferrostate_map_get", || {
        // SAFETY: the caller's promise.
        let out = unsafe { ReadOut::new(buf, buf_capacity, value_len, found) }?;
        // SAFETY: the caller's promise.
        let (map, user_key) = unsafe {
            (
                args::bytes("map", map, map_len)?,
                args::bytes("user_key", user_key, user_key_len)?,
            )
        };
        let dst = &mut *out.buf;
        // SAFETY: the caller's promise.
        let value = unsafe {
            with_entry_key(store, state, map, user_key, |s, key, _| {
                Ok(s.get(state, key, |v| ReadOut::copy(dst, v))?)
            })
        }?;
        out.finish(value)
    })
}

/// Removes entry `user_key` of the map `map` in a map state; removing what is absent is not
/// an error.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `map` and `user_key` are NULL (with a length of 0)
/// or point to that many readable bytes, read during the call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_map_remove(
    store: *mut ferrostate_store,
    state: u32,
    map: *const u8,
    map_len: usize,
    user_key: *const u8,
    user_key_len: usize,
) -> ferrostate_status {
    call("ferrostate_map_remove", || {
        // SAFETY: the caller's promise.
        let (map, user_key) = unsafe {
            (
                args::bytes("map", map, map_len)?,
                args::bytes("user_key", user_key, user_key_len)?,
            )
        };
        // SAFETY: the caller's promise.
        unsafe {
            with_entry_key(store, state, map, user_key, |s, key, prefix| {
                Ok(s.delete_entry(state, key, prefix)?)
            })
        }
    })
}

/// Removes every entry of the map `map` in a map state.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `map` is NULL (with `map_len` 0) or points to
/// `map_len` readable bytes, read during the call only.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_map_clear(
    store: *mut ferrostate_store,
    state: u32,
    map: *const u8,
    map_len: usize,
) -> ferrostate_status {
    call("ferrostate_map_clear", || {
        // SAFETY: the caller's promise.
        let map = unsafe { args::bytes("map", map, map_len) }?;
        // SAFETY: the caller's promise.
        unsafe {
            with_keyed(store, state, MAP, ("map", map), |o, _| {
                Ok(o.store.delete_prefix(state, map)?)
            })
        }
    })
}
