//! Key groups: scans are ordered by key group, restores clip foreign key groups, snapshots
//! are read key group by key group, and several snapshots merge into one store.

mod common;

use common::{get, key, store};
use ferrostate_engine::snapshot::{KgCursor, SnapshotReader};
use ferrostate_engine::{keygroup, ScanStart, SharedMemory, StateKind};

#[test]
fn entries_come_out_in_key_group_order() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    for i in 0..2000u32 {
        // Insert in an order unrelated to key groups.
        let kg = ((i * 37) % 128) as u8;
        s.put(st, &key(kg, i), b"x").unwrap();
    }
    let mut last = 0u32;
    s.scan(st, &[], ScanStart::First, |k, _| {
        let kg = keygroup::decode(k, 1)?;
        assert!(kg >= last, "key group {kg} after {last}");
        last = kg;
        Ok(true)
    })
    .unwrap();
}

#[test]
fn two_byte_prefixes_order_and_clip() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    for kg in [0u32, 1, 255, 256, 300, 1000, 32767] {
        let mut k = keygroup::encode(kg, 2).unwrap();
        k.extend_from_slice(b"key");
        s.put(st, &k, b"v").unwrap();
    }
    s.clip_key_groups(2, 255, 300).unwrap();
    let mut kgs = Vec::new();
    s.scan(st, &[], ScanStart::First, |k, _| {
        kgs.push(keygroup::decode(k, 2)?);
        Ok(true)
    })
    .unwrap();
    assert_eq!(kgs, vec![255, 256, 300]);
}

#[test]
fn clipping_drops_foreign_key_groups_without_rewriting() {
    let (_dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    for i in 0..10_000u32 {
        s.put(st, &key((i % 128) as u8, i), &[1u8; 64]).unwrap();
    }
    s.flush_all().unwrap();
    let writes = s.stats().rocksdb_writes;
    s.clip_key_groups(1, 32, 63).unwrap();
    // Range deletions, not one write per dropped entry.
    assert!(s.stats().rocksdb_writes <= writes + 1);
    let expected = (0..10_000u32)
        .filter(|i| (32..=63).contains(&(i % 128)))
        .count();
    assert_eq!(s.count(st).unwrap(), expected);
    assert_eq!(get(&mut s, st, &key(0, 0)), None);
    assert_eq!(get(&mut s, st, &key(32, 32)), Some(vec![1u8; 64]));
    assert!(s.clip_key_groups(1, 10, 5).is_err());
}

#[test]
fn snapshots_read_key_group_by_key_group_and_state_by_state() {
    let (dir, mut s) = store(16 << 20);
    let a = s.register_state("a", StateKind::Value).unwrap();
    let l = s.register_state("l", StateKind::List).unwrap();
    for i in 0..500u32 {
        s.put(a, &key((i % 16) as u8, i), b"v").unwrap();
        let mut e = Vec::new();
        ferrostate_engine::list::push_element(&mut e, b"x");
        ferrostate_engine::list::push_element(&mut e, b"yz");
        s.append(l, &key((i % 16) as u8, i), &e).unwrap();
    }
    let snap = dir.path().join("snap");
    s.checkpoint(&snap).unwrap();
    // Writes after the snapshot do not show in it.
    s.put(a, &key(0, 9999), b"later").unwrap();

    let memory = SharedMemory::new(16 << 20, 0.0, 0.25);
    let mut reader = SnapshotReader::open(&snap, &memory).unwrap();
    let states = vec![
        ("a".to_string(), StateKind::Value),
        ("l".to_string(), StateKind::List),
    ];
    let mut cursor = KgCursor {
        kg: 0,
        ..KgCursor::default()
    };
    let mut seen: Vec<(u32, usize)> = Vec::new();
    let mut lists = 0;
    // Small batches: every batch resumes exactly where the last stopped.
    while !cursor.done {
        let mut n = 0;
        reader
            .scan_key_groups(&states, 1, 15, &mut cursor, |state, k, v| {
                if n == 7 {
                    return Ok(false);
                }
                n += 1;
                seen.push((keygroup::decode(k, 1)?, state));
                if state == 1 {
                    assert_eq!(v, b"x,yz", "lists come out in Flink's delimited format");
                    lists += 1;
                }
                Ok(true)
            })
            .unwrap();
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(lists, 500);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "key group major, then state");
}

#[test]
fn several_snapshots_merge_into_one_store() {
    let (dir, mut left) = store(16 << 20);
    let st = left.register_state("v", StateKind::Value).unwrap();
    for i in 0..64u32 {
        left.put(st, &key(i as u8, i), b"left").unwrap();
    }
    let left_snap = dir.path().join("left");
    left.checkpoint(&left_snap).unwrap();

    let (_d2, mut target) = store(16 << 20);
    let copied = target.import_key_groups(&left_snap, 1, 16, 31).unwrap();
    assert_eq!(copied, 16);
    let st = target.register_state("v", StateKind::Value).unwrap();
    assert_eq!(get(&mut target, st, &key(20, 20)), Some(b"left".to_vec()));
    assert_eq!(get(&mut target, st, &key(40, 40)), None);
}

/// Found with the store_ops fuzz target's model: an import into a store whose hot tier holds
/// entries of the imported key groups (written, deleted, or read) returned those instead of
/// the imported values.
#[test]
fn an_import_replaces_what_the_hot_tier_holds() {
    let (dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    s.put(st, &key(3, 1), b"snapshot").unwrap();
    s.put(st, &key(3, 2), b"snapshot").unwrap();
    s.put(st, &key(3, 3), b"snapshot").unwrap();
    s.put(st, &key(90, 4), b"snapshot").unwrap();
    let snap = dir.path().join("snap");
    s.checkpoint(&snap).unwrap();
    s.put(st, &key(3, 1), b"live").unwrap();
    s.delete(st, &key(3, 2)).unwrap();
    assert_eq!(get(&mut s, st, &key(3, 3)), Some(b"snapshot".to_vec()));
    s.put(st, &key(90, 4), b"live").unwrap();
    assert_eq!(s.import_key_groups(&snap, 1, 0, 63).unwrap(), 3);
    for k in 1..=3 {
        assert_eq!(
            get(&mut s, st, &key(3, k)),
            Some(b"snapshot".to_vec()),
            "key {k}"
        );
    }
    // Key groups outside the imported range keep what the store had.
    assert_eq!(get(&mut s, st, &key(90, 4)), Some(b"live".to_vec()));
}
