//! A sorted set (a timer queue) under random adds and removes, whole key groups removed by
//! prefix (a queue drained into heap timers) and key-group clipping (rescaling) is exactly a
//! simple model. The prefix deletes of a state created in this run once found a "complete"
//! hot table (set entries bypass it) and deleted nothing, and missed adds still pending in
//! the set batch.

mod common;

use ferrostate_engine::{ScanStart, StateKind, Store};
use std::collections::BTreeSet;

fn scan_all(store: &mut Store, state: u32) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    store
        .scan(state, &[], ScanStart::First, |k, _| {
            keys.insert(k.to_vec());
            Ok(true)
        })
        .expect("scan");
    keys
}

#[test]
fn a_set_is_its_model_through_prefix_deletes_and_clipping() {
    let (_dir, mut store) = common::store(1 << 20);
    let set = store.register_state("timers", StateKind::Map).unwrap();
    let mut model = BTreeSet::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for round in 0..40_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = common::key((x % 4) as u8, ((x >> 8) % 3_000) as u32);
        if (x >> 40).is_multiple_of(3) {
            store.set_remove(set, &key).unwrap();
            model.remove(&key);
        } else {
            store.set_add(set, &key).unwrap();
            model.insert(key);
        }
        if round % 10_000 == 9_999 {
            // A whole key group removed by prefix, adds of it still pending in the batch.
            let kg = (round / 10_000) as u8;
            store.delete_prefix(set, &[kg]).unwrap();
            model.retain(|k| k[0] != kg);
        }
        if round == 25_000 {
            store.clip_key_groups(1, 1, 3).unwrap();
            model.retain(|k| k[0] >= 1);
        }
    }
    let stored = scan_all(&mut store, set);
    let extra: Vec<_> = stored.difference(&model).take(5).collect();
    let missing: Vec<_> = model.difference(&stored).take(5).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "stored but not in the model: {extra:?}; in the model but not stored: {missing:?}"
    );
}
