//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use ferrostate_engine::{SharedMemory, Store, StoreOptions};
use std::sync::Arc;
use tempfile::TempDir;

/// A store in a fresh temporary directory with `budget` bytes of memory.
pub fn store(budget: usize) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = StoreOptions::new(dir.path().join("db"), budget);
    opts.max_hot_value = 1024;
    let store = Store::open(opts).expect("open store");
    (dir, store)
}

/// A store sharing `memory` with others.
pub fn store_in(dir: &std::path::Path, memory: Arc<SharedMemory>) -> Store {
    let mut opts = StoreOptions::new(dir, memory.budget());
    opts.memory = memory;
    Store::open(opts).expect("open store")
}

/// Composite key `[kg][key u32 BE][ns]` as Flink's RocksDB layout writes it.
pub fn key(kg: u8, k: u32) -> Vec<u8> {
    let mut v = vec![kg];
    v.extend_from_slice(&k.to_be_bytes());
    v.push(0);
    v
}

/// Reads a value as an owned vector.
pub fn get(store: &mut Store, state: u32, k: &[u8]) -> Option<Vec<u8>> {
    store.get(state, k, |v| v.to_vec()).expect("get")
}
