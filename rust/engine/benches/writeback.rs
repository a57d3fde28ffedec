//! The sort of a write-back: 300,000 dirty map entries shaped like a SQL join's state (key
//! group, a join key row, a user key row of ~60 bytes sharing its first 17), their keys spread
//! over the heap as a hot tier's are, sorted by a comparison sort and by `keysort`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ferrostate_engine::bytes::IBytes;
use ferrostate_engine::keysort::sort_by_bytes;
use std::time::Duration;

fn keys() -> Vec<IBytes> {
    let mut x = 88172645463325252u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut keys = Vec::new();
    for m in 0..30_000u64 {
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
        black_box(m);
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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    targets = write_back_sort
}
criterion_main!(benches);
