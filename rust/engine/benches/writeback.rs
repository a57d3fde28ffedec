//! The sort of a write-back: 300,000 dirty map entries shaped like a SQL join's state (key
//! group, a join key row, a user key row of ~60 bytes sharing its first 17), their keys spread
//! over the heap as a hot tier's are, sorted by a comparison sort and by `keysort`; and the
//! whole synchronous part of a checkpoint of those entries (write-back and RocksDB's checkpoint).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ferrostate_engine::bytes::IBytes;
use ferrostate_engine::keysort::sort_by_bytes;
use ferrostate_engine::store::{StateKind, Store, StoreOptions};
use std::time::{Duration, Instant};

fn keys() -> Vec<IBytes> {
    let mut x = 88172645463325252u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut keys = Vec::new();
    for _ in 0..30_000u64 {
        let auction = next() % 1_000_000;
        let mut prefix = vec![(auction % 128) as u8, 0, 0, 0, 0, 16];
        prefix.extend_from_slice(&[0u8; 8]);
        prefix.extend_from_slice(&auction.to_be_bytes());
        for _ in 0..10 {
            let mut k = prefix.clone();
            k.extend_from_slice(&[0, 0, 0, 56, 0, 0, 0, 0, 0, 0, 0, 0]);
            k.extend_from_slice(&auction.to_be_bytes());
            k.extend_from_slice(&(next() % 100_000).to_be_bytes());
            k.extend((0..36).map(|_| b'a' + (next() % 26) as u8));
            keys.push(IBytes::from_vec(k));
        }
    }
    // A table lists its slots in hash order, not in the order they were written.
    for i in (1..keys.len()).rev() {
        keys.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    keys
}

fn write_back_sort(c: &mut Criterion) {
    let keys = keys();
    let refs: Vec<&IBytes> = keys.iter().collect();
    c.bench_function("write_back_sort_300k_comparison", |b| {
        b.iter_batched_ref(
            || refs.clone(),
            |v| v.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice())),
            BatchSize::LargeInput,
        )
    });
    c.bench_function("write_back_sort_300k_keysort", |b| {
        b.iter_batched_ref(
            || refs.clone(),
            |v| sort_by_bytes(v, |k| k.as_slice()),
            BatchSize::LargeInput,
        )
    });
}

/// Length of a key's map prefix (key group, join key row) in `keys()`.
const MAP_PREFIX: usize = 22;

fn checkpoint(c: &mut Criterion) {
    let keys = keys();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(StoreOptions::new(dir.path().join("db"), 1 << 30)).unwrap();
    let state = store.register_state("join", StateKind::Map).unwrap();
    let value = [7u8; 100];
    let mut round = 0u64;
    c.bench_function("checkpoint_300k_dirty_map_entries", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // Every entry written again since the last checkpoint: all of them dirty.
                round += 1;
                for k in &keys {
                    let mut v = value;
                    v[..8].copy_from_slice(&round.to_be_bytes());
                    store
                        .put_entry(state, k.as_slice(), MAP_PREFIX, &v)
                        .unwrap();
                }
                let cp = dir.path().join(format!("cp-{round}"));
                let start = Instant::now();
                store.checkpoint(&cp).unwrap();
                spent += start.elapsed();
                std::fs::remove_dir_all(&cp).unwrap();
            }
            spent
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    targets = write_back_sort, checkpoint
}
criterion_main!(benches);
