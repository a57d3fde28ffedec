//! The JNI crate's binary codecs, compiled here from its own source files: the crate is a
//! cdylib only, which no other crate can link, and these two modules need nothing of Java but
//! the `jint` type. Beside them, readers written again from what the Java side reads
//! (`BatchCursor`, `NativeResults`), so a target can check that what Rust writes reads back.

#[path = "../../rust/jni/src/batch.rs"]
#[allow(dead_code)]
mod batch;
#[path = "../../rust/jni/src/results.rs"]
#[allow(dead_code)]
mod results;

use ferrostate_engine::snapshot::{FileEntry, StateStats};

/// A scan batch written by the JNI crate's `BatchWriter` into a buffer of `cap` bytes holding
/// at most `max` entries: the entries it took (a prefix of `entries`), what the native method
/// returns, and the buffer.
pub struct WrittenBatch {
    /// Number of entries `push` accepted.
    pub accepted: usize,
    /// The native method's result: the number of entries, or `-n` for a first entry of `n`
    /// bytes that does not fit.
    pub result: Result<i32, String>,
    /// The whole buffer.
    pub buf: Vec<u8>,
}

/// Writes `entries` (state index, key, value) with the JNI crate's `BatchWriter` until it
/// refuses one; the buffer starts filled with `fill`.
pub fn write_batch(
    cap: usize,
    max: i32,
    fill: u8,
    entries: &[(Option<u32>, Vec<u8>, Vec<u8>)],
) -> WrittenBatch {
    let mut buf = vec![fill; cap];
    let mut w = batch::BatchWriter::new(&mut buf, max);
    let mut accepted = 0;
    for (state, k, v) in entries {
        if !w.push(*state, k, v) {
            break;
        }
        accepted += 1;
    }
    let result = w.result().map_err(|e| format!("{e:?}"));
    WrittenBatch {
        accepted,
        result,
        buf,
    }
}

/// One entry as the Java side reads it back.
pub type ReadEntry = (Option<u32>, Vec<u8>, Vec<u8>);

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if buf.len() < n {
        return None;
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Some(head)
}

fn u32_at(buf: &mut &[u8]) -> Option<u32> {
    take(buf, 4).map(|b| u32::from_be_bytes(b.try_into().unwrap()))
}

fn u64_at(buf: &mut &[u8]) -> Option<u64> {
    take(buf, 8).map(|b| u64::from_be_bytes(b.try_into().unwrap()))
}

/// Reads `count` entries of a scan batch as Java's `BatchCursor` does: per entry an optional
/// 4-byte state index, then `[i32 key length][key][i32 value length][value]`. Returns them and
/// the bytes read; `None` when the bytes run out or a length is negative.
pub fn read_batch(buf: &[u8], count: usize, tagged: bool) -> Option<(Vec<ReadEntry>, usize)> {
    let mut rest = buf;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let state = if tagged {
            Some(u32_at(&mut rest)?)
        } else {
            None
        };
        let klen = i32::try_from(u32_at(&mut rest)?).ok()? as usize;
        let key = take(&mut rest, klen)?.to_vec();
        let vlen = i32::try_from(u32_at(&mut rest)?).ok()? as usize;
        let value = take(&mut rest, vlen)?.to_vec();
        out.push((state, key, value));
    }
    Some((out, buf.len() - rest.len()))
}

/// The JNI crate's encoding of a manifest's files.
pub fn encode_files(files: &[FileEntry]) -> Vec<u8> {
    results::files(files)
}

/// The JNI crate's encoding of a snapshot's statistics.
pub fn encode_stats(stats: &[StateStats]) -> Vec<u8> {
    results::stats(stats)
}

fn read_str(buf: &mut &[u8]) -> Option<String> {
    let n = u32_at(buf)? as usize;
    String::from_utf8(take(buf, n)?.to_vec()).ok()
}

/// Reads what [`encode_files`] wrote, as `NativeResults.files` does; `None` on any damage or
/// trailing byte.
pub fn read_files(mut buf: &[u8]) -> Option<Vec<FileEntry>> {
    let n = u32_at(&mut buf)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = read_str(&mut buf)?;
        let size = u64_at(&mut buf)?;
        let crc32c = u32_at(&mut buf)?;
        out.push(FileEntry { name, size, crc32c });
    }
    buf.is_empty().then_some(out)
}

/// Reads what [`encode_stats`] wrote, as `NativeResults.stats` does (a key group of -1 is
/// absent); `None` on any damage or trailing byte.
pub fn read_stats(mut buf: &[u8]) -> Option<Vec<StateStats>> {
    let n = u32_at(&mut buf)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = read_str(&mut buf)?;
        let entries = u64_at(&mut buf)?;
        let bytes = u64_at(&mut buf)?;
        let kg = |v: u32| (v as i32 >= 0).then_some(v);
        let min_kg = kg(u32_at(&mut buf)?);
        let max_kg = kg(u32_at(&mut buf)?);
        out.push(StateStats {
            name,
            entries,
            bytes,
            min_kg,
            max_kg,
        });
    }
    buf.is_empty().then_some(out)
}
