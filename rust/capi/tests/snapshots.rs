//! Snapshots through the C API: incremental, verified, restored in a new directory, split and
//! merged by key groups; a damaged snapshot is a clear status, and nothing is lost.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A store with 64 entries in each of key groups 0..4 of a value state, and one map.
fn filled(path: &Path) -> *mut ferrostate_store {
    let s = open(path);
    let v = register(s, "v", ferrostate_kind::Value);
    let m = register(s, "m", ferrostate_kind::Map);
    for kg in 0..4u8 {
        for i in 0..64u32 {
            put(s, v, &key(kg, i), format!("{kg}/{i}").as_bytes());
        }
        map_put(s, m, &key(kg, 0), b"u", &[kg]);
    }
    s
}

fn sst(dir: &Path) -> PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst"))
        .expect("an SST file")
}

fn verify(dir: &Path) -> (ferrostate_status, String) {
    // SAFETY: a C string; info may be NULL.
    let status = unsafe { ferrostate_snapshot_verify(c(dir).as_ptr(), std::ptr::null_mut()) };
    (status, last_error())
}

#[test]
fn a_snapshot_restores_in_a_new_directory_and_snapshots_are_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let s = filled(&dir.path().join("db"));
    let first = snapshot(s, &dir.path().join("snap1"));
    assert!(first.files > 0 && first.bytes > 0);
    assert_eq!(
        (first.new_files, first.new_bytes),
        (first.files, first.bytes)
    );
    let v = register(s, "v", ferrostate_kind::Value);
    put(s, v, &key(0, 1000), b"later");
    let second = snapshot(s, &dir.path().join("snap2"));
    assert!(second.new_files < second.files, "{second:?}");
    assert!(second.new_bytes < second.bytes);
    // Taking a snapshot into an existing directory is refused.
    // SAFETY: live store, C string.
    let status = unsafe {
        ferrostate_store_snapshot(
            s,
            c(&dir.path().join("snap1")).as_ptr(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, ferrostate_status::InvalidArgument);
    close(s);

    let mut info = ferrostate_snapshot_info::default();
    // SAFETY: C string, writable info.
    ok(unsafe { ferrostate_snapshot_verify(c(&dir.path().join("snap2")).as_ptr(), &mut info) });
    assert_eq!((info.files, info.bytes), (second.files, second.bytes));

    let r = restore(
        &dir.path().join("restored"),
        &[&dir.path().join("snap2")],
        0,
        127,
    )
    .unwrap();
    let v = register(r, "v", ferrostate_kind::Value);
    let m = register(r, "m", ferrostate_kind::Map);
    assert_eq!(scan(r, v, &[]).len(), 4 * 64 + 1);
    assert_eq!(get(r, v, &key(0, 1000)).as_deref(), Some(&b"later"[..]));
    assert_eq!(map_get(r, m, &key(3, 0), b"u"), Some(vec![3]));
    // The first snapshot after a restore reuses the checksums of the snapshot restored from.
    let third = snapshot(r, &dir.path().join("snap3"));
    assert!(third.new_files < third.files, "{third:?}");
    close(r);
    // The snapshot directory restored from is unchanged.
    assert_eq!(verify(&dir.path().join("snap2")).0, OK);
}

#[test]
fn snapshots_split_and_merge_by_key_group() {
    let dir = tempfile::tempdir().unwrap();
    let s = filled(&dir.path().join("db"));
    snapshot(s, &dir.path().join("whole"));
    close(s);
    let whole = dir.path().join("whole");
    // Split: each half keeps its key groups only.
    let low = restore(&dir.path().join("low"), &[&whole], 0, 1).unwrap();
    let high = restore(&dir.path().join("high"), &[&whole], 2, 127).unwrap();
    for (h, kgs) in [(low, [0u8, 1]), (high, [2, 3])] {
        let v = register(h, "v", ferrostate_kind::Value);
        let entries = scan(h, v, &[]);
        assert_eq!(entries.len(), 128);
        assert!(entries.iter().all(|(k, _)| kgs.contains(&k[0])));
    }
    snapshot(low, &dir.path().join("low-snap"));
    snapshot(high, &dir.path().join("high-snap"));
    close(low);
    close(high);
    // Merge: both halves into one store owning every key group.
    let merged = restore(
        &dir.path().join("merged"),
        &[&dir.path().join("high-snap"), &dir.path().join("low-snap")],
        0,
        127,
    )
    .unwrap();
    let v = register(merged, "v", ferrostate_kind::Value);
    let m = register(merged, "m", ferrostate_kind::Map);
    assert_eq!(scan(merged, v, &[]).len(), 256);
    assert_eq!(get(merged, v, &key(1, 7)).as_deref(), Some(&b"1/7"[..]));
    assert_eq!(map_get(merged, m, &key(0, 0), b"u"), Some(vec![0]));
    close(merged);
}

/// Damages a copy of a snapshot with `damage`, and checks that verify and restore fail with
/// `expected`, that the restore target is left empty, and that the store and an intact
/// snapshot still hold everything.
fn damaged(damage: impl Fn(&Path), expected: ferrostate_status, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = filled(&dir.path().join("db"));
    let snap = dir.path().join("snap");
    snapshot(s, &snap);
    damage(&snap);
    let (status, msg) = verify(&snap);
    assert_eq!(status, expected, "{msg}");
    assert!(msg.contains(says), "{msg}");
    let target = dir.path().join("restored");
    let (status, msg) = restore(&target, &[&snap], 0, 127).unwrap_err();
    assert_eq!(status, expected, "{msg}");
    assert!(msg.starts_with("ferrostate_store_restore: "), "{msg}");
    assert!(!target.exists(), "the target is left as it was");
    // A damaged snapshot among several fails the whole restore.
    let good = dir.path().join("good");
    snapshot(s, &good);
    let (status, _) = restore(&target, &[&good, &snap], 0, 127).unwrap_err();
    assert_eq!(status, expected);
    // Nothing lost: the store reads everything, and restoring the intact snapshot works.
    let v = register(s, "v", ferrostate_kind::Value);
    assert_eq!(scan(s, v, &[]).len(), 256);
    close(s);
    let r = restore(&target, &[&good], 0, 127).unwrap();
    let v = register(r, "v", ferrostate_kind::Value);
    assert_eq!(scan(r, v, &[]).len(), 256);
    close(r);
}

#[test]
fn a_flipped_byte_is_a_checksum_mismatch() {
    damaged(
        |snap| {
            let f = sst(snap);
            let mut bytes = fs::read(&f).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x10;
            // A hard link shares its data with the live store: replace the file.
            fs::remove_file(&f).unwrap();
            fs::write(&f, bytes).unwrap();
        },
        ferrostate_status::ChecksumMismatch,
        ".sst",
    );
}

#[test]
fn a_truncated_file_is_a_checksum_mismatch() {
    damaged(
        |snap| {
            let f = sst(snap);
            let bytes = fs::read(&f).unwrap();
            fs::remove_file(&f).unwrap();
            fs::write(&f, &bytes[..bytes.len() / 3]).unwrap();
        },
        ferrostate_status::ChecksumMismatch,
        "checksum mismatch",
    );
}

#[test]
fn a_missing_manifest_is_corrupt() {
    damaged(
        |snap| fs::remove_file(snap.join("FERROSTATE-MANIFEST")).unwrap(),
        ferrostate_status::Corrupt,
        "holds no FERROSTATE-MANIFEST",
    );
}

#[test]
fn a_damaged_manifest_is_corrupt() {
    damaged(
        |snap| {
            let f = snap.join("FERROSTATE-MANIFEST");
            let mut bytes = fs::read(&f).unwrap();
            bytes[20] ^= 1;
            fs::write(&f, bytes).unwrap();
        },
        ferrostate_status::Corrupt,
        "FERROSTATE-MANIFEST",
    );
}

#[test]
fn a_missing_file_is_corrupt() {
    damaged(
        |snap| fs::remove_file(sst(snap)).unwrap(),
        ferrostate_status::Corrupt,
        "missing",
    );
}

#[test]
fn a_restore_with_another_max_parallelism_is_refused_and_foreign_snapshots_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let s = filled(&dir.path().join("db"));
    snapshot(s, &dir.path().join("snap"));
    close(s);
    let p = c(&dir.path().join("r"));
    let mut o = options(&p, 0, 255);
    o.max_parallelism = 256;
    let snap = c(&dir.path().join("snap"));
    let dirs = [snap.as_ptr()];
    let mut r = std::ptr::null_mut();
    // SAFETY: valid options, one C string, out-pointer.
    let status = unsafe { ferrostate_store_restore(&o, dirs.as_ptr(), 1, &mut r) };
    assert_eq!(status, ferrostate_status::InvalidArgument);
    assert!(last_error().contains("max_parallelism 128, the options say 256"));
    assert!(!dir.path().join("r").exists());
    // Key groups 0..1 and 2..3 in two snapshots; a store of 2..3 skips the first one's.
    let low = restore(&dir.path().join("low"), &[&dir.path().join("snap")], 0, 1).unwrap();
    snapshot(low, &dir.path().join("low-snap"));
    close(low);
    let high = restore(
        &dir.path().join("high"),
        &[&dir.path().join("snap"), &dir.path().join("low-snap")],
        2,
        3,
    )
    .unwrap();
    let v = register(high, "v", ferrostate_kind::Value);
    assert_eq!(scan(high, v, &[]).len(), 128);
    close(high);
}

#[test]
fn a_missing_directory_and_a_used_target_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _) = verify(&dir.path().join("nothing"));
    assert_eq!(status, ferrostate_status::Io);
    let s = filled(&dir.path().join("db"));
    snapshot(s, &dir.path().join("snap"));
    close(s);
    // A snapshot directory is never opened as a store (that would change it).
    let snap = c(&dir.path().join("snap"));
    let o = options(&snap, 0, 127);
    let mut s = std::ptr::null_mut();
    // SAFETY: valid options, out-pointer.
    let status = unsafe { ferrostate_store_open(&o, &mut s) };
    assert_eq!(status, ferrostate_status::InvalidArgument);
    assert!(last_error().contains("is a snapshot directory"));
    assert_eq!(verify(&dir.path().join("snap")).0, OK);
    // The live store's directory is not empty: a restore never writes over it.
    let (status, msg) =
        restore(&dir.path().join("db"), &[&dir.path().join("snap")], 0, 127).unwrap_err();
    assert_eq!(status, ferrostate_status::InvalidArgument, "{msg}");
    let (status, _) = restore(&dir.path().join("r"), &[], 0, 127).unwrap_err();
    assert_eq!(status, ferrostate_status::InvalidArgument);
    // The store is intact.
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    assert_eq!(scan(s, v, &[]).len(), 256);
    close(s);
}
