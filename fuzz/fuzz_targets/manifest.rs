//! Snapshot manifests (`Manifest::decode`), as read from a snapshot directory: any bytes give
//! a manifest or an error, a manifest names only files inside its directory, and a decoded
//! manifest encodes to bytes that decode to it again.
//!
//! Input: `[flags][manifest bytes]`; flag 1 sets the payload length and CRC-32C to match the
//! payload, so damaged payloads reach the bincode decoder.
#![no_main]

use ferrostate_engine::snapshot::{Manifest, FORMAT_VERSION};
use ferrostate_fuzz::archive::{fix_manifest_envelope, plain_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let bytes = if flags & 1 != 0 {
        fix_manifest_envelope(bytes)
    } else {
        bytes.to_vec()
    };
    if let Ok(m) = Manifest::decode(&bytes) {
        assert!((1..=FORMAT_VERSION).contains(&m.format_version));
        for f in &m.files {
            assert!(plain_name(&f.name), "manifest names {:?}", f.name);
        }
        let _ = m.total_size();
        let again = m.encode().expect("a decoded manifest encodes");
        assert_eq!(Manifest::decode(&again).expect("re-encoded manifest"), m);
    }
});
