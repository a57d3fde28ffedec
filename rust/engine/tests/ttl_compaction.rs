//! The native TTL compaction filter removes expired entries physically, not only hides them.

mod common;

use common::key;
use ferrostate_engine::ttl::{TtlConfig, TtlLayout};
use ferrostate_engine::{list, ScanStart, StateKind, Store, StoreOptions};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

fn ttl_value(ts: i64, v: &[u8]) -> Vec<u8> {
    let mut out = ts.to_be_bytes().to_vec();
    out.extend_from_slice(v);
    out
}

fn store_with_clock(dir: &std::path::Path, now: Arc<AtomicI64>) -> Store {
    let mut opts = StoreOptions::new(dir, 16 << 20);
    opts.clock = Arc::new(move || now.load(Ordering::SeqCst));
    Store::open(opts).unwrap()
}

fn raw_entries(s: &mut Store, st: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    s.scan(st, &[], ScanStart::First, |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        Ok(true)
    })
    .unwrap();
    out
}

#[test]
fn expired_values_map_entries_and_list_elements_are_gone_after_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(0));
    let mut s = store_with_clock(dir.path(), now.clone());
    let v = s.register_state("v", StateKind::Value).unwrap();
    let m = s.register_state("m", StateKind::Map).unwrap();
    let l = s.register_state("l", StateKind::List).unwrap();
    for (state, layout) in [
        (v, TtlLayout::Value),
        (m, TtlLayout::Map),
        (l, TtlLayout::List),
    ] {
        s.set_ttl(
            state,
            Some(TtlConfig {
                ttl_ms: 100,
                layout,
                query_time_after: 1,
            }),
        )
        .unwrap();
    }
    for i in 0..100u32 {
        // Even keys were written at t=0, odd keys at t=60.
        let ts = if i % 2 == 0 { 0 } else { 60 };
        s.put(v, &key(0, i), &ttl_value(ts, b"value")).unwrap();
        let mut mv = vec![0u8];
        mv.extend_from_slice(&ttl_value(ts, b"map"));
        s.put(m, &key(0, i), &mv).unwrap();
        let mut le = Vec::new();
        list::push_element(&mut le, &ttl_value(0, b"old"));
        list::push_element(&mut le, &ttl_value(ts + 60, b"newer"));
        s.put(l, &key(0, i), &le).unwrap();
    }
    now.store(130, Ordering::SeqCst);
    for st in [v, m, l] {
        s.compact(st).unwrap();
    }
    // The raw store (not a TTL-filtered view) holds only what had not expired.
    let values = raw_entries(&mut s, v);
    assert_eq!(values.len(), 50);
    assert!(values.iter().all(|(k, _)| k[4] % 2 == 1));
    assert_eq!(raw_entries(&mut s, m).len(), 50);
    let lists = raw_entries(&mut s, l);
    assert_eq!(lists.len(), 100);
    for (k, value) in lists {
        let elements: Vec<&[u8]> = list::elements(&value).map(|e| e.unwrap()).collect();
        // The element from t=0 is gone; the newer one (t=60 or t=120) lives until 160 or 220.
        assert_eq!(elements.len(), 1, "key {k:?}");
        assert_eq!(&elements[0][8..], b"newer");
    }
    now.store(1000, Ordering::SeqCst);
    for st in [v, m, l] {
        s.compact(st).unwrap();
        assert_eq!(raw_entries(&mut s, st).len(), 0);
    }
}

#[test]
fn states_without_ttl_are_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(1 << 40));
    let mut s = store_with_clock(dir.path(), now);
    let v = s.register_state("plain", StateKind::Value).unwrap();
    for i in 0..100u32 {
        s.put(v, &key(0, i), &ttl_value(0, b"looks old")).unwrap();
    }
    s.compact(v).unwrap();
    assert_eq!(raw_entries(&mut s, v).len(), 100);
}
