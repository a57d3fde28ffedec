//! The index at the head of a native snapshot's meta stream (`SnapshotIndex::decode`, which
//! the JNI `indexLength` runs on bytes Java read from checkpoint storage): any bytes give an
//! index and its length, never past the bytes given, or an error; a decoded index round-trips.
//!
//! Input: `[flags][stream head]`; flag 1 cuts the declared length to the bytes present and sets
//! the CRC-32C to match, so damaged payloads reach the bincode decoder.
#![no_main]

use ferrostate_engine::snapshot::{SnapshotIndex, FORMAT_VERSION};
use ferrostate_fuzz::archive::fix_index_envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let bytes = if flags & 1 != 0 {
        fix_index_envelope(bytes)
    } else {
        bytes.to_vec()
    };
    if let Ok((index, used)) = SnapshotIndex::decode(&bytes) {
        assert!(
            used <= bytes.len(),
            "index of {used} bytes in {}",
            bytes.len()
        );
        assert!((1..=FORMAT_VERSION).contains(&index.format_version));
        let again = index.encode().expect("a decoded index encodes");
        let (back, n) = SnapshotIndex::decode(&again).expect("re-encoded index");
        assert_eq!(back, index);
        assert_eq!(n, again.len());
    }
});
