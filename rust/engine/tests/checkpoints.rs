//! Checkpoints of states with many dirty entries, whose write-back goes into an SST file that
//! RocksDB ingests (`INGEST_MIN_DIRTY`), against a model: every kind of write (puts, deletes of
//! keys RocksDB holds, list appends RocksDB must merge, map entries), restored exactly; and a
//! checkpoint whose write-back fails loses nothing; keys written and removed between two
//! checkpoints reach neither RocksDB nor the checkpoint.

mod common;

use common::{get, key};
use ferrostate_engine::store::INGEST_MIN_DIRTY;
use ferrostate_engine::{fault, list, StateKind, Store, StoreOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// The fault switch is global to the process: the tests of this file take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const N: u32 = 3 * INGEST_MIN_DIRTY as u32;

#[derive(Default)]
struct Model {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    lists: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    maps: BTreeMap<Vec<u8>, Vec<u8>>,
}

fn open(path: &Path) -> (Store, [u32; 3]) {
    let mut s = Store::open(StoreOptions::new(path, 256 << 20)).unwrap();
    let v = s.register_state("v", StateKind::Value).unwrap();
    let l = s.register_state("l", StateKind::List).unwrap();
    let m = s.register_state("m", StateKind::Map).unwrap();
    (s, [v, l, m])
}

fn entry_key(i: u32) -> Vec<u8> {
    let mut k = key((i % 128) as u8, i / 16);
    k.extend_from_slice(&i.to_be_bytes());
    k
}

fn elements(of: &[Vec<u8>]) -> Vec<u8> {
    let mut e = Vec::new();
    for x in of {
        list::push_element(&mut e, x);
    }
    e
}

/// One round of writes to every state, recorded in `model`.
fn write_round(s: &mut Store, ids: [u32; 3], round: u32, model: &mut Model) {
    let [v, l, m] = ids;
    for i in 0..N {
        let k = key((i % 128) as u8, i);
        if round > 0 && i % 5 == 0 {
            s.delete(v, &k).unwrap();
            model.values.remove(&k);
        } else if round == 0 || i % 3 == 0 {
            let val = format!("value {i} of round {round} {:>120}", "").into_bytes();
            s.put(v, &k, &val).unwrap();
            model.values.insert(k.clone(), val);
        }
        let el = vec![format!("{i}/{round} {:>120}", "").into_bytes(); 1 + (i % 2) as usize];
        s.append(l, &k, &elements(&el)).unwrap();
        model.lists.entry(k).or_default().extend(el);
        let ek = entry_key(i);
        if round > 0 && i % 4 == 0 {
            s.delete_entry(m, &ek, 6).unwrap();
            model.maps.remove(&ek);
        } else {
            let val = format!("entry {i} of round {round} {:>120}", "").into_bytes();
            s.put_entry(m, &ek, 6, &val).unwrap();
            model.maps.insert(ek, val);
        }
    }
}

fn assert_matches(s: &mut Store, ids: [u32; 3], model: &Model) {
    let [v, l, m] = ids;
    for i in 0..N {
        let k = key((i % 128) as u8, i);
        assert_eq!(get(s, v, &k), model.values.get(&k).cloned(), "value {i}");
        let want = model.lists.get(&k).map(|e| elements(e));
        assert_eq!(get(s, l, &k), want, "list {i}");
        let ek = entry_key(i);
        assert_eq!(get(s, m, &ek), model.maps.get(&ek).cloned(), "entry {i}");
    }
    assert_eq!(s.count(v).unwrap(), model.values.len());
    assert_eq!(s.count(m).unwrap(), model.maps.len());
}

/// A fresh store with one round of writes in every state, all of them dirty, and its model.
fn written_store() -> (tempfile::TempDir, Store, Model) {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    let (mut s, ids) = open(&dir.path().join("db"));
    write_round(&mut s, ids, 0, &mut model);
    (dir, s, model)
}

#[test]
fn many_dirty_entries_are_ingested_and_restore_exactly() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, mut s, mut model) = written_store();
    let first = dir.path().join("cp-1");
    let writes = s.stats().rocksdb_writes;
    s.checkpoint(&first).unwrap();
    // One ingested file per state; write batches of 1 MiB would have taken more writes
    // (every state holds more than 1 MiB).
    assert_eq!(s.stats().rocksdb_writes - writes, 3);
    assert!(!dir.path().join("db").join("write-back.sst.tmp").exists());
    drop(s);

    // Restored, the store no longer holds the whole state in its hot tier: deletes must reach
    // RocksDB as tombstones and appends as merges of what RocksDB holds.
    let (mut s, ids) = open(&first);
    assert_matches(&mut s, ids, &model);
    s.drop_hot().unwrap();
    write_round(&mut s, ids, 1, &mut model);
    let second = dir.path().join("cp-2");
    s.checkpoint(&second).unwrap();
    assert_matches(&mut s, ids, &model);
    drop(s);
    let (mut s, ids) = open(&second);
    assert_matches(&mut s, ids, &model);
}

#[test]
fn a_failed_ingesting_checkpoint_keeps_every_entry_dirty() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, mut s, model) = written_store();
    fault::set_fail_writes(true);
    let failed = s.checkpoint(&dir.path().join("cp-failed"));
    fault::set_fail_writes(false);
    assert!(failed.is_err());
    assert!(!dir.path().join("db").join("write-back.sst.tmp").exists());
    let cp = dir.path().join("cp");
    s.checkpoint(&cp).unwrap();
    drop(s);
    let (mut s, ids) = open(&cp);
    assert_matches(&mut s, ids, &model);
}

/// Bytes of the SST files in `dir`.
fn sst_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// Keys written and removed between two checkpoints (a session window's map entry replaced at
/// every event, a window's accumulator cleared when it fires) reach neither RocksDB nor the
/// checkpoint: after 24 such keys per key on top of the state that survives, a checkpoint
/// holds what one of that state alone holds, and restores it exactly. Keys RocksDB holds still
/// get their tombstones (see `many_dirty_entries_are_ingested_and_restore_exactly`).
#[test]
fn keys_removed_before_they_are_written_back_cost_the_checkpoint_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = |churn: u32| {
        let (mut s, [v, _, m]) = open(&dir.path().join(format!("db-{churn}")));
        for i in 0..N {
            let k = key((i % 128) as u8, i);
            let mut entry = k.clone();
            for round in 0..churn {
                entry.truncate(k.len());
                entry.extend_from_slice(format!("window {round}").as_bytes());
                s.put_entry(m, &entry, k.len(), b"a short-lived window")
                    .unwrap();
                s.delete_entry(m, &entry, k.len()).unwrap();
                s.put(v, &k, format!("accumulator {round}").as_bytes())
                    .unwrap();
                s.delete(v, &k).unwrap();
            }
            entry.truncate(k.len());
            entry.extend_from_slice(b"live");
            s.put_entry(m, &entry, k.len(), format!("entry {i}").as_bytes())
                .unwrap();
            if i % 2 == 0 {
                s.put(v, &k, format!("value {i}").as_bytes()).unwrap();
            }
        }
        let cp = dir.path().join(format!("cp-{churn}"));
        s.checkpoint(&cp).unwrap();
        drop(s);
        let (mut s, [v, _, m]) = open(&cp);
        assert_eq!(s.count(m).unwrap(), N as usize);
        assert_eq!(s.count(v).unwrap(), N as usize / 2);
        for i in (0..N).step_by(97) {
            let mut k = key((i % 128) as u8, i);
            let want = (i % 2 == 0).then(|| format!("value {i}").into_bytes());
            assert_eq!(get(&mut s, v, &k), want);
            k.extend_from_slice(b"live");
            assert_eq!(get(&mut s, m, &k), Some(format!("entry {i}").into_bytes()));
        }
        sst_bytes(&cp)
    };
    let plain = checkpoint(0);
    let churned = checkpoint(24);
    assert!(
        churned <= plain + plain / 20,
        "{churned} bytes of SST files after the churn, {plain} without it"
    );
}
