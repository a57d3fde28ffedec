//! `MapState.putAll` batches as Java sends them (`Store::put_entries`: per entry a 4-byte
//! big-endian length and the user key, then a 4-byte length and the value): any bytes write
//! the whole entries before the first damaged one and give an error for the damage, never a
//! panic, and the map then holds exactly those entries (the last value of a repeated key).
//!
//! One store serves the whole run (opening RocksDB per input would cost more than the
//! decoding); each input writes a map of its own (a new prefix: the removals of earlier maps
//! never lie in its key range), and every 256 inputs the hot tier is written back (and every
//! 4096 dropped), so RocksDB's side is exercised too.
#![no_main]

use ferrostate_engine::store::{ScanStart, StateKind, Store, StoreOptions};
use ferrostate_fuzz::scratch;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

struct Fixture {
    store: Store,
    state: u32,
    runs: u64,
}

fn fixture() -> &'static Mutex<Fixture> {
    static F: OnceLock<Mutex<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let mut opts = StoreOptions::new(scratch::root().join("put_entries"), 16 << 20);
        // Values over 64 bytes bypass the hot tier and go to RocksDB directly.
        opts.max_hot_value = 64;
        let mut store = Store::open(opts).expect("open store");
        let state = store.register_state("map", StateKind::Map).unwrap();
        Mutex::new(Fixture {
            store,
            state,
            runs: 0,
        })
    })
}

/// User keys and values of a batch.
type Entries<'a> = Vec<(&'a [u8], &'a [u8])>;

/// The entries a batch holds before its first damaged field, and whether it is damaged.
fn parse(mut batch: &[u8]) -> (Entries<'_>, bool) {
    fn field<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = b.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > rest.len() {
            return None;
        }
        let (f, rest) = rest.split_at(len);
        *b = rest;
        Some(f)
    }
    let mut out = Vec::new();
    while !batch.is_empty() {
        let (Some(k), Some(v)) = (field(&mut batch), field(&mut batch)) else {
            return (out, true);
        };
        out.push((k, v));
    }
    (out, false)
}

fuzz_target!(|batch: &[u8]| {
    let mut f = fixture().lock().unwrap_or_else(|e| e.into_inner());
    let state = f.state;
    f.runs += 1;
    // Key group 3, a key of 8 bytes (this input's number), an empty namespace.
    let prefix = [&[3u8][..], &f.runs.to_be_bytes(), &[0]].concat();
    let prefix = prefix.as_slice();
    if f.runs.is_multiple_of(4096) {
        f.store.drop_hot().expect("drop hot tier");
    } else if f.runs.is_multiple_of(256) {
        f.store.flush_all().expect("write back");
    }
    let (entries, damaged) = parse(batch);
    let result = f.store.put_entries(state, prefix, batch);
    match &result {
        Ok(n) => {
            assert!(!damaged, "a damaged batch was accepted");
            assert_eq!(*n, entries.len());
        }
        Err(e) => assert!(damaged, "an intact batch failed: {e}"),
    }
    let mut want = BTreeMap::new();
    for (k, v) in entries {
        let mut key = prefix.to_vec();
        key.extend_from_slice(k);
        want.insert(key, v.to_vec());
    }
    let mut got = BTreeMap::new();
    f.store
        .scan_map(state, prefix, ScanStart::First, |k, v| {
            got.insert(k.to_vec(), v.to_vec());
            Ok(true)
        })
        .expect("scan map");
    assert_eq!(got, want);
    f.store.delete_prefix(state, prefix).expect("clear map");
    assert!(f.store.is_map_empty(state, prefix).expect("is empty"));
});
