//! Sorted sets (timer queues): adds and removes batched past the hot tier, seen in order by
//! scans, carried by checkpoints, and kept pending when RocksDB refuses a write.

mod common;

use ferrostate_engine::{fault, ScanStart, StateKind, Store};

fn scan_all(store: &mut Store, state: u32, prefix: &[u8]) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    store
        .scan(state, prefix, ScanStart::First, |k, v| {
            assert!(v.is_empty(), "set entries have empty values");
            keys.push(k.to_vec());
            Ok(true)
        })
        .expect("scan");
    keys
}

/// One test, not several: the write-failure switch is global to the process.
#[test]
fn sets_batch_writes_past_the_hot_tier_and_lose_nothing_when_writes_fail() {
    let (dir, mut store) = common::store(8 << 20);
    let set = store.register_state("timers", StateKind::Map).unwrap();
    // Keys in two key groups, added out of order; scans see them in key order, per group.
    for k in [5u32, 1, 9, 3, 7] {
        store.set_add(set, &common::key(1, k)).unwrap();
        store.set_add(set, &common::key(2, k)).unwrap();
    }
    store.set_remove(set, &common::key(1, 9)).unwrap();
    store.set_add(set, &common::key(1, 3)).unwrap(); // already there: still one entry
    assert!(
        store.pending_set_bytes() > 0,
        "small writes wait in the batch"
    );
    let group1 = scan_all(&mut store, set, &[1]);
    assert_eq!(
        group1,
        [1u32, 3, 5, 7].map(|k| common::key(1, k)).to_vec(),
        "scan of key group 1"
    );
    assert_eq!(
        store.pending_set_bytes(),
        0,
        "a scan writes the batch first"
    );
    assert_eq!(scan_all(&mut store, set, &[2]).len(), 5);
    // Nothing passed through the hot tier.
    assert_eq!(store.memory_usage().hot, 0);

    // A refused write keeps the batch; the next write after the failure carries it.
    store.set_remove(set, &common::key(1, 1)).unwrap();
    store.set_add(set, &common::key(1, 11)).unwrap();
    fault::set_fail_writes(true);
    let refused = store.scan(set, &[1], ScanStart::First, |_, _| Ok(true));
    fault::set_fail_writes(false);
    assert!(refused.is_err(), "the scan could not write the batch first");
    assert!(
        store.pending_set_bytes() > 0,
        "the refused batch is still pending"
    );
    assert_eq!(
        scan_all(&mut store, set, &[1]),
        [3u32, 5, 7, 11].map(|k| common::key(1, k)).to_vec()
    );

    // A big run of adds writes itself in batches; a checkpoint carries every entry.
    for k in 100..20_100u32 {
        store.set_add(set, &common::key(3, k)).unwrap();
    }
    assert!(store.pending_set_bytes() < ferrostate_engine::store::SET_BATCH_BYTES);
    let copy = dir.path().join("copy");
    store.checkpoint(&copy).unwrap();
    drop(store);
    let mut opts = ferrostate_engine::StoreOptions::new(&copy, 8 << 20);
    opts.max_hot_value = 1024;
    let mut restored = Store::open(opts).unwrap();
    let set = restored.register_state("timers", StateKind::Map).unwrap();
    assert_eq!(scan_all(&mut restored, set, &[3]).len(), 20_000);
    assert_eq!(scan_all(&mut restored, set, &[1]).len(), 4);
}
