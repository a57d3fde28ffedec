//! The floor of a state access in Rust alone: hot-tier lookups of 500,000 short keys (the
//! shape of Flink's state benchmarks), a hash map of the same keys for comparison, a
//! RocksDB point read (the cold path), and the listing of one 10-entry map among 500,000
//! (what a MapState iteration asks of a complete hot tier) or its emptiness (`isEmpty`); and
//! 64 cold reads one by one against one batched `get_many` of the same keys (what Flink 2's
//! asynchronous state executor sends per run of reads).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ferrostate_engine::hot::HotTable;
use ferrostate_engine::store::Read;
use ferrostate_engine::{StateKind, Store, StoreOptions};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const KEYS: u32 = 500_000;

fn composite(i: u32) -> [u8; 10] {
    // [key group][8-byte Long key][VoidNamespace byte], as Flink writes it.
    let mut k = [0u8; 10];
    k[0] = (i % 128) as u8;
    k[1..9].copy_from_slice(&(i as u64).to_be_bytes());
    k
}

fn order(n: u32) -> Vec<u32> {
    let mut x = 88172645463325252u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % KEYS as u64) as u32
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let mut hot = HotTable::new();
    let mut map: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for i in 0..KEYS {
        hot.set(&composite(i), &(i as u64).to_be_bytes(), false);
        map.insert(composite(i).to_vec(), (i as u64).to_be_bytes().to_vec());
    }
    let probes = order(1 << 16);
    let mut n = 0usize;
    c.bench_function("hot_tier_get", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            black_box(hot.get(&composite(probes[n])).is_some())
        })
    });
    c.bench_function("std_hashmap_vec_get", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            black_box(map.get(&composite(probes[n])[..]).map(|v| v.len()))
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(StoreOptions::new(dir.path(), 256 << 20)).unwrap();
    let st = store.register_state("v", StateKind::Value).unwrap();
    for i in 0..KEYS {
        store
            .put(st, &composite(i), &(i as u64).to_be_bytes())
            .unwrap();
    }
    c.bench_function("store_get_hot", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            black_box(store.get(st, &composite(probes[n]), |v| v.len()).unwrap())
        })
    });
    store.drop_hot().unwrap();
    c.bench_function("store_get_rocksdb_then_hot", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            black_box(store.get(st, &composite(probes[n]), |v| v.len()).unwrap())
        })
    });
}

/// 500,000 maps of 10 entries (user keys 0-9 after the composite key), written map by map as
/// Flink's MapState benchmark loads them, then written back (clean, as between checkpoints).
fn map_listing(c: &mut Criterion) {
    let mut hot = HotTable::new();
    let mut key = [0u8; 18];
    for i in 0..KEYS {
        key[..10].copy_from_slice(&composite(i));
        for u in 0..10u64 {
            key[10..].copy_from_slice(&u.to_be_bytes());
            hot.set_entry(&key, 10, &(u as f64).to_be_bytes());
        }
    }
    hot.flush::<()>(|_| Ok(()), || Ok(())).unwrap();
    let probes = order(1 << 16);
    let mut n = 0usize;
    let mut out = Vec::new();
    c.bench_function("hot_tier_map_entries_10_of_5m", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            assert!(hot.map_entries(&composite(probes[n]), 1024, &mut out));
            black_box(out.len())
        })
    });
    c.bench_function("hot_tier_map_is_empty_10_of_5m", |b| {
        b.iter(|| {
            n = (n + 1) & 0xffff;
            black_box(hot.map_is_empty(&composite(probes[n]), 1024))
        })
    });
}

/// 64 reads of keys that only RocksDB holds (the hot tier is emptied before each batch, out
/// of the measured time): one `get` each, or one `get_many`.
fn batched_cold_reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(StoreOptions::new(dir.path(), 256 << 20)).unwrap();
    let st = store.register_state("v", StateKind::Value).unwrap();
    for i in 0..KEYS {
        store
            .put(st, &composite(i), &(i as u64).to_be_bytes())
            .unwrap();
    }
    store.drop_hot().unwrap();
    let probes = order(1 << 16);
    let mut n = 0usize;
    let mut next_keys = move || {
        n = (n + 1) & 1023;
        (0..64)
            .map(|j| composite(probes[n * 64 + j]))
            .collect::<Vec<_>>()
    };
    let mut timed = |store: &mut Store, iters: u64, batched: bool| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            store.drop_hot().unwrap();
            let keys = next_keys();
            let requests: Vec<(u32, &[u8])> = keys.iter().map(|k| (st, &k[..])).collect();
            let start = Instant::now();
            let mut found = 0usize;
            if batched {
                store
                    .get_many(&requests, false, |r| {
                        found += matches!(r, Read::Found(_)) as usize;
                        true
                    })
                    .unwrap();
            } else {
                for (state, key) in &requests {
                    found += store.get(*state, key, |v| v.len()).unwrap().is_some() as usize;
                }
            }
            total += start.elapsed();
            assert_eq!(black_box(found), 64);
        }
        total
    };
    c.bench_function("store_64_cold_gets_one_by_one", |b| {
        b.iter_custom(|iters| timed(&mut store, iters, false))
    });
    c.bench_function("store_64_cold_gets_get_many", |b| {
        b.iter_custom(|iters| timed(&mut store, iters, true))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = lookups, map_listing, batched_cold_reads
}
criterion_main!(benches);
