//! ferrostate's store for C (and every language with a C FFI): a keyed, tiered store with
//! checksummed snapshots, behind opaque handles and status codes.
//!
//! The C header `include/ferrostate.h` is generated from this crate by cbindgen
//! (`make capi-header`; `make test` fails when the committed header is stale). Its preamble
//! (in `cbindgen.toml`) states the conventions every function follows: status codes, the
//! thread-local error message, who owns which pointer. Every function's doc comment below is
//! copied into the header, so each one says what it reads, writes and allocates, and for how
//! long a pointer it hands out stays valid.
//!
//! Every entry point runs its body through [`error::call`] (or [`error::call_or`]), which
//! catches panics: no panic crosses into C. Pointers from C are read only through the
//! checked helpers of [`args`] (NULL and impossible lengths are errors, never undefined
//! behaviour).
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
// The C names of the types are their Rust names (cbindgen copies them as they are).
#![allow(non_camel_case_types)]

// In the order the header lists them (cbindgen reads modules in this order).
pub mod error;

pub mod store;

pub mod access;

pub mod scan;

pub mod snapshot;

pub mod memory;

pub mod args;

pub use error::ferrostate_status;

/// Rust's allocations in this library: jemalloc, with huge pages for the hot tier's large
/// tables (see `ferrostate_engine::alloc`).
#[global_allocator]
static ALLOC: ferrostate_engine::alloc::LibraryAlloc = ferrostate_engine::alloc::LIBRARY_ALLOC;
