//! The JNI crate's binary codecs (`rust/jni/src/batch.rs`, `results.rs`), compiled from their
//! sources: a scan batch written into a buffer of any size reads back, as Java's `BatchCursor`
//! reads it, as exactly the entries the writer accepted, never writes past them, and reports
//! what an entry that does not fit needs; manifest files and snapshot statistics read back as
//! `NativeResults` reads them.
#![no_main]

use arbitrary::Arbitrary;
use ferrostate_engine::snapshot::{FileEntry, StateStats};
use ferrostate_fuzz::jni_codecs::{
    encode_files, encode_stats, read_batch, read_files, read_stats, write_batch,
};
use libfuzzer_sys::fuzz_target;

/// A state's statistics: name, entries, bytes, lowest and highest key group.
type Stats = (String, u64, u64, Option<u16>, Option<u16>);

#[derive(Arbitrary, Debug)]
struct Input {
    cap: u16,
    max: i32,
    tagged: bool,
    fill: u8,
    entries: Vec<(u32, Vec<u8>, Vec<u8>)>,
    files: Vec<(String, u64, u32)>,
    stats: Vec<Stats>,
}

fuzz_target!(|input: Input| {
    let entries: Vec<_> = input
        .entries
        .iter()
        .map(|(s, k, v)| (input.tagged.then_some(*s), k.clone(), v.clone()))
        .collect();
    let cap = input.cap as usize;
    let w = write_batch(cap, input.max, input.fill, &entries);
    let max = input.max.max(1) as usize;
    assert!(w.accepted <= max && w.accepted <= entries.len());
    let size = |e: &(Option<u32>, Vec<u8>, Vec<u8>)| {
        4 * e.0.is_some() as usize + 8 + e.1.len() + e.2.len()
    };
    let used: usize = entries[..w.accepted].iter().map(size).sum();
    match (w.accepted, entries.first()) {
        (0, Some(first)) if max > 0 && size(first) > cap => {
            assert_eq!(
                w.result,
                Ok(-(size(first) as i32)),
                "the first entry's need"
            );
        }
        (n, _) => assert_eq!(w.result, Ok(n as i32)),
    }
    if let Some(next) = entries.get(w.accepted) {
        // The writer stopped for a reason: the count, or the room.
        assert!(w.accepted == max || used + size(next) > cap);
    }
    let (read, n) = read_batch(&w.buf, w.accepted, input.tagged).expect("Java reads the batch");
    assert_eq!(n, used);
    assert_eq!(read, entries[..w.accepted]);
    assert!(
        w.buf[used..].iter().all(|&b| b == input.fill),
        "bytes past the batch changed"
    );

    let files: Vec<FileEntry> = input
        .files
        .into_iter()
        .map(|(name, size, crc32c)| FileEntry { name, size, crc32c })
        .collect();
    assert_eq!(read_files(&encode_files(&files)).as_ref(), Some(&files));

    // Key groups are at most 2 bytes (Flink's maximum parallelism is 32768).
    let stats: Vec<StateStats> = input
        .stats
        .into_iter()
        .map(|(name, entries, bytes, min, max)| StateStats {
            name,
            entries,
            bytes,
            min_kg: min.map(u32::from),
            max_kg: max.map(u32::from),
        })
        .collect();
    assert_eq!(read_stats(&encode_stats(&stats)).as_ref(), Some(&stats));
});
