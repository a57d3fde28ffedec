//! Arguments from C, read through checks: a NULL pointer or an impossible length is an error
//! (`FERROSTATE_STATUS_NULL_ARGUMENT` / `_INVALID_ARGUMENT`), never undefined behaviour. What no
//! check can see (a pointer to freed memory, a length longer than the buffer) is the caller's
//! promise, written in each function's `# Safety` section.

use crate::error::{CResult, CallError};
use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::NonNull;

/// Largest length of one key, value or element (the list format stores lengths in 4 bytes).
pub const FERROSTATE_MAX_LEN: usize = 0xffff_ffff;

/// The `len` bytes at `ptr` (`param` names the parameter in errors). NULL with a length of 0
/// is the empty slice.
///
/// # Safety
///
/// When `ptr` is not NULL, `len` bytes from it are readable and not written for `'a`.
pub unsafe fn bytes<'a>(param: &str, ptr: *const u8, len: usize) -> CResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(CallError::null(param));
    }
    if len > FERROSTATE_MAX_LEN {
        return Err(CallError::invalid(format!(
            "{param}_len {len} exceeds the largest length, {FERROSTATE_MAX_LEN}"
        )));
    }
    // SAFETY: `ptr` is not NULL and, by the caller's promise, `len` (< isize::MAX) bytes from
    // it are readable for 'a; `u8` needs no alignment.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The `len` writable bytes at `ptr`, as [`bytes`] reads them.
///
/// # Safety
///
/// When `ptr` is not NULL, `len` bytes from it are writable and not otherwise used for `'a`.
pub unsafe fn bytes_mut<'a>(param: &str, ptr: *mut u8, len: usize) -> CResult<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(CallError::null(param));
    }
    if len > isize::MAX as usize {
        return Err(CallError::invalid(format!(
            "{param}: length {len} is impossible"
        )));
    }
    // SAFETY: `ptr` is not NULL and, by the caller's promise, `len` (<= isize::MAX) bytes from
    // it are writable and unaliased for 'a; `u8` needs no alignment.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A NUL-terminated string from C.
///
/// # Safety
///
/// `ptr` is NULL or points to a NUL-terminated string readable for `'a`.
pub unsafe fn c_str<'a>(param: &str, ptr: *const c_char) -> CResult<&'a CStr> {
    if ptr.is_null() {
        return Err(CallError::null(param));
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's promise.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A UTF-8 string from C.
///
/// # Safety
///
/// As [`c_str`].
pub unsafe fn utf8<'a>(param: &str, ptr: *const c_char) -> CResult<&'a str> {
    // SAFETY: the caller's promise, passed on.
    let s = unsafe { c_str(param, ptr) }?;
    s.to_str()
        .map_err(|e| CallError::invalid(format!("{param} is not UTF-8: {e}")))
}

/// A path from C (any bytes but NUL; not empty).
///
/// # Safety
///
/// As [`c_str`].
pub unsafe fn path(param: &str, ptr: *const c_char) -> CResult<PathBuf> {
    // SAFETY: the caller's promise, passed on.
    let s = unsafe { c_str(param, ptr) }?;
    if s.is_empty() {
        return Err(CallError::invalid(format!("{param} is empty")));
    }
    Ok(PathBuf::from(OsStr::from_bytes(s.to_bytes())))
}

/// An out-parameter: where the function writes one result. It is written with
/// [`Out::set`], never read, so it may point to uninitialized memory.
pub struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// The out-parameter `param` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is NULL or points to memory writable as a `T` (aligned) until the function
    /// returns.
    pub unsafe fn new(param: &str, ptr: *mut T) -> CResult<Out<T>> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| CallError::null(param))
    }

    /// An optional out-parameter: `None` when `ptr` is NULL.
    ///
    /// # Safety
    ///
    /// As [`Out::new`].
    pub unsafe fn optional(ptr: *mut T) -> Option<Out<T>> {
        NonNull::new(ptr).map(Out)
    }

    /// Writes the result (without reading or dropping what was there).
    pub fn set(&mut self, value: T) {
        // SAFETY: writable and aligned by the promise of `new`; `write` does not read the
        // old (possibly uninitialized) contents.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// `n` pointers to C strings at `ptr`, as paths.
///
/// # Safety
///
/// When `n > 0`, `ptr` points to `n` readable pointers, each NULL or a NUL-terminated string.
pub unsafe fn paths(param: &str, ptr: *const *const c_char, n: usize) -> CResult<Vec<PathBuf>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(CallError::null(param));
    }
    if n > isize::MAX as usize / std::mem::size_of::<*const c_char>() {
        return Err(CallError::invalid(format!(
            "{param}: count {n} is impossible"
        )));
    }
    // SAFETY: `n` readable, aligned pointers by the caller's promise.
    let ptrs = unsafe { std::slice::from_raw_parts(ptr, n) };
    ptrs.iter()
        .enumerate()
        .map(|(i, &p)| {
            // SAFETY: each is NULL or a C string, by the caller's promise.
            unsafe { path(&format!("{param}[{i}]"), p) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ferrostate_status;

    #[test]
    fn null_and_lengths() {
        // SAFETY: NULL with length 0 reads nothing.
        assert_eq!(unsafe { bytes("k", std::ptr::null(), 0) }.unwrap(), b"");
        // SAFETY: NULL is checked before reading.
        let e = unsafe { bytes("key", std::ptr::null(), 3) }.unwrap_err();
        assert_eq!(e.status, ferrostate_status::NullArgument);
        assert_eq!(e.message, "key is NULL");
        let b = [1u8, 2];
        // SAFETY: the length is refused before reading.
        let e = unsafe { bytes("value", b.as_ptr(), usize::MAX) }.unwrap_err();
        assert_eq!(e.status, ferrostate_status::InvalidArgument);
        // SAFETY: two readable bytes.
        assert_eq!(unsafe { bytes("v", b.as_ptr(), 2) }.unwrap(), &b);
    }

    #[test]
    fn strings_and_paths() {
        // SAFETY: NULL is checked.
        let e = unsafe { path("dir", std::ptr::null()) }.unwrap_err();
        assert_eq!(e.status, ferrostate_status::NullArgument);
        // SAFETY: static C strings.
        unsafe {
            assert_eq!(
                path("dir", c"/a b".as_ptr()).unwrap(),
                PathBuf::from("/a b")
            );
            assert!(path("dir", c"".as_ptr()).is_err());
            let bad = [0xffu8, 0];
            assert_eq!(
                utf8("name", bad.as_ptr().cast()).unwrap_err().status,
                ferrostate_status::InvalidArgument
            );
            let list = [c"/x".as_ptr(), std::ptr::null()];
            let e = paths("dirs", list.as_ptr(), 2).unwrap_err();
            assert_eq!(e.message, "dirs[1] is NULL");
        }
    }

    #[test]
    fn out_parameters() {
        let mut x = 0u64;
        // SAFETY: a live u64.
        let mut out = unsafe { Out::new("x", &mut x) }.unwrap();
        out.set(7);
        assert_eq!(x, 7);
        // SAFETY: NULL is checked.
        assert!(unsafe { Out::<u64>::new("x", std::ptr::null_mut()) }.is_err());
    }
}
