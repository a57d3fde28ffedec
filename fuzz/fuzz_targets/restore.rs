//! Restore from a damaged snapshot directory: a real snapshot (the seed corpus holds one,
//! packed by `ferrostate_fuzz::archive`) with its files damaged, truncated, renamed or left out
//! by the fuzzer, run through what a restore does: verify against the manifest, then open with
//! `SnapshotReader` (canonical savepoints, `ferrostate inspect`) and as a `Store` (register the
//! states, clip and import key groups, read, snapshot again). Every step gives a result or an
//! error: never a panic, an abort or a hang.
//!
//! Flags (first byte): 1 writes the manifest again over the damaged files, so the damage gets
//! past verification and reaches RocksDB; 2 fixes the manifest's length and checksum around a
//! damaged payload.
#![no_main]

use ferrostate_engine::snapshot::{self, KgCursor, SnapshotReader, MANIFEST_NAME};
use ferrostate_engine::store::{ScanStart, StateKind, Store, StoreOptions};
use ferrostate_engine::SharedMemory;
use ferrostate_fuzz::archive;
use ferrostate_fuzz::scratch::Scratch;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fn kind_of(name: &str) -> StateKind {
    match name.as_bytes().first() {
        Some(b'l') => StateKind::List,
        Some(b'm') => StateKind::Map,
        _ => StateKind::Value,
    }
}

/// What `inspect` and the canonical savepoint writer do with a snapshot.
fn read(snap: &std::path::Path) {
    let memory = SharedMemory::new(ferrostate_engine::memory::MIN_BUDGET, 0.0, 0.25);
    let Ok(mut reader) = SnapshotReader::open(snap, &memory) else {
        return;
    };
    let _ = reader.stats(1);
    let _ = reader.stats(2);
    let Ok(names) = reader.state_names() else {
        return;
    };
    let states: Vec<(String, StateKind)> = names
        .into_iter()
        .map(|n| {
            let kind = kind_of(&n);
            (n, kind)
        })
        .collect();
    let mut cursor = KgCursor::default();
    let mut budget = 10_000;
    let _ = reader.scan_key_groups(&states, 1, 255, &mut cursor, |_, _, _| {
        budget -= 1;
        Ok(budget > 0)
    });
}

/// What a restore does with the files once they verified: open them as the backend's store.
fn restore(snap: &std::path::Path, work: &std::path::Path) {
    let db = work.join("db");
    if std::fs::create_dir(&db).is_err() {
        return;
    }
    let Ok(manifest) = snapshot::Manifest::read(snap) else {
        return;
    };
    // The files the manifest lists, as a restore downloads them (the manifest itself stays out).
    for f in &manifest.files {
        if f.name != MANIFEST_NAME && std::fs::copy(snap.join(&f.name), db.join(&f.name)).is_err() {
            return;
        }
    }
    let mut opts = StoreOptions::new(&db, 16 << 20);
    opts.max_hot_value = 64;
    let Ok(mut store) = Store::open(opts) else {
        return;
    };
    let names = store.state_names();
    let mut ids = Vec::new();
    for name in &names {
        if let Ok(id) = store.register_state(name, kind_of(name)) {
            ids.push(id);
        }
    }
    for &id in &ids {
        let _ = store.count(id);
        let _ = store.get(id, &[1, b'a'], |v| v.len());
    }
    let _ = store.clip_key_groups(1, 0, 63);
    let _ = store.import_key_groups(snap, 1, 64, 127);
    for &id in &ids {
        let _ = store.scan(id, &[2], ScanStart::First, |_, _| Ok(true));
        let _ = store.scan_map(id, &[1, b'M', 0], ScanStart::First, |_, _| Ok(true));
    }
    let again = work.join("again");
    if store.checkpoint(&again).is_ok() {
        snapshot::write_manifest(&again, &HashMap::new()).expect("manifest of a new snapshot");
        snapshot::verify(&again).expect("a new snapshot verifies");
    }
}

fuzz_target!(|data: &[u8]| {
    let work = Scratch::new();
    let snap = work.path().join("snap");
    std::fs::create_dir(&snap).expect("snapshot dir");
    archive::unpack(data, &snap);
    if snapshot::verify(&snap).is_err() {
        // A restore stops here, naming the damaged file.
        return;
    }
    read(&snap);
    restore(&snap, work.path());
});
