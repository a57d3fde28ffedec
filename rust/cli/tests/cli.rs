//! The command line on real snapshot directories: exit 0 when intact, 1 on damage.

use ferrostate_engine::snapshot;
use ferrostate_engine::{StateKind, Store, StoreOptions};
use std::collections::HashMap;
use std::process::Command;

fn snapshot_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(StoreOptions::new(dir.path().join("db"), 16 << 20)).unwrap();
    let st = s.register_state("sessions", StateKind::Value).unwrap();
    for i in 0..1000u32 {
        let mut k = vec![(i % 128) as u8];
        k.extend_from_slice(&i.to_be_bytes());
        s.put(st, &k, b"value").unwrap();
    }
    let snap = dir.path().join("snap");
    s.checkpoint(&snap).unwrap();
    snapshot::write_manifest(&snap, &HashMap::new()).unwrap();
    (dir, snap)
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrostate"))
}

#[test]
fn inspect_lists_states_and_verify_fails_on_damage() {
    let (_d, snap) = snapshot_dir();
    let out = cli().arg("inspect").arg(&snap).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("every checksum matches"), "{text}");
    assert!(
        text.contains("sessions") && text.contains("1000") && text.contains("0..=127"),
        "{text}"
    );

    let sst = std::fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst"))
        .unwrap();
    let mut bytes = std::fs::read(&sst).unwrap();
    bytes[10] ^= 0x80;
    std::fs::remove_file(&sst).unwrap();
    std::fs::write(&sst, bytes).unwrap();
    let out = cli().arg("verify").arg(&snap).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checksum mismatch") && err.contains(".sst"),
        "{err}"
    );

    assert_eq!(cli().arg("bogus").output().unwrap().status.code(), Some(2));
}
