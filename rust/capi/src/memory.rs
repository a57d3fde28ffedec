//! A memory budget shared by several stores (as the stores of one Flink slot share one).

use crate::args::Out;
use crate::error::{call, CResult, CallError};
use crate::ferrostate_status;
use ferrostate_engine::SharedMemory;
use std::sync::Arc;

/// A memory budget shared by stores: the hot tiers, RocksDB's block cache and its memtables
/// of every store opened with it stay, together, within it. Opaque; created by
/// `ferrostate_memory_new`, freed by `ferrostate_memory_free`.
pub struct ferrostate_memory {
    pub(crate) shared: Arc<SharedMemory>,
}

/// A ratio from C: a number in `[0, 1]`.
pub(crate) fn ratio(name: &str, value: f64) -> CResult<f64> {
    if !(0.0..=1.0).contains(&value) {
        return Err(CallError::invalid(format!(
            "{name} must lie in [0, 1], is {value}"
        )));
    }
    Ok(value)
}

/// Creates a budget of `budget_bytes` (at least 16 MiB is used). The stores plan for 7/8 of it
/// (at most 32 MiB is kept back for memory they do not count: allocator overhead, RocksDB's
/// allocations outside its cache): `hot_ratio` of that (in `[0, 1]`, at most 0.9 is used) for
/// the stores' hot tiers, the rest for RocksDB, of which
/// `write_buffer_ratio` (in `[0, 1]`) may be memtables. 0.5 and 0.5 are good defaults (`ferrostate_options_default`'s).
///
/// On success `*out` is a new budget the caller owns: free it with `ferrostate_memory_free`.
/// On error `*out` is not written.
///
/// # Safety
///
/// `out` is NULL (an error) or points to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_memory_new(
    budget_bytes: u64,
    hot_ratio: f64,
    write_buffer_ratio: f64,
    out: *mut *mut ferrostate_memory,
) -> ferrostate_status {
    call("ferrostate_memory_new", || {
        // SAFETY: the caller's promise.
        let mut out = unsafe { Out::new("out", out) }?;
        let hot = ratio("hot_ratio", hot_ratio)?;
        let wb = ratio("write_buffer_ratio", write_buffer_ratio)?;
        if budget_bytes == 0 {
            return Err(CallError::invalid("budget_bytes is 0"));
        }
        let budget = usize::try_from(budget_bytes).unwrap_or(usize::MAX);
        let handle = Box::new(ferrostate_memory {
            shared: SharedMemory::new(budget, hot, wb),
        });
        out.set(Box::into_raw(handle));
        Ok(())
    })
}

/// Frees a budget. Stores opened with it keep their own reference, so it may be freed while
/// they are open; the memory goes when the last of them is closed. NULL is ignored.
///
/// # Safety
///
/// `memory` is NULL or a budget from `ferrostate_memory_new` not freed yet; it must not be
/// used after this call.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_memory_free(memory: *mut ferrostate_memory) {
    call("ferrostate_memory_free", || {
        if !memory.is_null() {
            // SAFETY: a pointer from `Box::into_raw` in `ferrostate_memory_new`, freed once.
            drop(unsafe { Box::from_raw(memory) });
        }
        Ok(())
    });
}
