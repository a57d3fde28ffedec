//! The allocator of the native libraries: jemalloc (feature `jemalloc`, which the JNI and C
//! libraries turn on) or the system allocator, with transparent huge pages asked for on large
//! blocks.
//!
//! **Why jemalloc.** Out of core the hot tier replaces values all the time (a 1.3 KB value per
//! update) while RocksDB allocates and frees blocks, memtable arenas and write batches on the
//! same thread. In one glibc arena the two interleave: freed space is scattered over pages
//! that still hold a live block, and stays resident. Measured (bench/README.md, "Resident
//! memory out of core"): a glibc arena of 110 MB with 56 MB in use, and RSS growth twice the
//! budget. With jemalloc the hot tier's values live in slabs of their own size class, apart
//! from RocksDB's allocations (still glibc's), and freed pages go back to the kernel within a
//! second (jemalloc's options are built in: `JEMALLOC_SYS_WITH_MALLOC_CONF` in
//! `.cargo/config.toml`: `narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0`; without them jemalloc
//! keeps freed pages for 10 s, as resident as live ones, and spreads threads over four arenas
//! per core, each with its own metadata, half-used slabs and freed pages; no background thread:
//! the stores ask for purges, [`purge_decayed`]). The hot tier charges each value
//! the size class jemalloc gives it ([`size_class`]), so what it counts is what the allocator
//! holds for it.
//!
//! **Huge pages.** The hot tier is one large hash table probed at random: 500,000 entries are
//! ~57 MB of slots, ~14,000 pages of 4 KiB, far more than the TLB covers. Every lookup then pays
//! a page walk (under a hypervisor a two-dimensional one) on top of the cache miss. Backing such
//! blocks with 2 MiB pages makes the walk rare. Linux's default THP mode is `madvise`, so the
//! blocks must ask: blocks of at least [`HUGE_MIN`] get `madvise(MADV_HUGEPAGE)` on the 2
//! MiB-aligned part of their range before they are touched. Nothing else changes: the advice
//! covers only pages inside the block.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Size of a transparent huge page on x86-64 and most aarch64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Blocks from this size on are advised (smaller ones would waste most of a huge page).
pub const HUGE_MIN: usize = 4 << 20;

/// An allocator (the system's by default), advising transparent huge pages for blocks of
/// [`HUGE_MIN`] bytes and more. Register [`LIBRARY_ALLOC`] with `#[global_allocator]` in the
/// library that is loaded (the JNI and C crates).
pub struct HugePageAlloc<A = System>(pub A);

/// The allocator of the native libraries: jemalloc with huge-page advice.
#[cfg(feature = "jemalloc")]
pub type LibraryAlloc = HugePageAlloc<tikv_jemallocator::Jemalloc>;

/// The allocator of the native libraries: the system's with huge-page advice.
#[cfg(not(feature = "jemalloc"))]
pub type LibraryAlloc = HugePageAlloc<System>;

/// The value to register as the libraries' `#[global_allocator]`.
#[cfg(feature = "jemalloc")]
pub const LIBRARY_ALLOC: LibraryAlloc = HugePageAlloc(tikv_jemallocator::Jemalloc);

/// The value to register as the libraries' `#[global_allocator]`.
#[cfg(not(feature = "jemalloc"))]
pub const LIBRARY_ALLOC: LibraryAlloc = HugePageAlloc(System);

/// The bytes the allocator gives a request of `n` bytes: jemalloc's size classes (8, then
/// multiples of 16 up to 128, then four classes per doubling: 160, 192, 224, 256, 320, ...).
/// For the system allocator it is an upper bound (glibc rounds to 16 bytes plus a header).
#[inline]
pub fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let lg = usize::BITS - 1 - (n - 1).leading_zeros();
    let spacing = 1usize << (lg - 2);
    (n + spacing - 1) & !(spacing - 1)
}

/// What the libraries' allocator holds, process-wide for this copy of the library.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Bytes handed out to the program and not yet freed.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds: allocated, its metadata, and freed pages
    /// it has not returned yet.
    pub resident: u64,
}

static LIBRARY_ALLOC_REGISTERED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Says that [`LIBRARY_ALLOC`] is this process's global allocator (the JNI library calls it
/// when loaded, the C library when a store opens): only then do [`allocator_stats`] describe
/// what the stores allocate, and does the budget charge the allocator's overhead
/// ([`crate::memory::SharedMemory`]). In Rust tests the system allocator serves the stores.
pub fn library_allocator_registered() {
    LIBRARY_ALLOC_REGISTERED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Returns to the kernel the freed pages of every jemalloc arena whose decay time (1 s) has
/// passed. jemalloc purges an arena only while that arena allocates: the arena of a thread that
/// went idle (JMH's setup thread, a RocksDB compaction thread that ran the list merge operator)
/// kept 40 MiB of freed pages resident with nothing allocated. A background purging thread would
/// do this too, but a thread running inside a library the JVM may unload is a crash waiting to
/// happen; the stores call this instead ([`crate::memory::allocator_overhead`], every 100 ms at
/// most). No-op without jemalloc as the registered allocator.
#[cfg(feature = "jemalloc")]
#[allow(unsafe_code)]
pub fn purge_decayed() {
    if !LIBRARY_ALLOC_REGISTERED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    // SAFETY: "arena.4096.decay" (4096 = MALLCTL_ARENAS_ALL) takes and returns nothing.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.decay".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// Returns decayed freed pages to the kernel (no-op without jemalloc).
#[cfg(not(feature = "jemalloc"))]
pub fn purge_decayed() {}

/// Whether `interval_ms` has passed since the last time `next_ms` said so (on the clock of the
/// library's first call), for work that runs at most that often however many stores ask; one
/// of the callers that ask at once gets `true`.
pub(crate) fn due(next_ms: &AtomicU64, interval_ms: u64) -> bool {
    static START: OnceLock<Instant> = OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let next = next_ms.load(Ordering::Relaxed);
    now >= next
        && next_ms
            .compare_exchange(
                next,
                now + interval_ms,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
}

/// Hands the free memory of glibc's heaps back to the kernel, at most once a second however
/// often the stores ask. RocksDB allocates from glibc (block-cache blocks, iterators, memtable
/// arenas, write batches), and glibc returns freed memory only from the top of a heap: freed
/// chunks between live ones keep their pages resident. Out of core, the block cache replaces
/// blocks all the time, so without this the process's RSS would grow past the budget the
/// stores account for: by the hot tier's evictions (the values they free) and, when nothing is
/// evicted, by scans of maps RocksDB holds (measured: a full-length `mapEntries` trial out of
/// core, 64 MiB budget, native estimate 73 MiB without a trim during scans, 45 MiB with one;
/// bench/README.md). `malloc_trim` walks every heap of the process (the JVM's too), hence the
/// once a second. The stores call it after evicting and every [`TRIM_EVERY_SCANS`] scans that
/// read RocksDB.
#[allow(unsafe_code)]
pub fn trim_system_heaps() {
    static NEXT_MS: AtomicU64 = AtomicU64::new(0);
    if !due(&NEXT_MS, 1000) {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of glibc's heaps to the kernel; it is
    // thread-safe and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How many scans that read RocksDB a store runs between two asks for [`trim_system_heaps`]
/// (asking reads the clock).
pub const TRIM_EVERY_SCANS: u64 = 256;

/// The allocator's own statistics (refreshed by this call), or `None` without jemalloc as the
/// registered global allocator ([`library_allocator_registered`]).
#[cfg(feature = "jemalloc")]
pub fn allocator_stats() -> Option<AllocatorStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    if !LIBRARY_ALLOC_REGISTERED.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    epoch::advance().ok()?;
    Some(AllocatorStats {
        allocated: stats::allocated::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
    })
}

/// The allocator's own statistics (refreshed by this call), or `None` without jemalloc.
#[cfg(not(feature = "jemalloc"))]
pub fn allocator_stats() -> Option<AllocatorStats> {
    None
}

impl<A> HugePageAlloc<A> {
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

// SAFETY: every call is forwarded to the inner allocator unchanged; `advise` only adds advice on
// memory the returned block owns.
unsafe impl<A: GlobalAlloc> GlobalAlloc for HugePageAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc(layout);
        Self::advise(p, layout.size());
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(layout);
        Self::advise(p, layout.size());
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.0.realloc(ptr, layout, new_size);
        Self::advise(p, new_size);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_says_yes_once_per_interval() {
        let next = AtomicU64::new(0);
        assert!(due(&next, 60_000), "the first ask is due");
        assert!(!due(&next, 60_000), "an ask within the interval is not");
        next.store(0, Ordering::Relaxed);
        assert!(due(&next, 60_000), "due again once the interval has passed");
    }

    #[test]
    fn large_and_small_blocks_work_as_with_the_system_allocator() {
        for size in [16usize, HUGE_MIN - 1, HUGE_MIN, 3 * HUGE_MIN + 12345] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            // SAFETY: layout has a non-zero size; the block is written within bounds and freed
            // with the same layout.
            unsafe {
                let p = LIBRARY_ALLOC.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(*p.add(size - 1), 0);
                *p.add(size - 1) = 7;
                let q = LIBRARY_ALLOC.realloc(p, layout, size * 2);
                assert_eq!(*q.add(size - 1), 7);
                LIBRARY_ALLOC.dealloc(q, Layout::from_size_align(size * 2, 16).unwrap());
            }
        }
    }

    #[test]
    fn size_classes_round_up_by_at_most_a_quarter() {
        assert_eq!(size_class(1), 8);
        assert_eq!(size_class(17), 32);
        assert_eq!(size_class(129), 160);
        assert_eq!(size_class(1280), 1280);
        assert_eq!(size_class(1284), 1536);
        assert_eq!(size_class(4 << 20), 4 << 20);
        let mut last = 0;
        for n in 9..200_000 {
            let c = size_class(n);
            assert!(
                c >= n && c >= last && (c - n) * 4 <= n.max(64),
                "{n} -> {c}"
            );
            last = c;
        }
    }

    /// The formula is jemalloc's: what `nallocx` says for every size up to 1 MiB.
    #[cfg(feature = "jemalloc")]
    #[test]
    fn size_classes_are_jemallocs() {
        for n in 1..(1 << 20) {
            // SAFETY: nallocx only computes a size; flags 0 = no alignment constraint.
            let real = unsafe { tikv_jemalloc_sys::nallocx(n, 0) };
            assert_eq!(size_class(n), real, "{n}");
        }
    }

    #[cfg(feature = "jemalloc")]
    #[test]
    fn jemalloc_reports_what_it_holds_and_returns_freed_pages_within_a_second() {
        library_allocator_registered();
        let s = allocator_stats().expect("jemalloc statistics");
        assert!(s.resident >= s.allocated && s.resident > 0, "{s:?}");
        // SAFETY: both names are jemalloc options of type ssize_t.
        let (dirty, muzzy) = unsafe {
            (
                tikv_jemalloc_ctl::raw::read::<isize>(b"opt.dirty_decay_ms\0").unwrap(),
                tikv_jemalloc_ctl::raw::read::<isize>(b"opt.muzzy_decay_ms\0").unwrap(),
            )
        };
        assert_eq!(
            (dirty, muzzy),
            (1000, 0),
            "built without .cargo/config.toml's options"
        );
    }
}
