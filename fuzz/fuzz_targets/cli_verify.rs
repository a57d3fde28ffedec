//! `ferrostate verify` (`snapshot::verify`, the library function the CLI runs, and
//! `verify_known`, which restores run with checksums taken while downloading) on arbitrary
//! directories: never a panic; when it passes, every file the manifest lists is inside the
//! directory with the recorded size and CRC-32C; both functions agree; `inspect`'s reader
//! opens what passed or fails cleanly.
//!
//! Input: a packed directory (`ferrostate_fuzz::archive`), usually a small snapshot.
#![no_main]

use ferrostate_engine::snapshot::{self, SnapshotReader};
use ferrostate_engine::SharedMemory;
use ferrostate_fuzz::archive::{self, plain_name};
use ferrostate_fuzz::scratch::Scratch;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let dir = Scratch::new();
    archive::unpack(data, dir.path());
    let verified = snapshot::verify(dir.path());
    let mut known = HashMap::new();
    for (name, _) in archive::files(data).1 {
        if let Ok((crc, len)) = snapshot::crc_file(&dir.path().join(&name)) {
            known.insert(name, (len, crc));
        }
    }
    let with_known = snapshot::verify_known(dir.path(), &known);
    assert_eq!(
        verified.as_ref().ok(),
        with_known.as_ref().ok(),
        "verify and verify_known disagree: {:?} / {:?}",
        verified.as_ref().err(),
        with_known.as_ref().err()
    );
    let Ok(m) = verified else {
        return;
    };
    for f in &m.files {
        assert!(
            plain_name(&f.name),
            "verified a manifest naming {:?}",
            f.name
        );
        let bytes = std::fs::read(dir.path().join(&f.name)).expect("a verified file reads");
        assert_eq!(bytes.len() as u64, f.size);
        assert_eq!(crc32c::crc32c(&bytes), f.crc32c);
    }
    let _ = m.total_size();
    let memory = SharedMemory::new(ferrostate_engine::memory::MIN_BUDGET, 0.0, 0.25);
    if let Ok(reader) = SnapshotReader::open(dir.path(), &memory) {
        let _ = reader.stats(1);
    }
});
