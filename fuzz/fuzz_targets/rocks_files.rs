//! What ferrostate checks in RocksDB's files before RocksDB opens a restored directory
//! (`rocks_files::check_dir`): the log walk of MANIFEST and WAL files (`rocks_log::check`) and
//! the SST footer and meta-block check (`rocks_sst::check`). Any bytes give a result or an
//! error, never a panic; an SST that passes also passes when read from a file in parts, with
//! the same result.
//!
//! Input: `[flags][file bytes]`. Flag 1: the bytes are an SST (else a log file). Flag 2: forge
//! the SST's footer, metaindex and properties checksums after the damage, as a hostile writer
//! would, so changed meta blocks reach the structure walk instead of a checksum mismatch.
#![no_main]

use ferrostate_engine::{rocks_log, rocks_sst};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    if flags & 1 == 0 {
        if let Ok(walk) = rocks_log::check("log", bytes) {
            assert!(walk.records <= bytes.len() / 7 + 1, "{walk:?}");
        }
        return;
    }
    let mut bytes = bytes.to_vec();
    if flags & 2 != 0 {
        rocks_sst::forge_checksums(&mut bytes);
    }
    if let Ok(sst) = rocks_sst::check("sst", &bytes) {
        assert!((2..=7).contains(&sst.format_version), "{sst:?}");
        assert!(sst.properties_entries <= bytes.len(), "{sst:?}");
        let file = ferrostate_fuzz::scratch::Scratch::new();
        let path = file.path().join("000001.sst");
        std::fs::write(&path, &bytes).expect("scratch file");
        assert_eq!(
            rocks_sst::check_file(&path).expect("the same bytes in a file"),
            sst
        );
    }
});
