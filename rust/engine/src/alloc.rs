//! The allocator of the native library: the system allocator, with transparent huge pages
//! asked for on large blocks.
//!
//! The hot tier is one large hash table probed at random: 500,000 entries are ~57 MB of slots,
//! ~14,000 pages of 4 KiB, far more than the TLB covers. Every lookup then pays a page walk
//! (under a hypervisor a two-dimensional one) on top of the cache miss. Backing such blocks
//! with 2 MiB pages makes the walk rare. Linux's default THP mode is `madvise`, so the blocks
//! must ask: blocks of at least [`HUGE_MIN`] get `madvise(MADV_HUGEPAGE)` on the 2 MiB-aligned
//! part of their range before they are touched. Nothing else changes: the advice covers only
//! pages inside the block (glibc usually maps such blocks on their own; when its adaptive
//! threshold serves one from an arena, those pages may later back other blocks on huge pages).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Size of a transparent huge page on x86-64 and most aarch64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Blocks from this size on are advised (smaller ones would waste most of a huge page).
pub const HUGE_MIN: usize = 4 << 20;

/// [`System`], advising transparent huge pages for blocks of [`HUGE_MIN`] bytes and more.
/// Register it with `#[global_allocator]` in the library that is loaded (the JNI crate).
pub struct HugePageAlloc;

impl HugePageAlloc {
    #[inline]
    fn advise(ptr: *mut u8, size: usize) {
        if ptr.is_null() || size < HUGE_MIN {
            return;
        }
        advise_huge(ptr, size);
    }
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, size: usize) {
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + size) & !(HUGE_PAGE - 1);
    if end > start {
        // SAFETY: [start, end) lies inside the block just allocated; MADV_HUGEPAGE changes no
        // contents, only how the kernel backs the pages. A failure (THP off) is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _size: usize) {}

// SAFETY: every call is forwarded to `System` unchanged; `advise` only adds advice on memory
// the returned block owns.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        Self::advise(p, layout.size());
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        Self::advise(p, layout.size());
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        Self::advise(p, new_size);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_small_blocks_work_as_with_the_system_allocator() {
        for size in [16usize, HUGE_MIN - 1, HUGE_MIN, 3 * HUGE_MIN + 12345] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            // SAFETY: layout has a non-zero size; the block is written within bounds and freed
            // with the same layout.
            unsafe {
                let p = HugePageAlloc.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(*p.add(size - 1), 0);
                *p.add(size - 1) = 7;
                let q = HugePageAlloc.realloc(p, layout, size * 2);
                assert_eq!(*q.add(size - 1), 7);
                HugePageAlloc.dealloc(q, Layout::from_size_align(size * 2, 16).unwrap());
            }
        }
    }
}
