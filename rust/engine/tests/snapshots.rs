//! Snapshot directories: manifests with a checksum per file catch every kind of damage.

mod common;

use common::{key, store};
use ferrostate_engine::snapshot::{self, Manifest, MANIFEST_NAME};
use ferrostate_engine::{Error, StateKind};
use std::collections::HashMap;
use std::fs;
use std::path::Path;

fn snapshot_with_data() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, mut s) = store(16 << 20);
    let st = s.register_state("v", StateKind::Value).unwrap();
    for i in 0..5000u32 {
        s.put(st, &key((i % 128) as u8, i), &[i as u8; 100])
            .unwrap();
    }
    let snap = dir.path().join("snap");
    s.checkpoint(&snap).unwrap();
    snapshot::write_manifest(&snap, &HashMap::new()).unwrap();
    (dir, snap)
}

fn sst(dir: &Path) -> std::path::PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst"))
        .expect("an SST file")
}

#[test]
fn an_intact_snapshot_verifies() {
    let (_d, snap) = snapshot_with_data();
    let m = snapshot::verify(&snap).unwrap();
    assert!(m.files.iter().any(|f| f.name.ends_with(".sst")));
    assert!(m.total_size() > 0);
}

#[test]
fn a_flipped_byte_is_a_checksum_mismatch_naming_the_file() {
    let (_d, snap) = snapshot_with_data();
    let file = sst(&snap);
    let mut bytes = fs::read(&file).unwrap();
    bytes[100] ^= 0x01;
    // Hard links share data with the live store: replace the file instead of writing into it.
    fs::remove_file(&file).unwrap();
    fs::write(&file, &bytes).unwrap();
    match snapshot::verify(&snap) {
        Err(Error::ChecksumMismatch { file: f, .. }) => assert_eq!(f, file),
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    let msg = snapshot::verify(&snap).unwrap_err().to_string();
    assert!(
        msg.contains("checksum mismatch") && msg.contains(".sst"),
        "{msg}"
    );
}

#[test]
fn a_truncated_file_is_reported() {
    let (_d, snap) = snapshot_with_data();
    let file = sst(&snap);
    let bytes = fs::read(&file).unwrap();
    fs::remove_file(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let msg = snapshot::verify(&snap).unwrap_err().to_string();
    assert!(msg.contains("checksum mismatch"), "{msg}");
}

#[test]
fn a_missing_file_is_reported() {
    let (_d, snap) = snapshot_with_data();
    let file = sst(&snap);
    fs::remove_file(&file).unwrap();
    let msg = snapshot::verify(&snap).unwrap_err().to_string();
    assert!(msg.contains("missing"), "{msg}");
}

#[test]
fn a_damaged_manifest_is_reported() {
    let (_d, snap) = snapshot_with_data();
    let path = snap.join(MANIFEST_NAME);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    assert!(Manifest::read(&snap).is_err());
}

#[test]
fn known_checksums_of_sst_files_are_reused() {
    let (_d, snap) = snapshot_with_data();
    let first = snapshot::verify(&snap).unwrap();
    let known: HashMap<String, (u64, u32)> = first
        .files
        .iter()
        .map(|f| (f.name.clone(), (f.size, f.crc32c ^ 1)))
        .collect();
    // With (deliberately wrong) known checksums, SST entries are taken as given, others read.
    let second = snapshot::write_manifest(&snap, &known).unwrap();
    for (a, b) in first.files.iter().zip(second.files.iter()) {
        if a.name.ends_with(".sst") {
            assert_eq!(b.crc32c, a.crc32c ^ 1);
        } else {
            assert_eq!(b.crc32c, a.crc32c);
        }
    }
}

#[test]
fn checksums_taken_while_downloading_are_compared_instead_of_read_again() {
    let (_d, snap) = snapshot_with_data();
    let file = sst(&snap);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let (crc, len) = snapshot::crc_file(&file).unwrap();
    let mut known = HashMap::new();
    known.insert(name.clone(), (len, crc));
    snapshot::verify_known(&snap, &known).unwrap();
    // A download that received other bytes than the manifest names fails, naming the file.
    known.insert(name, (len, crc ^ 1));
    match snapshot::verify_known(&snap, &known) {
        Err(Error::ChecksumMismatch { file: f, .. }) => assert_eq!(f, file),
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
}

/// The log files RocksDB writes (its MANIFEST, the WAL files a checkpoint holds) pass the check
/// that runs before RocksDB reads a restored directory, and the check walks every record of
/// them with matching checksums (it follows the reader's record boundaries, so it reaches
/// every header the reader can reach).
#[test]
fn rocksdb_log_files_walk_whole() {
    let (_d, snap) = snapshot_with_data();
    let mut manifests = 0;
    for entry in fs::read_dir(&snap).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("MANIFEST-") || name.ends_with(".log") {
            let data = fs::read(&path).unwrap();
            let walk = ferrostate_engine::rocks_log::check(&name, &data).unwrap();
            assert_eq!(walk.blocks_cut, 0, "{name}: {walk:?}");
            if name.starts_with("MANIFEST-") {
                assert!(walk.records > 0, "{name}: {walk:?}");
                manifests += 1;
            }
        }
    }
    assert_eq!(manifests, 1);
    let opts = ferrostate_engine::StoreOptions::new(&snap, 16 << 20);
    ferrostate_engine::SnapshotReader::open(&snap, &opts.memory).unwrap();
}

/// The `restore` fuzz target's hang: a snapshot whose MANIFEST holds a record of a recycled log
/// file's type after an ordinary record made RocksDB 11.8's log reader loop forever in
/// `DB::list_cf` (ReadPhysicalRecord answers "bad record" without consuming it). Opening such a
/// directory read-only (savepoints, rescaling) or as a restored store is now a corruption error.
#[test]
fn a_manifest_that_would_hang_rocksdb_is_refused() {
    let manifest = include_bytes!("data/rocksdb-manifest-recyclable-record");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    fs::create_dir(&snap).unwrap();
    fs::write(snap.join("CURRENT"), b"MANIFEST-000005\n").unwrap();
    fs::write(snap.join("MANIFEST-000005"), manifest).unwrap();
    let opts = ferrostate_engine::StoreOptions::new(&snap, 16 << 20);
    let refused = |r: Result<(), Error>| match r {
        Err(Error::Corrupt { what, detail }) => {
            assert!(what.ends_with("MANIFEST-000005"), "{what}");
            assert!(detail.contains("type 5"), "{detail}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    };
    // In a thread of its own, so that a hang fails the test instead of stopping the suite.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let read_only = ferrostate_engine::SnapshotReader::open(&snap, &opts.memory).map(|_| ());
        let store = ferrostate_engine::Store::open(opts).map(|_| ());
        let _ = tx.send((read_only, store));
    });
    let (read_only, store) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("opening the directory hangs (RocksDB's log reader loops)");
    refused(read_only);
    refused(store);
}

/// Every SST file of a real snapshot passes the check ferrostate makes before RocksDB opens a
/// restored file: footer, metaindex and properties blocks, each with RocksDB's own checksum.
#[test]
fn rocksdb_sst_files_check_whole() {
    let (_d, snap) = snapshot_with_data();
    let mut checked = 0;
    for entry in fs::read_dir(&snap).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "sst") {
            let sst = ferrostate_engine::rocks_sst::check_file(&path).unwrap();
            assert_eq!(sst.checksum_type, 4, "{path:?}: XXH3, RocksDB's default");
            assert!(sst.format_version >= 6, "{sst:?}");
            assert!(sst.metaindex_entries >= 1, "{sst:?}");
            assert!(sst.properties_entries > 10, "{sst:?}");
            let whole = ferrostate_engine::rocks_sst::check(
                &path.display().to_string(),
                &fs::read(&path).unwrap(),
            )
            .unwrap();
            assert_eq!(whole, sst);
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

/// The `restore` fuzz target's crash: a snapshot whose SST files had bytes of their properties
/// blocks changed, with ferrostate's manifest written again over them (a hostile or buggy
/// writer), made RocksDB 11.8 copy past a buffer while it parsed the properties block before
/// verifying its checksum (SIGSEGV in `ReadTablePropertiesHelper`). Both ways of opening such a
/// directory now fail with a corruption error naming the SST file.
#[test]
fn an_sst_that_would_crash_rocksdb_is_refused() {
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rocksdb-sst-properties-crash");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    fs::create_dir(&snap).unwrap();
    for entry in fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, snap.join(path.file_name().unwrap())).unwrap();
    }
    snapshot::write_manifest(&snap, &HashMap::new()).unwrap();
    snapshot::verify(&snap).unwrap();
    let refused = |r: Result<(), Error>| match r {
        Err(Error::Corrupt { what, detail }) => {
            assert!(what.ends_with(".sst"), "{what}");
            assert!(detail.contains("properties block"), "{detail}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    };
    let opts = ferrostate_engine::StoreOptions::new(&snap, 16 << 20);
    refused(ferrostate_engine::SnapshotReader::open(&snap, &opts.memory).map(|_| ()));
    refused(ferrostate_engine::Store::open(opts).map(|_| ()));
}
