//! Helpers of the behaviour tests: they call the C API as a C program would.
#![allow(dead_code, unused_imports)]

pub use ferrostate_capi::access::*;
pub use ferrostate_capi::error::*;
pub use ferrostate_capi::memory::*;
pub use ferrostate_capi::scan::*;
pub use ferrostate_capi::snapshot::*;
pub use ferrostate_capi::store::*;
use std::ffi::{CStr, CString};
use std::path::Path;

pub const OK: ferrostate_status = ferrostate_status::Ok;

/// A C string of a path.
pub fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_encoded_bytes()).unwrap()
}

/// The thread's last error message.
pub fn last_error() -> String {
    let p = ferrostate_last_error_message();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: a string of the library, freed once.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        ferrostate_string_free(p);
        s
    }
}

/// Panics with the status and message unless `status` is OK.
#[track_caller]
pub fn ok(status: ferrostate_status) {
    assert_eq!(status, OK, "{}", last_error());
}

/// Options for a store in `path` owning key groups `[start, end]` of 128.
pub fn options(path: &CString, start: u32, end: u32) -> ferrostate_options {
    let mut o = ferrostate_options_default();
    o.path = path.as_ptr();
    o.memory_budget = 16 << 20;
    o.key_group_start = start;
    o.key_group_end = end;
    o
}

/// Opens a store at `path` owning every key group.
pub fn open(path: &Path) -> *mut ferrostate_store {
    let p = c(path);
    let o = options(&p, 0, 127);
    let mut s = std::ptr::null_mut();
    // SAFETY: valid options and out-pointer.
    ok(unsafe { ferrostate_store_open(&o, &mut s) });
    s
}

/// Registers `name` of `kind`.
pub fn register(s: *mut ferrostate_store, name: &str, kind: ferrostate_kind) -> u32 {
    let n = CString::new(name).unwrap();
    let mut id = u32::MAX;
    // SAFETY: a live store, a C string, an out-pointer.
    ok(unsafe { ferrostate_register_state(s, n.as_ptr(), kind as u32, &mut id) });
    id
}

/// `[kg][k as 4 bytes BE]`.
pub fn key(kg: u8, k: u32) -> Vec<u8> {
    let mut v = vec![kg];
    v.extend_from_slice(&k.to_be_bytes());
    v
}

pub fn put(s: *mut ferrostate_store, st: u32, k: &[u8], v: &[u8]) {
    // SAFETY: live store, readable buffers.
    ok(unsafe { ferrostate_put(s, st, k.as_ptr(), k.len(), v.as_ptr(), v.len()) });
}

/// The value of `k`, or None; errors panic.
pub fn get(s: *mut ferrostate_store, st: u32, k: &[u8]) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 64];
    loop {
        let (mut len, mut found) = (0usize, false);
        // SAFETY: live store, readable key, writable buffer and out-pointers.
        let status = unsafe {
            ferrostate_get(
                s,
                st,
                k.as_ptr(),
                k.len(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
                &mut found,
            )
        };
        if status == ferrostate_status::BufferTooSmall {
            buf.resize(len, 0);
            continue;
        }
        ok(status);
        return found.then(|| buf[..len].to_vec());
    }
}

pub fn map_put(s: *mut ferrostate_store, st: u32, map: &[u8], uk: &[u8], v: &[u8]) {
    // SAFETY: live store, readable buffers.
    ok(unsafe {
        ferrostate_map_put(
            s,
            st,
            map.as_ptr(),
            map.len(),
            uk.as_ptr(),
            uk.len(),
            v.as_ptr(),
            v.len(),
        )
    });
}

pub fn map_get(s: *mut ferrostate_store, st: u32, map: &[u8], uk: &[u8]) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let (mut len, mut found) = (0usize, false);
    // SAFETY: live store, readable buffers, writable buffer and out-pointers.
    ok(unsafe {
        ferrostate_map_get(
            s,
            st,
            map.as_ptr(),
            map.len(),
            uk.as_ptr(),
            uk.len(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            &mut found,
        )
    });
    found.then(|| buf[..len].to_vec())
}

pub fn append(s: *mut ferrostate_store, st: u32, k: &[u8], e: &[u8]) {
    // SAFETY: live store, readable buffers.
    ok(unsafe { ferrostate_list_append(s, st, k.as_ptr(), k.len(), e.as_ptr(), e.len()) });
}

/// The elements of a list value, through `ferrostate_list_next`.
pub fn elements(list: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    loop {
        let (mut e, mut n, mut has) = (std::ptr::null(), 0usize, false);
        // SAFETY: a readable list and writable out-pointers.
        ok(unsafe {
            ferrostate_list_next(
                list.as_ptr(),
                list.len(),
                &mut offset,
                &mut e,
                &mut n,
                &mut has,
            )
        });
        if !has {
            return out;
        }
        // SAFETY: `e` points into `list`, `n` bytes.
        out.push(unsafe { std::slice::from_raw_parts(e, n) }.to_vec());
    }
}

/// Every entry an iterator hands out; errors panic.
pub fn drain(it: *mut ferrostate_iter) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let (mut k, mut kl, mut v, mut vl, mut has) =
            (std::ptr::null(), 0usize, std::ptr::null(), 0usize, false);
        // SAFETY: a live iterator and writable out-pointers.
        ok(unsafe { ferrostate_iter_next(it, &mut k, &mut kl, &mut v, &mut vl, &mut has) });
        if !has {
            return out;
        }
        // SAFETY: valid until the next call, copied now.
        unsafe {
            out.push((
                std::slice::from_raw_parts(k, kl).to_vec(),
                std::slice::from_raw_parts(v, vl).to_vec(),
            ));
        }
    }
}

/// Every entry of `state` whose key starts with `prefix`.
pub fn scan(s: *mut ferrostate_store, st: u32, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = std::ptr::null_mut();
    // SAFETY: live store, readable prefix, out-pointer.
    ok(unsafe { ferrostate_scan(s, st, prefix.as_ptr(), prefix.len(), &mut it) });
    let out = drain(it);
    // SAFETY: freed once.
    unsafe { ferrostate_iter_free(it) };
    out
}

/// Every entry of one map.
pub fn map_scan(s: *mut ferrostate_store, st: u32, map: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = std::ptr::null_mut();
    // SAFETY: live store, readable prefix, out-pointer.
    ok(unsafe { ferrostate_map_scan(s, st, map.as_ptr(), map.len(), &mut it) });
    let out = drain(it);
    // SAFETY: freed once.
    unsafe { ferrostate_iter_free(it) };
    out
}

/// Takes a snapshot into `dir`.
pub fn snapshot(s: *mut ferrostate_store, dir: &Path) -> ferrostate_snapshot_info {
    let mut info = ferrostate_snapshot_info::default();
    // SAFETY: live store, C string, writable info.
    ok(unsafe { ferrostate_store_snapshot(s, c(dir).as_ptr(), &mut info) });
    info
}

/// Restores into `path` from `dirs`, keeping key groups `[start, end]`.
pub fn restore(
    path: &Path,
    dirs: &[&Path],
    start: u32,
    end: u32,
) -> Result<*mut ferrostate_store, (ferrostate_status, String)> {
    let p = c(path);
    let o = options(&p, start, end);
    let cdirs: Vec<CString> = dirs.iter().map(|d| c(d)).collect();
    let ptrs: Vec<*const std::ffi::c_char> = cdirs.iter().map(|d| d.as_ptr()).collect();
    let mut s = std::ptr::null_mut();
    // SAFETY: valid options, `ptrs.len()` C strings, out-pointer.
    let status = unsafe { ferrostate_store_restore(&o, ptrs.as_ptr(), ptrs.len(), &mut s) };
    if status == OK {
        Ok(s)
    } else {
        Err((status, last_error()))
    }
}

/// Closes a store.
pub fn close(s: *mut ferrostate_store) {
    // SAFETY: a live store, closed once.
    ok(unsafe { ferrostate_store_close(s) });
}
