//! The JNI boundary of ferrostate: one module per Java class with native methods.
//!
//! Every entry point runs its body through [`guard`], which turns an `Err` into a Java
//! exception and catches panics, so a bug in the store fails the task (and Flink restores
//! it from the last checkpoint) instead of aborting the JVM and every job in it.

mod batch;
mod errors;
#[cfg(feature = "test-hooks")]
mod hooks;
mod library;
mod memory;
mod results;
mod snapshots;
mod store;

pub(crate) use errors::{guard, JniError, JniResult};

/// Rust's allocations in this library: jemalloc, with huge pages for the hot tier's large
/// tables (see `ferrostate_engine::alloc`).
#[global_allocator]
static ALLOC: ferrostate_engine::alloc::LibraryAlloc = ferrostate_engine::alloc::LIBRARY_ALLOC;

use jni::sys::{jint, JNI_VERSION_1_8};
use jni::JavaVM;
use std::os::raw::c_void;

/// Caches the exception classes of the class loader that loads this library copy.
#[no_mangle]
pub extern "system" fn JNI_OnLoad(vm: JavaVM, _reserved: *mut c_void) -> jint {
    ferrostate_engine::alloc::library_allocator_registered();
    if let Ok(mut env) = vm.get_env() {
        errors::cache_classes(&mut env);
    }
    JNI_VERSION_1_8
}
