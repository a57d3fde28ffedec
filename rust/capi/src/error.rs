//! Status codes, the thread-local error message, and the guard every entry point runs in.

use ferrostate_engine::Error as StoreError;
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a function of the C API returned. `FERROSTATE_STATUS_OK` (0) is success; every other
/// value is an error, and `ferrostate_last_error_message` then tells what went wrong.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ferrostate_status {
    /// The call succeeded.
    Ok = 0,
    /// A pointer the call needs was NULL (or NULL with a non-zero length). Nothing changed.
    NullArgument = 1,
    /// An argument is out of range or malformed: options, a length, a name that is not UTF-8,
    /// a key whose key group lies outside the store's range, a directory that must not exist.
    /// Nothing changed.
    InvalidArgument = 2,
    /// No state has this id, or a restored state was not registered yet. Nothing changed.
    UnknownState = 3,
    /// The state is of another kind than the call works on (e.g. a map function on a value
    /// state), or a state is registered again with another kind. Nothing changed.
    WrongKind = 4,
    /// The value does not fit the caller's buffer: the length it needs was written, nothing
    /// else. Call again with a buffer of at least that length.
    BufferTooSmall = 5,
    /// A file operation failed (missing directory, no space left, permissions).
    Io = 6,
    /// Stored data is damaged: a snapshot directory without a valid manifest, a file its
    /// manifest lists is missing, a malformed list value, a corrupt RocksDB file.
    Corrupt = 7,
    /// A file of a snapshot does not have the size and CRC-32C its manifest records.
    ChecksumMismatch = 8,
    /// RocksDB refused an operation for another reason.
    Rocksdb = 9,
    /// The iterator's store was closed.
    Closed = 10,
    /// A bug in ferrostate was caught (a Rust panic). The store it happened in refuses every
    /// later call but `ferrostate_store_close`.
    Panic = 11,
}

/// Every status, in code order.
pub(crate) const STATUSES: [ferrostate_status; 12] = [
    ferrostate_status::Ok,
    ferrostate_status::NullArgument,
    ferrostate_status::InvalidArgument,
    ferrostate_status::UnknownState,
    ferrostate_status::WrongKind,
    ferrostate_status::BufferTooSmall,
    ferrostate_status::Io,
    ferrostate_status::Corrupt,
    ferrostate_status::ChecksumMismatch,
    ferrostate_status::Rocksdb,
    ferrostate_status::Closed,
    ferrostate_status::Panic,
];

impl ferrostate_status {
    /// The C name of the status, NUL-terminated.
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            ferrostate_status::Ok => c"FERROSTATE_STATUS_OK",
            ferrostate_status::NullArgument => c"FERROSTATE_STATUS_NULL_ARGUMENT",
            ferrostate_status::InvalidArgument => c"FERROSTATE_STATUS_INVALID_ARGUMENT",
            ferrostate_status::UnknownState => c"FERROSTATE_STATUS_UNKNOWN_STATE",
            ferrostate_status::WrongKind => c"FERROSTATE_STATUS_WRONG_KIND",
            ferrostate_status::BufferTooSmall => c"FERROSTATE_STATUS_BUFFER_TOO_SMALL",
            ferrostate_status::Io => c"FERROSTATE_STATUS_IO",
            ferrostate_status::Corrupt => c"FERROSTATE_STATUS_CORRUPT",
            ferrostate_status::ChecksumMismatch => c"FERROSTATE_STATUS_CHECKSUM_MISMATCH",
            ferrostate_status::Rocksdb => c"FERROSTATE_STATUS_ROCKSDB",
            ferrostate_status::Closed => c"FERROSTATE_STATUS_CLOSED",
            ferrostate_status::Panic => c"FERROSTATE_STATUS_PANIC",
        }
    }
}

/// A failed call: its status and what to tell the caller.
#[derive(Debug)]
pub struct CallError {
    /// The status returned.
    pub status: ferrostate_status,
    /// The message `ferrostate_last_error_message` returns (after the function's name).
    pub message: String,
}

impl CallError {
    /// An error of `status` with `message`.
    pub fn new(status: ferrostate_status, message: impl Into<String>) -> CallError {
        CallError {
            status,
            message: message.into(),
        }
    }

    /// `FERROSTATE_STATUS_NULL_ARGUMENT` naming the parameter.
    pub fn null(param: &str) -> CallError {
        CallError::new(ferrostate_status::NullArgument, format!("{param} is NULL"))
    }

    /// `FERROSTATE_STATUS_INVALID_ARGUMENT`.
    pub fn invalid(message: impl Into<String>) -> CallError {
        CallError::new(ferrostate_status::InvalidArgument, message)
    }
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> CallError {
        let status = match &e {
            StoreError::Rocks(r) => match r.kind() {
                rocksdb::ErrorKind::Corruption => ferrostate_status::Corrupt,
                rocksdb::ErrorKind::IOError => ferrostate_status::Io,
                rocksdb::ErrorKind::InvalidArgument => ferrostate_status::InvalidArgument,
                _ => ferrostate_status::Rocksdb,
            },
            StoreError::Io { .. } | StoreError::Injected(_) => ferrostate_status::Io,
            StoreError::Corrupt { .. } => ferrostate_status::Corrupt,
            StoreError::ChecksumMismatch { .. } => ferrostate_status::ChecksumMismatch,
            StoreError::UnknownState(_) => ferrostate_status::UnknownState,
            StoreError::InvalidArgument(_) => ferrostate_status::InvalidArgument,
        };
        CallError::new(status, e.to_string())
    }
}

/// Result of the body of an entry point.
pub type CResult<T> = Result<T, CallError>;

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    // A message never holds NUL bytes (paths cannot), but one must not lose the message.
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(c));
}

fn clear_last_error() {
    LAST_ERROR.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = None;
        }
    });
}

fn panic_message(p: &(dyn Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

/// Runs the body of entry point `what`: clears this thread's error message, and turns an
/// `Err` or a panic into a status and a message.
pub fn call(what: &str, body: impl FnOnce() -> CResult<()>) -> ferrostate_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ferrostate_status::Ok,
        Ok(Err(e)) => {
            set_last_error(format!("{what}: {}", e.message));
            e.status
        }
        Err(p) => {
            set_last_error(format!(
                "{what}: internal error (Rust panic): {}",
                panic_message(&*p)
            ));
            ferrostate_status::Panic
        }
    }
}

/// As [`call`], for the few entry points that return a value instead of a status: a panic
/// gives `fallback` (and the message).
pub fn call_or<R>(what: &str, fallback: R, body: impl FnOnce() -> R) -> R {
    let mut out = None;
    call(what, || {
        out = Some(body());
        Ok(())
    });
    out.unwrap_or(fallback)
}

/// Runs the body of an entry point that leaves the thread's error message alone; a panic
/// gives `fallback`.
fn quiet<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The C name of a status code, e.g. `"FERROSTATE_STATUS_CORRUPT"`, or `"unknown status"` for
/// a value that is none.
///
/// The string is static: never free it.
#[no_mangle]
pub extern "C" fn ferrostate_status_name(status: u32) -> *const c_char {
    quiet(c"unknown status".as_ptr(), || {
        STATUSES
            .get(status as usize)
            .map_or(c"unknown status", |s| s.name())
            .as_ptr()
    })
}

/// A copy of the message of the last call on this thread that failed, or NULL when the last
/// call on this thread succeeded. The message starts with the function's name, e.g.
/// `"ferrostate_store_restore: checksum mismatch in /snap/000009.sst: ..."`.
///
/// Every function of this API (except this one, `ferrostate_string_free`,
/// `ferrostate_status_name` and `ferrostate_version`) clears the message when called and sets
/// it when it fails, so read it right after the failing call, on the same thread.
///
/// The caller owns the returned string and frees it with `ferrostate_string_free`.
#[no_mangle]
pub extern "C" fn ferrostate_last_error_message() -> *mut c_char {
    // Not `call`: it would clear the message this function reads.
    quiet(std::ptr::null_mut(), || {
        LAST_ERROR.with(|l| match l.try_borrow() {
            Ok(l) => l
                .as_ref()
                .map_or(std::ptr::null_mut(), |m| m.clone().into_raw()),
            Err(_) => std::ptr::null_mut(),
        })
    })
}

/// Frees a string this API allocated (from `ferrostate_last_error_message` or
/// `ferrostate_state_name`). NULL is ignored.
///
/// # Safety
///
/// `s` is NULL or a string returned by this API and not freed yet; it must not be used after
/// this call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    quiet((), || {
        // SAFETY: the caller passes a string from `CString::into_raw` of this library, once.
        drop(unsafe { CString::from_raw(s) });
    });
}

/// The version of the ferrostate library, e.g. `"0.1.0"`. The string is static: never free it.
#[no_mangle]
pub extern "C" fn ferrostate_version() -> *const c_char {
    quiet(std::ptr::null(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> Option<String> {
        let p = ferrostate_last_error_message();
        if p.is_null() {
            return None;
        }
        // SAFETY: a string this module allocated.
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        // SAFETY: freed once.
        unsafe { ferrostate_string_free(p) };
        Some(s)
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = call("ferrostate_test", || panic!("boom {}", 7));
        assert_eq!(status, ferrostate_status::Panic);
        let msg = last().expect("a message");
        assert!(msg.starts_with("ferrostate_test: internal error"), "{msg}");
        assert!(msg.contains("boom 7"), "{msg}");
    }

    #[test]
    fn an_error_sets_the_message_and_the_next_success_clears_it() {
        let status = call("ferrostate_x", || Err(CallError::null("key")));
        assert_eq!(status, ferrostate_status::NullArgument);
        assert_eq!(last().as_deref(), Some("ferrostate_x: key is NULL"));
        // Reading does not clear it.
        assert!(last().is_some());
        assert_eq!(call("ferrostate_y", || Ok(())), ferrostate_status::Ok);
        assert_eq!(last(), None);
    }

    #[test]
    fn call_or_returns_the_fallback_on_panic() {
        assert_eq!(call_or("f", 5, || 6), 6);
        assert_eq!(call_or("f", 5, || -> i32 { panic!("no") }), 5);
    }

    #[test]
    fn every_status_has_its_code_and_name() {
        for (i, s) in STATUSES.iter().enumerate() {
            assert_eq!(*s as u32, i as u32);
            // SAFETY: static strings.
            let name = unsafe { CStr::from_ptr(ferrostate_status_name(i as u32)) };
            assert_eq!(name, s.name());
        }
        // SAFETY: static string.
        let unknown = unsafe { CStr::from_ptr(ferrostate_status_name(999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let e: CallError = StoreError::UnknownState(4).into();
        assert_eq!(e.status, ferrostate_status::UnknownState);
        let e: CallError = StoreError::corrupt("x", "y").into();
        assert_eq!(e.status, ferrostate_status::Corrupt);
        let e: CallError = StoreError::InvalidArgument("z".into()).into();
        assert_eq!(e.status, ferrostate_status::InvalidArgument);
    }
}
