//! Every store operation against a model, with a budget small enough that the hot tier
//! writes back and evicts all the time.

mod common;

use common::{get, key, store};
use ferrostate_engine::list;
use ferrostate_engine::store::Read;
use ferrostate_engine::{ScanStart, StateKind};
use std::collections::BTreeMap;

/// A tiny deterministic generator (xorshift), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn values_match_a_model_under_eviction() {
    // 16 MiB is the smallest budget; 100k entries of ~100 bytes overflow its hot share.
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = Rng(7);
    for i in 0..300_000u32 {
        let k = key((rng.next() % 128) as u8, (rng.next() % 100_000) as u32);
        match rng.next() % 5 {
            0 => {
                s.delete(st, &k).unwrap();
                model.remove(&k);
            }
            1 | 2 => {
                assert_eq!(get(&mut s, st, &k), model.get(&k).cloned(), "read {i}");
            }
            _ => {
                let v: Vec<u8> = (0..(rng.next() % 120) as usize)
                    .map(|j| (i as usize + j) as u8)
                    .collect();
                s.put(st, &k, &v).unwrap();
                model.insert(k, v);
            }
        }
    }
    assert!(s.stats().evictions > 0, "the hot tier must have evicted");
    for (k, v) in &model {
        assert_eq!(get(&mut s, st, k).as_ref(), Some(v));
    }
    // A full scan returns exactly the model, in key order.
    let mut scanned = Vec::new();
    s.scan(st, &[], ScanStart::First, |k, v| {
        scanned.push((k.to_vec(), v.to_vec()));
        Ok(true)
    })
    .unwrap();
    let expected: Vec<_> = model.into_iter().collect();
    assert_eq!(scanned, expected);
}

#[test]
fn list_appends_merge_without_reads_and_read_back_whole() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("l", StateKind::List).unwrap();
    let k = key(3, 1);
    let mut e = Vec::new();
    list::push_element(&mut e, b"first");
    s.append(st, &k, &e).unwrap();
    s.drop_hot().unwrap();
    let reads = s.stats().rocksdb_reads;
    for i in 0..100u32 {
        let mut e = Vec::new();
        list::push_element(&mut e, &i.to_be_bytes());
        s.append(st, &k, &e).unwrap();
    }
    s.flush_all().unwrap();
    assert_eq!(s.stats().rocksdb_reads, reads, "appends must not read");
    let v = get(&mut s, st, &k).unwrap();
    let elements: Vec<Vec<u8>> = list::elements(&v).map(|e| e.unwrap().to_vec()).collect();
    assert_eq!(elements.len(), 101);
    assert_eq!(elements[0], b"first");
    assert_eq!(elements[100], 99u32.to_be_bytes());
    // A big append goes straight to RocksDB as a merge, after the hot entry is written back.
    let mut big = Vec::new();
    list::push_element(&mut big, &vec![7u8; 4096]);
    s.append(st, &k, &big).unwrap();
    assert_eq!(list::validate(&get(&mut s, st, &k).unwrap()).unwrap(), 102);
}

#[test]
fn prefix_scans_resume_and_delete_prefix_clears_one_map() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    for user in 0..3u32 {
        for uk in 0..500u32 {
            let mut k = key(1, user);
            k.extend_from_slice(&uk.to_be_bytes());
            s.put(st, &k, &[0, uk as u8]).unwrap();
        }
    }
    let prefix = key(1, 1);
    // Read the map of user 1 in batches of 64, resuming after the last key.
    let mut seen = 0;
    let mut last: Option<Vec<u8>> = None;
    loop {
        let mut batch = Vec::new();
        let start = match &last {
            Some(k) => ScanStart::At {
                key: k,
                exclusive: true,
            },
            None => ScanStart::First,
        };
        s.scan(st, &prefix, start, |k, _| {
            batch.push(k.to_vec());
            Ok(batch.len() < 64)
        })
        .unwrap();
        if batch.is_empty() {
            break;
        }
        seen += batch.len();
        last = batch.last().cloned();
    }
    assert_eq!(seen, 500);
    // Every prefix scan reads RocksDB and counts: 8 batches and the empty one that ends them.
    assert_eq!(s.stats().rocksdb_scans, 9);
    s.delete_prefix(st, &prefix).unwrap();
    assert_eq!(
        s.scan(st, &prefix, ScanStart::First, |_, _| Ok(true))
            .unwrap(),
        0
    );
    assert_eq!(s.count(st).unwrap(), 1000);
    let mut other = key(1, 2);
    other.extend_from_slice(&7u32.to_be_bytes());
    assert_eq!(get(&mut s, st, &other), Some(vec![0, 7]));
}

#[test]
fn large_and_empty_values_round_trip() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    let big: Vec<u8> = (0..(10 << 20)).map(|i| (i * 31) as u8).collect();
    s.put(st, &key(0, 1), &big).unwrap();
    s.put(st, &key(0, 2), &[]).unwrap();
    assert_eq!(get(&mut s, st, &key(0, 1)), Some(big.clone()));
    assert_eq!(get(&mut s, st, &key(0, 2)), Some(vec![]));
    s.drop_hot().unwrap();
    assert_eq!(get(&mut s, st, &key(0, 1)), Some(big));
    assert_eq!(get(&mut s, st, &key(0, 2)), Some(vec![]));
}

#[test]
fn states_are_isolated_and_unknown_ids_are_errors() {
    let (_dir, mut s) = store(16 << 20);
    let a = s.register_state("a", StateKind::Value).unwrap();
    let b = s.register_state("b", StateKind::Value).unwrap();
    assert_eq!(s.register_state("a", StateKind::Value).unwrap(), a);
    assert!(s.register_state("a", StateKind::List).is_err());
    s.put(a, &key(0, 1), b"in a").unwrap();
    assert_eq!(get(&mut s, b, &key(0, 1)), None);
    assert!(s.get(99, &key(0, 1), |_| ()).is_err());
    assert!(s.put(99, &key(0, 1), b"x").is_err());
}

#[test]
fn a_reopened_store_has_everything_written_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = ferrostate_engine::Store::open(ferrostate_engine::StoreOptions::new(
            dir.path(),
            16 << 20,
        ))
        .unwrap();
        let st = s.register_state("v", StateKind::Value).unwrap();
        for i in 0..1000u32 {
            s.put(st, &key((i % 128) as u8, i), &i.to_le_bytes())
                .unwrap();
        }
        s.flush_all().unwrap();
    }
    let mut s =
        ferrostate_engine::Store::open(ferrostate_engine::StoreOptions::new(dir.path(), 16 << 20))
            .unwrap();
    assert_eq!(s.state_names(), vec!["v".to_string()]);
    let st = s.register_state("v", StateKind::Value).unwrap();
    for i in 0..1000u32 {
        assert_eq!(
            get(&mut s, st, &key((i % 128) as u8, i)),
            Some(i.to_le_bytes().to_vec())
        );
    }
}

#[test]
fn map_scans_see_their_own_dirty_entries_among_other_maps_dirty_ones() {
    let (_dir, mut s) = store(64 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let prefix_len = key(1, 0).len();
    let entry = |user: u32, uk: u32| {
        let mut k = key(1, user);
        k.extend_from_slice(&uk.to_be_bytes());
        k
    };
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = Rng(11);
    for round in 0..20u32 {
        for _ in 0..2_000 {
            let (user, uk) = ((rng.next() % 50) as u32, (rng.next() % 40) as u32);
            let k = entry(user, uk);
            if rng.next().is_multiple_of(5) {
                s.delete_entry(st, &k, prefix_len).unwrap();
                model.remove(&k);
            } else {
                let v = vec![round as u8; 1 + (rng.next() % 8) as usize];
                s.put_entry(st, &k, prefix_len, &v).unwrap();
                model.insert(k, v);
            }
        }
        for user in (round % 7..50).step_by(7) {
            let prefix = key(1, user);
            let mut got = Vec::new();
            s.scan_map(st, &prefix, ScanStart::First, |k, v| {
                got.push((k.to_vec(), v.to_vec()));
                Ok(true)
            })
            .unwrap();
            let want: Vec<_> = model
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(got, want, "map of user {user} in round {round}");
        }
    }
    // Every map, also those never iterated, reads back exactly after all is written back.
    s.flush_all().unwrap();
    assert_eq!(s.count(st).unwrap(), model.len());
}

#[test]
fn a_fresh_state_answers_from_the_hot_tier_until_rocksdb_holds_some_of_it() {
    let (dir, mut s) = store(64 << 20);
    let st = s.register_state("l", StateKind::List).unwrap();
    let mut e = Vec::new();
    list::push_element(&mut e, b"a");
    for i in 0..1000u32 {
        s.append(st, &key(1, i), &e).unwrap();
    }
    // Nothing of the state is in RocksDB yet: misses and first appends need no read.
    assert!(s.is_in_memory(st).unwrap());
    assert_eq!(get(&mut s, st, &key(2, 0)), None);
    assert_eq!(get(&mut s, st, &key(1, 7)), Some(e.clone()));
    assert_eq!(s.stats().rocksdb_reads, 0);
    // Compaction writes everything back; without a TTL the hot tier keeps serving it.
    s.compact(st).unwrap();
    assert_eq!(get(&mut s, st, &key(1, 8)), Some(e.clone()));
    assert_eq!(s.stats().rocksdb_reads, 0);
    // Now RocksDB holds the state: a miss must read it, and an append to a key the hot tier
    // dropped must not replace what RocksDB holds.
    assert!(s.is_in_memory(st).unwrap());
    s.drop_hot().unwrap();
    assert!(!s.is_in_memory(st).unwrap());
    s.append(st, &key(1, 9), &e).unwrap();
    let whole = get(&mut s, st, &key(1, 9)).unwrap();
    assert_eq!(list::validate(&whole).unwrap(), 2);
    assert!(s.stats().rocksdb_reads > 0);
    assert_eq!(get(&mut s, st, &key(2, 0)), None);
    // A state found in the store's directory (a restore) is never fresh.
    s.flush_all().unwrap();
    drop(s);
    let memory = ferrostate_engine::SharedMemory::new(64 << 20, 0.5, 0.25);
    let mut s = common::store_in(&dir.path().join("db"), memory);
    let st = s.register_state("l", StateKind::List).unwrap();
    assert!(!s.is_in_memory(st).unwrap());
    s.append(st, &key(1, 10), &e).unwrap();
    assert_eq!(
        list::validate(&get(&mut s, st, &key(1, 10)).unwrap()).unwrap(),
        2
    );
}

#[test]
fn a_complete_state_is_never_read_from_rocksdb_until_an_entry_leaves_the_hot_tier() {
    let (_dir, mut s) = store(64 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let prefix = |m: u32| key(1, m);
    let entry = |m: u32, e: u32| {
        let mut k = prefix(m);
        k.extend_from_slice(&e.to_be_bytes());
        k
    };
    for m in 0..50u32 {
        for e in 0..20u32 {
            s.put_entry(st, &entry(m, e), prefix(m).len(), &[e as u8])
                .unwrap();
        }
    }
    // Written back (as for a checkpoint), the entries stay in the hot tier, clean.
    s.flush_all().unwrap();
    s.delete_entry(st, &entry(3, 5), prefix(3).len()).unwrap();
    s.put_entry(st, &entry(3, 99), prefix(3).len(), b"x")
        .unwrap();
    // Removing what never existed is a no-op, not a tombstone.
    s.delete_entry(st, &entry(7, 1000), prefix(7).len())
        .unwrap();
    let m3 = scan_map_all(&mut s, st, &prefix(3), 7);
    assert_eq!(m3.len(), 20);
    assert!(m3.iter().all(|(k, _)| k != &entry(3, 5)));
    assert_eq!(m3.last().unwrap().1, b"x".to_vec());
    assert_eq!(get(&mut s, st, &entry(60, 0)), None, "a miss is an answer");
    assert!(!s.is_map_empty(st, &prefix(4)).unwrap());
    assert!(s.is_map_empty(st, &prefix(60)).unwrap());
    // Clearing a map marks its entries removed; written back, they leave RocksDB too.
    s.delete_prefix(st, &prefix(4)).unwrap();
    assert!(s.is_map_empty(st, &prefix(4)).unwrap());
    s.flush_all().unwrap();
    assert_eq!(s.stats().rocksdb_reads, 0);
    assert_eq!(s.stats().rocksdb_scans, 0);
    assert_eq!(s.count(st).unwrap(), 50 * 20 - 20);
    // Once the hot tier dropped entries, RocksDB is the authority again, with the same answers.
    s.drop_hot().unwrap();
    assert_eq!(scan_map_all(&mut s, st, &prefix(3), 7), m3);
    assert!(s.is_map_empty(st, &prefix(4)).unwrap());
    assert_eq!(get(&mut s, st, &entry(9, 9)), Some(vec![9]));
    assert!(s.stats().rocksdb_reads > 0 && s.stats().rocksdb_scans > 0);
}

#[test]
fn a_batch_of_map_entries_is_written_as_one_call_and_a_damaged_one_is_an_error() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let prefix = key(1, 5);
    let mut batch = Vec::new();
    for (k, v) in [(&b"a"[..], &b"1"[..]), (b"bb", b""), (b"c", b"333")] {
        batch.extend_from_slice(&(k.len() as u32).to_be_bytes());
        batch.extend_from_slice(k);
        batch.extend_from_slice(&(v.len() as u32).to_be_bytes());
        batch.extend_from_slice(v);
    }
    assert_eq!(s.put_entries(st, &prefix, &batch).unwrap(), 3);
    let all = scan_map_all(&mut s, st, &prefix, 2);
    let values: Vec<_> = all.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(values, vec![b"1".to_vec(), vec![], b"333".to_vec()]);
    assert_eq!(all[1].0, key_with(&prefix, b"bb"));
    for cut in [1, 5, 7, batch.len() - 1] {
        let err = s.put_entries(st, &prefix, &batch[..cut]).unwrap_err();
        assert!(err.to_string().contains("map entry batch"), "{err}");
    }
    let mut huge = batch.clone();
    huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(s.put_entries(st, &prefix, &huge).is_err());
}

/// A `putAll` batch of `entries` (user key, value), as `FerroMapState#putAll` writes it.
fn entry_batch(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut batch = Vec::new();
    for (k, v) in entries {
        batch.extend_from_slice(&(k.len() as u32).to_be_bytes());
        batch.extend_from_slice(k);
        batch.extend_from_slice(&(v.len() as u32).to_be_bytes());
        batch.extend_from_slice(v);
    }
    batch
}

#[test]
fn a_long_batch_of_map_entries_is_written_whole_and_up_to_its_damage() {
    // Longer than the 16 entries put_entries brings into the caches at once, with a user key
    // given twice (the later value wins, as with two puts) and values the hot tier keeps and
    // one it does not (over its largest hot value).
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let prefix = key(2, 9);
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = (0..40u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![i as u8; 1 + i as usize % 5]))
        .collect();
    entries[21] = (7u32.to_be_bytes().to_vec(), b"again".to_vec());
    entries[30].1 = vec![3; 70 * 1024];
    assert_eq!(
        s.put_entries(st, &prefix, &entry_batch(&entries)).unwrap(),
        40
    );
    let mut model = BTreeMap::new();
    for (k, v) in &entries {
        model.insert(key_with(&prefix, k), v.clone());
    }
    assert_eq!(
        model[&key_with(&prefix, &7u32.to_be_bytes())],
        b"again".to_vec()
    );
    let all: BTreeMap<_, _> = scan_map_all(&mut s, st, &prefix, 7).into_iter().collect();
    assert_eq!(all, model);
    for (k, v) in &model {
        assert_eq!(get(&mut s, st, k).as_ref(), Some(v));
    }

    // Damage in the second group of 16: the 20 entries before it stay written, none after.
    let other = key(3, 9);
    let fresh: Vec<(Vec<u8>, Vec<u8>)> = (0..40u32)
        .map(|i| (i.to_be_bytes().to_vec(), vec![9, i as u8]))
        .collect();
    let mut batch = entry_batch(&fresh[..20]);
    let whole = batch.len();
    batch.extend_from_slice(&entry_batch(&fresh[20..]));
    batch[whole..whole + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = s.put_entries(st, &other, &batch).unwrap_err();
    assert!(err.to_string().contains("map entry batch"), "{err}");
    let written = scan_map_all(&mut s, st, &other, 5);
    let expected: Vec<_> = fresh[..20]
        .iter()
        .map(|(k, v)| (key_with(&other, k), v.clone()))
        .collect();
    assert_eq!(written, expected);
}

/// Every entry of one map, read in batches of `batch` entries as the JNI iterator does.
fn scan_map_all(
    s: &mut ferrostate_engine::Store,
    st: u32,
    prefix: &[u8],
    batch: usize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    loop {
        let last = all.last().map(|(k, _)| k.clone());
        let start = match &last {
            Some(k) => ScanStart::At {
                key: k,
                exclusive: true,
            },
            None => ScanStart::First,
        };
        let mut got = Vec::new();
        s.scan_map(st, prefix, start, |k, v| {
            got.push((k.to_vec(), v.to_vec()));
            Ok(got.len() < batch)
        })
        .unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

#[test]
fn map_scans_merge_hot_changes_with_rocksdb_and_match_a_model() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = Rng(11);
    let maps = 40u32;
    for i in 0..60_000u32 {
        let m = (rng.next() % maps as u64) as u32;
        let prefix = key(2, m);
        let mut k = prefix.clone();
        k.extend_from_slice(&((rng.next() % 50) as u16).to_be_bytes());
        match rng.next() % 10 {
            0..=4 => {
                let v = vec![i as u8; (rng.next() % 40) as usize];
                s.put_entry(st, &k, prefix.len(), &v).unwrap();
                model.insert(k, v);
            }
            5 | 6 => {
                s.delete_entry(st, &k, prefix.len()).unwrap();
                model.remove(&k);
            }
            7 => {
                // Interleave write-backs (a checkpoint) and dropped hot entries (eviction), so
                // scans meet every mix of stored, changed, removed and re-added entries.
                match rng.next() % 20 {
                    0 => s.flush_all().unwrap(),
                    1 => s.drop_hot().unwrap(),
                    _ => {}
                }
            }
            _ => {
                let batch = 1 + (rng.next() % 7) as usize;
                let expected: Vec<_> = model
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(
                    scan_map_all(&mut s, st, &prefix, batch),
                    expected,
                    "scan {i}"
                );
                assert_eq!(s.is_map_empty(st, &prefix).unwrap(), expected.is_empty());
            }
        }
    }
}

#[test]
fn scanning_a_map_with_few_changes_writes_nothing_back() {
    let (_dir, mut s) = store(64 << 20);
    let st = s.register_state("m", StateKind::Map).unwrap();
    let prefix = key(1, 1);
    for uk in 0..10u8 {
        let mut k = prefix.clone();
        k.push(uk);
        s.put_entry(st, &k, prefix.len(), &[uk]).unwrap();
    }
    s.flush_all().unwrap();
    let mut k = prefix.clone();
    k.push(3);
    s.delete_entry(st, &k, prefix.len()).unwrap();
    k.push(0);
    s.put_entry(st, &k, prefix.len(), b"new").unwrap();
    let writes = s.stats().rocksdb_writes;
    let all = scan_map_all(&mut s, st, &prefix, 4);
    assert_eq!(all.len(), 10);
    assert!(all.iter().all(|(k, _)| k != &key_with(&prefix, &[3])));
    assert!(all.contains(&(key_with(&prefix, &[3, 0]), b"new".to_vec())));
    assert_eq!(
        s.stats().rocksdb_writes,
        writes,
        "a scan must not write back"
    );
}

fn key_with(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(tail);
    k
}

/// What `get_many` answered, owned.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Answer {
    Found(Vec<u8>),
    Absent,
    NotHot,
}

fn get_many(
    s: &mut ferrostate_engine::Store,
    reqs: &[(u32, Vec<u8>)],
    hot_only: bool,
) -> Vec<Answer> {
    let borrowed: Vec<(u32, &[u8])> = reqs.iter().map(|(st, k)| (*st, k.as_slice())).collect();
    let mut out = Vec::new();
    s.get_many(&borrowed, hot_only, |read| {
        out.push(match read {
            Read::Found(v) => Answer::Found(v.to_vec()),
            Read::Absent => Answer::Absent,
            Read::NotHot => Answer::NotHot,
        });
        true
    })
    .unwrap();
    out
}

#[test]
fn batched_reads_answer_as_single_reads_do_hot_ones_first() {
    let (_dir, mut s) = store(16 << 20);
    let values = s.register_state("v", StateKind::Value).unwrap();
    let lists = s.register_state("l", StateKind::List).unwrap();
    let mut rng = Rng(11);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for i in 0..20_000u32 {
        let k = key((i % 64) as u8, i);
        let v = vec![(rng.next() % 251) as u8; (rng.next() % 60) as usize];
        s.put(values, &k, &v).unwrap();
        model.insert(k, v);
    }
    let mut e = Vec::new();
    list::push_element(&mut e, b"stored");
    s.append(lists, &key(1, 1), &e).unwrap();
    // Everything to RocksDB and out of the hot tier; then some keys back in it, a list append
    // waiting for its stored part, and a deletion only the hot tier knows of.
    s.drop_hot().unwrap();
    for i in (0..20_000u32).step_by(7) {
        assert_eq!(
            get(&mut s, values, &key((i % 64) as u8, i)),
            model.get(&key((i % 64) as u8, i)).cloned()
        );
    }
    let mut more = Vec::new();
    list::push_element(&mut more, b"appended");
    s.append(lists, &key(1, 1), &more).unwrap();
    s.delete(values, &key(3, 3)).unwrap();
    model.remove(&key(3, 3));

    let mut reqs: Vec<(u32, Vec<u8>)> = Vec::new();
    for _ in 0..500 {
        let i = (rng.next() % 21_000) as u32;
        reqs.push((values, key((i % 64) as u8, i)));
    }
    reqs.push((values, key(3, 3)));
    reqs.push((lists, key(1, 1)));
    reqs.push((lists, key(1, 2)));
    // The same key twice: the second answer sees what the first read kept.
    reqs.push((values, key(5, 5)));
    reqs.push((values, key(5, 5)));
    let expected: Vec<Answer> = reqs
        .iter()
        .map(|(st, k)| {
            if *st == lists {
                match k.as_slice() {
                    x if x == key(1, 1).as_slice() => {
                        let mut whole = e.clone();
                        whole.extend_from_slice(&more);
                        Answer::Found(whole)
                    }
                    _ => Answer::Absent,
                }
            } else {
                model
                    .get(k)
                    .map_or(Answer::Absent, |v| Answer::Found(v.clone()))
            }
        })
        .collect();

    let reads = s.stats().rocksdb_reads;
    let hot = get_many(&mut s, &reqs, true);
    assert_eq!(
        s.stats().rocksdb_reads,
        reads,
        "hot-only reads never touch RocksDB"
    );
    let mut not_hot = 0;
    for (h, want) in hot.iter().zip(&expected) {
        if *h == Answer::NotHot {
            not_hot += 1;
        } else {
            assert_eq!(h, want);
        }
    }
    assert!(
        not_hot > 100 && not_hot < reqs.len(),
        "{not_hot} of {} not hot",
        reqs.len()
    );
    assert_eq!(
        hot[501],
        Answer::NotHot,
        "an append waits for its stored part"
    );

    let all = get_many(&mut s, &reqs, false);
    assert_eq!(all, expected);
    assert!(s.stats().rocksdb_reads > reads);
    // Read once, now all hot.
    assert!(get_many(&mut s, &reqs, true)
        .iter()
        .all(|a| *a != Answer::NotHot));
    assert_eq!(get_many(&mut s, &reqs, false), expected);

    // A sink that stops: only what it took is answered; an unknown state is an error.
    let borrowed: Vec<(u32, &[u8])> = reqs.iter().map(|(st, k)| (*st, k.as_slice())).collect();
    for hot_only in [false, true] {
        let mut taken = 0;
        s.get_many(&borrowed, hot_only, |_| {
            taken += 1;
            taken < 20
        })
        .unwrap();
        assert_eq!(taken, 20, "hot only: {hot_only}");
        assert!(s.get_many(&[(99, &b"k"[..])], hot_only, |_| true).is_err());
    }
}

/// Warming a run of keys (what a multi-put does before its writes) reads nothing from RocksDB,
/// counts no hit, changes no answer, and skips a state it does not know.
#[test]
fn warming_keys_changes_nothing() {
    let (_dir, mut s) = store(1 << 20);
    let values = s.register_state("v", StateKind::Value).unwrap();
    for i in 0..5_000u32 {
        s.put(values, &key((i % 16) as u8, i), &i.to_be_bytes())
            .unwrap();
    }
    s.drop_hot().unwrap();
    assert_eq!(
        get(&mut s, values, &key(1, 1)),
        Some(1u32.to_be_bytes().to_vec())
    );
    let before = s.stats();
    let keys: Vec<Vec<u8>> = (0..40u32).map(|i| key((i % 16) as u8, i)).collect();
    s.warm(keys.iter().map(|k| (values, k.as_slice())));
    s.warm([(99, &b"unknown state"[..])]);
    let after = s.stats();
    assert_eq!(after.rocksdb_reads, before.rocksdb_reads);
    assert_eq!(after.hot_hits, before.hot_hits);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            get(&mut s, values, k),
            Some((i as u32).to_be_bytes().to_vec())
        );
    }
}

#[test]
fn gauges_follow_the_hot_tier_and_rocksdb() {
    let (_dir, mut s) = store(16 << 20);
    let a = s.register_state("a", StateKind::Value).unwrap();
    let b = s.register_state("b", StateKind::Value).unwrap();
    let empty = s.gauges().unwrap();
    assert_eq!(
        (
            empty.hot_entries,
            empty.live_sst_bytes,
            empty.estimated_keys
        ),
        (0, 0, 0)
    );
    for i in 0..1000u32 {
        s.put(a, &key(1, i), b"value").unwrap();
        s.put(b, &key(2, i), b"other").unwrap();
    }
    let g = s.gauges().unwrap();
    assert_eq!(g.hot_entries, 2000);
    assert_eq!(g.hot_dirty_entries, 2000);
    assert_eq!(g.live_sst_bytes, 0);
    s.flush_all().unwrap();
    let g = s.gauges().unwrap();
    assert_eq!(g.hot_dirty_entries, 0, "written back");
    assert!(
        g.memtable_bytes > 0,
        "in the memtables of both states: {g:?}"
    );
    s.compact(a).unwrap();
    s.compact(b).unwrap();
    let g = s.gauges().unwrap();
    assert!(g.live_sst_bytes > 0, "{g:?}");
    assert!(g.estimated_keys >= 1000, "{g:?}");
}

#[test]
fn an_open_store_preallocates_little_on_disk() {
    // RocksDB preallocates 4 MiB for a new MANIFEST by default, and on tmpfs (where Flink's
    // local directories sometimes are) a preallocated page is memory. An empty store with three
    // states holds about 180 KiB (its info LOG, two OPTIONS files, a 64 KiB MANIFEST). Where the
    // file system cannot preallocate, blocks are only what was written and this holds trivially.
    use std::os::unix::fs::MetadataExt;
    let (dir, mut s) = store(16 << 20);
    for (name, kind) in [
        ("v", StateKind::Value),
        ("l", StateKind::List),
        ("m", StateKind::Map),
    ] {
        s.register_state(name, kind).unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name(), e.metadata().unwrap().blocks() * 512))
        .collect();
    let allocated: u64 = files.iter().map(|(_, b)| b).sum();
    assert!(
        allocated <= 512 << 10,
        "{allocated} bytes on disk: {files:?}"
    );
}
