//! Writes the seed corpora of the fuzz targets into `corpus/<target>/` (run from `fuzz/`):
//! real manifests, RocksDB's MANIFEST and SST files, snapshot indexes, list, map and TTL
//! values, `putAll` batches and small snapshot directories packed as the `restore` and
//! `cli_verify` targets read them.
//!
//! ```text
//! fuzz/fuzz.sh seeds
//! ```

// Built with the targets' instrumentation: libFuzzer's runtime provides its callbacks even
// where no sanitizer runtime does (`FUZZ_SANITIZER=none`).
extern crate libfuzzer_sys;

use ferrostate_engine::list;
use ferrostate_engine::snapshot::{self, IndexFile, SnapshotIndex, FORMAT_VERSION};
use ferrostate_engine::store::{StateKind, Store, StoreOptions};
use ferrostate_fuzz::archive;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = PathBuf::from("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

fn with_flags(flags: u8, bytes: &[u8]) -> Vec<u8> {
    [&[flags][..], bytes].concat()
}

fn ttl_value(ts: i64, v: &[u8]) -> Vec<u8> {
    [&ts.to_be_bytes()[..], v].concat()
}

/// A small store's snapshot: a value, a list and a map state over a few key groups, some
/// values past the hot tier's limit (written to RocksDB directly), list appends through the
/// merge operator.
fn snapshot(work: &Path) -> PathBuf {
    let mut opts = StoreOptions::new(work.join("db"), 16 << 20);
    opts.max_hot_value = 64;
    let mut s = Store::open(opts).expect("open store");
    let v = s.register_state("v", StateKind::Value).unwrap();
    let l = s.register_state("l", StateKind::List).unwrap();
    let m = s.register_state("m", StateKind::Map).unwrap();
    for i in 0..24u8 {
        let key = [i % 8, b'a' + i % 6];
        s.put(v, &key, &ttl_value(1000 * i as i64, b"value"))
            .unwrap();
        let mut elements = Vec::new();
        list::push_element(&mut elements, &ttl_value(i as i64, &[i; 3]));
        s.append(l, &key, &elements).unwrap();
        let map_key = [i % 8, b'M', i % 3, b'a' + i % 4];
        let mut value = vec![0u8];
        value.extend_from_slice(&ttl_value(i as i64 * 7, b"mv"));
        s.put_entry(m, &map_key, 3, &value).unwrap();
    }
    s.put(v, &[1, b'b'], &[7u8; 100]).unwrap();
    s.append(
        l,
        &[2, b'c'],
        &[0u8, 0, 0, 80]
            .iter()
            .copied()
            .chain([9u8; 80])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let snap = work.join("snap");
    s.checkpoint(&snap).expect("checkpoint");
    snapshot::write_manifest(&snap, &HashMap::new()).expect("manifest");
    snap
}

fn main() {
    let work = std::env::temp_dir().join(format!("ferrostate-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let snap = snapshot(&work);

    // Snapshot directories, whole (restore), and a tiny one with the real manifest format.
    write("restore", "snapshot", &archive::pack(&snap, 0).unwrap());
    write(
        "restore",
        "snapshot-manifest-rewritten",
        &archive::pack(&snap, archive::REWRITE_MANIFEST).unwrap(),
    );
    let tiny = work.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    std::fs::write(tiny.join("CURRENT"), b"MANIFEST-000005\n").unwrap();
    std::fs::write(tiny.join("000009.sst"), b"not really an sst").unwrap();
    snapshot::write_manifest(&tiny, &HashMap::new()).unwrap();
    write("cli_verify", "tiny", &archive::pack(&tiny, 0).unwrap());
    write(
        "cli_verify",
        "tiny-fix-envelope",
        &archive::pack(&tiny, archive::FIX_ENVELOPE).unwrap(),
    );

    // RocksDB's own files, as `rocks_files` reads them: the snapshot's MANIFEST (a log file)
    // and its SST files, plain and with checksums forged after the fuzzer's changes.
    for entry in std::fs::read_dir(&snap).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("MANIFEST-") {
            write("rocks_files", "manifest", &with_flags(0, &bytes));
        } else if name.ends_with(".sst") {
            write("rocks_files", &name, &with_flags(1, &bytes));
            write(
                "rocks_files",
                &format!("{name}-forged"),
                &with_flags(3, &bytes),
            );
        }
    }

    // Manifests.
    let manifest = std::fs::read(snap.join(snapshot::MANIFEST_NAME)).unwrap();
    write("manifest", "snapshot", &with_flags(0, &manifest));
    write(
        "manifest",
        "snapshot-fix-envelope",
        &with_flags(1, &manifest),
    );
    let empty = snapshot::Manifest {
        format_version: FORMAT_VERSION,
        files: vec![],
    };
    write(
        "manifest",
        "empty",
        &with_flags(0, &empty.encode().unwrap()),
    );

    // Snapshot indexes at the head of a meta stream.
    let index = SnapshotIndex {
        format_version: FORMAT_VERSION,
        checkpoint_id: 42,
        key_group_start: 0,
        key_group_end: 127,
        prefix_bytes: 1,
        states: vec![("v".into(), 0), ("l".into(), 1), ("m".into(), 2)],
        queues: vec!["_timer_state/event_window-timers".into()],
        files: snapshot::Manifest::read(&snap)
            .unwrap()
            .files
            .into_iter()
            .map(|f| IndexFile {
                shared: f.name.ends_with(".sst"),
                remote: format!("file:///checkpoints/job/shared/{}", f.name),
                local_name: f.name,
                size: f.size,
                crc32c: f.crc32c,
            })
            .collect(),
    };
    let mut stream = index.encode().unwrap();
    stream.extend_from_slice(b"java part of the meta stream");
    write("snapshot_index", "index", &with_flags(0, &stream));
    write(
        "snapshot_index",
        "index-fix-envelope",
        &with_flags(1, &stream),
    );

    // List values, TTL values of each layout.
    let mut l = Vec::new();
    for e in [&b"first"[..], b"", &ttl_value(5, b"x")] {
        list::push_element(&mut l, e);
    }
    write("list_value", "three", &with_flags(128, &l));
    write("list_value", "empty", &[0]);
    let ttl_input = |layout: u8, ttl: i64, now: i64, value: &[u8]| {
        [&[layout][..], &ttl.to_be_bytes(), &now.to_be_bytes(), value].concat()
    };
    write(
        "ttl",
        "value",
        &ttl_input(0, 100, 150, &ttl_value(60, b"v")),
    );
    let mut tl = Vec::new();
    list::push_element(&mut tl, &ttl_value(10, b"old"));
    list::push_element(&mut tl, &ttl_value(500, b"new"));
    write("ttl", "list", &ttl_input(1, 100, 150, &tl));
    write(
        "ttl",
        "map",
        &ttl_input(2, 100, 150, &[&[0u8][..], &ttl_value(10, b"m")].concat()),
    );
    write("ttl", "map-null", &ttl_input(2, 100, 150, &[1u8]));

    // Key groups and codes.
    write("keygroup", "one-byte", &[5, 0, 0, 0, 1, 0, 0, 1, 44]);
    write("keygroup", "two-bytes", &[1, 44, 0, 0, 0, 255, 0, 0]);

    // putAll batches: user key and value, each with a 4-byte length.
    let mut batch = Vec::new();
    for (k, v) in [
        (&b"feature-a"[..], &[0u8, 0, 0, 0, 0, 0, 0, 0, 3][..]),
        (b"b", b"\x00v"),
        (b"", b""),
    ] {
        list::push_element(&mut batch, k);
        list::push_element(&mut batch, v);
    }
    write("put_entries", "three", &batch);
    let _ = std::fs::remove_dir_all(&work);
}
