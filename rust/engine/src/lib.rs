//! ferrostate's store: keyed Flink state in a native hot tier in front of RocksDB, with
//! snapshots that are immutable, checksummed file sets. Pure Rust, no JNI: the `jni` crate
//! beside this one is the only thing that knows about Java.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc;
pub mod bytes;
pub mod error;
pub mod fault;
pub mod hot;
pub mod keygroup;
pub mod keysort;
pub mod list;
pub mod memory;
pub mod rocks_files;
pub mod rocks_log;
pub mod rocks_sst;
pub mod snapshot;
pub mod store;
pub mod ttl;

pub use error::{Error, Result};
pub use memory::SharedMemory;
pub use snapshot::{Manifest, SnapshotReader};
pub use store::{MemoryUsage, ScanStart, StateKind, Store, StoreGauges, StoreOptions, StoreStats};
