//! Sorting byte-string keys in byte order, eight bytes at a time.
//!
//! A write-back sorts every dirty key of a state before it reaches RocksDB (see
//! [`HotTable::flush`](crate::hot::HotTable::flush)). The keys of a map state share long
//! prefixes (key group, key and namespace, often tens of bytes), and they lie all over a table
//! of millions of slots: a comparison sort reaches two keys per comparison, about `log2(n)`
//! times per key, and compares each pair from its first byte. A profile of Nexmark q20 (a join
//! whose state is maps of whole rows) put half of a checkpoint's synchronous phase in those
//! comparisons.
//!
//! [`sort_by_bytes`] reads each key once per eight bytes of depth instead: it copies the next
//! eight bytes of every key into an array, sorts that array, and goes deeper only within the
//! runs of keys that share those bytes (short runs are left to a comparison sort). On 300,000
//! keys shaped like a join's state it takes 0.6-0.75x the time of `sort_unstable_by`
//! (`cargo bench --bench writeback`). Its arrays take 24 bytes per key besides the items, which
//! the write-back bounds ([`sort_within`]).

/// Below this many keys a run is finished by a comparison sort (of its keys' tails).
const SMALL: usize = 24;

/// Past this depth a run is finished by a comparison sort: the recursion stays shallow however
/// long the keys' shared prefix is.
const MAX_DEPTH: usize = 512;

/// What a pass sorts a key by: its first eight bytes as a big-endian word, padded with zero
/// bytes, and how many bytes the key has, capped at 9 (9: it goes on past the word). Ordering
/// keys by this pair orders them as `[u8]::cmp` does, as far as the word reaches: equal words
/// and a shorter length mean a prefix of the other key (the padding is zeros). Wider heads (16
/// or 32 bytes, fewer passes) sorted slower in `benches/writeback.rs`.
type Head = (u64, u8);

#[inline]
fn head(key: &[u8]) -> Head {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    (u64::from_be_bytes(b), key.len().min(9) as u8)
}

/// `key` from byte `depth` on.
#[inline]
fn tail(key: &[u8], depth: usize) -> &[u8] {
    key.get(depth..).unwrap_or(&[])
}

/// Sorts `items` as [`sort_by_bytes`] does while its arrays (a word, a length and an index per
/// key, and a copy of the items) take at most `max_extra_bytes`; otherwise by an in-place
/// comparison sort. The arrays are transient memory outside a store's budget: the write-back
/// bounds them by its table's size, so they cost no more than a bounded share of it (a table of
/// short keys with every slot dirty sorts by comparisons).
pub fn sort_within<T: Copy>(items: &mut [T], key: impl Fn(&T) -> &[u8], max_extra_bytes: usize) {
    if sorts_by_words::<T>(items.len(), max_extra_bytes) {
        sort_by_bytes(items, key);
    } else {
        items.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    }
}

/// True when [`sort_within`] sorts `n` items of type `T` by words within `max_extra_bytes`.
pub fn sorts_by_words<T>(n: usize, max_extra_bytes: usize) -> bool {
    let per_key = std::mem::size_of::<(Head, u32)>() + std::mem::size_of::<T>();
    n.saturating_mul(per_key) <= max_extra_bytes
}

/// Sorts `items` by `key(item)` in byte order (the order of `[u8]::cmp`, RocksDB's bytewise
/// comparator); equal keys end up next to each other in no particular order.
pub fn sort_by_bytes<T: Copy>(items: &mut [T], key: impl Fn(&T) -> &[u8]) {
    if items.len() > u32::MAX as usize {
        items.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        return;
    }
    let mut heads = Vec::new();
    let mut scratch = Vec::new();
    let mut runs = Vec::new();
    sort_at(items, 0, &key, &mut heads, &mut scratch, &mut runs);
}

/// Sorts `items`, whose keys all share their first `depth` bytes and are longer than that (or
/// `depth` is 0), by the rest of their keys.
fn sort_at<T: Copy, F: Fn(&T) -> &[u8]>(
    items: &mut [T],
    depth: usize,
    key: &F,
    heads: &mut Vec<(Head, u32)>,
    scratch: &mut Vec<T>,
    runs: &mut Vec<(usize, usize)>,
) {
    if items.len() <= SMALL || depth >= MAX_DEPTH {
        items.sort_unstable_by(|a, b| tail(key(a), depth).cmp(tail(key(b), depth)));
        return;
    }
    heads.clear();
    heads.extend(
        items
            .iter()
            .enumerate()
            .map(|(i, t)| (head(tail(key(t), depth)), i as u32)),
    );
    heads.sort_unstable();
    scratch.clear();
    scratch.extend(heads.iter().map(|&(_, i)| items[i as usize]));
    items.copy_from_slice(scratch);
    // Runs of keys equal in the head that all go on past it are sorted by what follows. They
    // are listed after the runs of the levels above, which stay until those levels are done.
    let base = runs.len();
    let mut start = 0;
    for i in 1..=heads.len() {
        if i == heads.len() || heads[i].0 != heads[start].0 {
            if heads[start].0 .1 == 9 && i - start > 1 {
                runs.push((start, i));
            }
            start = i;
        }
    }
    for r in base..runs.len() {
        let (from, to) = runs[r];
        sort_at(&mut items[from..to], depth + 8, key, heads, scratch, runs);
    }
    runs.truncate(base);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(keys: Vec<Vec<u8>>) {
        let mut expected = keys.clone();
        expected.sort();
        let mut refs: Vec<&Vec<u8>> = keys.iter().collect();
        sort_by_bytes(&mut refs, |k| k.as_slice());
        let got: Vec<Vec<u8>> = refs.into_iter().cloned().collect();
        assert_eq!(got, expected);
    }

    /// A deterministic stream of pseudo-random numbers (xorshift).
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn keys_that_are_prefixes_of_others_and_zero_bytes_sort_as_slices_do() {
        // The zero padding of a word must not make "a" equal "a\0" or put "a\0" before "a".
        let mut keys = Vec::new();
        for len in 0..20 {
            keys.push(vec![0u8; len]);
            keys.push(vec![b'a'; len]);
            let mut k = vec![b'a'; len];
            k.push(0);
            keys.push(k);
            keys.push(vec![0xff; len]);
        }
        keys.extend(keys.clone()); // duplicates
        check(keys);
    }

    #[test]
    fn map_entries_with_long_shared_prefixes_sort_as_slices_do() {
        // The shape of a join's state: [key group][row of the join key][row of the user key],
        // many maps of a few entries, user keys sharing a long prefix of their own.
        let mut next = rng(7);
        let mut keys = Vec::new();
        for m in 0..2_000u64 {
            let mut prefix = vec![(m % 3) as u8, 0, 0, 0, 0, 24];
            prefix.extend_from_slice(&[0u8; 8]);
            prefix.extend_from_slice(&(m * 7919 % 1000).to_be_bytes());
            for _ in 0..(next() % 12) {
                let mut k = prefix.clone();
                k.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
                let len = (next() % 40) as usize;
                k.extend((0..len).map(|_| (next() % 3) as u8));
                keys.push(k);
            }
        }
        check(keys);
    }

    #[test]
    fn random_keys_of_any_length_sort_as_slices_do() {
        let mut next = rng(42);
        for round in 0..50 {
            let n = (next() % 300) as usize;
            let alphabet = 1 + round % 4;
            let keys = (0..n)
                .map(|_| {
                    let len = (next() % 80) as usize;
                    (0..len)
                        .map(|_| (next() % alphabet as u64) as u8 * 0x55)
                        .collect()
                })
                .collect();
            check(keys);
        }
    }

    #[test]
    fn sort_within_sorts_with_and_without_room_for_its_arrays() {
        let mut next = rng(11);
        let keys: Vec<Vec<u8>> = (0..500)
            .map(|_| (0..(next() % 40)).map(|_| (next() % 4) as u8).collect())
            .collect();
        let mut expected = keys.clone();
        expected.sort();
        for room in [0, 500 * 24 - 1, 500 * 24, usize::MAX] {
            let mut refs: Vec<&Vec<u8>> = keys.iter().collect();
            sort_within(&mut refs, |k| k.as_slice(), room);
            let got: Vec<Vec<u8>> = refs.into_iter().cloned().collect();
            assert_eq!(got, expected, "room {room}");
        }
    }

    #[test]
    fn keys_equal_far_past_the_depth_limit_sort_as_slices_do() {
        let mut next = rng(3);
        let keys = (0..200)
            .map(|_| {
                let mut k = vec![9u8; MAX_DEPTH + 100];
                k.extend((0..(next() % 5)).map(|_| (next() % 2) as u8));
                k
            })
            .collect();
        check(keys);
    }
}
