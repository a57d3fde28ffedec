//! The batch format in which scans hand entries to Java, written in one place for both the
//! store's scans and the snapshot scans: per entry an optional 4-byte state index, then
//! `[i32 key length][key][i32 value length][value]`, all big-endian. Java reads it in
//! `ScanBatch` and `SnapshotScan`.

use crate::{JniError, JniResult};
use jni::sys::jint;

/// Writes entries into a Java direct buffer until it is full or holds `max` entries.
pub(crate) struct BatchWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    count: jint,
    max: jint,
    /// Bytes the first entry needs when even it does not fit.
    too_big: Option<usize>,
}

impl<'a> BatchWriter<'a> {
    /// A writer filling `buf` from its start with at most `max` entries (at least one).
    pub(crate) fn new(buf: &'a mut [u8], max: jint) -> BatchWriter<'a> {
        BatchWriter {
            buf,
            pos: 0,
            count: 0,
            max: max.max(1),
            too_big: None,
        }
    }

    /// Appends an entry (with its state index when `state` is given); false when the batch
    /// is full and the entry was not written.
    pub(crate) fn push(&mut self, state: Option<u32>, key: &[u8], value: &[u8]) -> bool {
        let tag = if state.is_some() { 4 } else { 0 };
        let need = tag + 8 + key.len() + value.len();
        if self.count >= self.max {
            return false;
        }
        if self.pos + need > self.buf.len() {
            if self.count == 0 {
                self.too_big = Some(need);
            }
            return false;
        }
        let mut field = |bytes: &[u8]| {
            self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
            self.pos += bytes.len();
        };
        if let Some(state) = state {
            field(&state.to_be_bytes());
        }
        field(&(key.len() as u32).to_be_bytes());
        field(key);
        field(&(value.len() as u32).to_be_bytes());
        field(value);
        self.count += 1;
        true
    }

    /// What the native method returns: the number of entries written, or `-n` when the first
    /// entry needs `n` bytes and the buffer is smaller.
    pub(crate) fn result(&self) -> JniResult<jint> {
        match self.too_big {
            Some(n) => jint::try_from(n)
                .map(|n| -n)
                .map_err(|_| JniError::Arg(format!("an entry of {n} bytes exceeds 2 GiB"))),
            None => Ok(self.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batch_stops_and_reports_what_the_first_entry_needs() {
        let mut buf = [0u8; 12];
        let mut w = BatchWriter::new(&mut buf, 10);
        assert!(w.push(None, b"k", b"v"));
        assert!(!w.push(None, b"key", b"value"));
        assert_eq!(w.result().unwrap(), 1);

        let mut small = [0u8; 4];
        let mut w = BatchWriter::new(&mut small, 10);
        assert!(!w.push(Some(0), b"key", b"v"));
        assert_eq!(w.result().unwrap(), -16);
    }

    /// The batches both sides test against (`tests/data/scan-batch.txt`; the Java side reads
    /// them in `BatchCursorTest`).
    fn shared_vector(tagged: bool) -> Vec<u8> {
        let text = include_str!("../tests/data/scan-batch.txt");
        let kind = if tagged { "tagged " } else { "untagged " };
        let line = text.lines().find(|l| l.starts_with(kind)).unwrap();
        let hex = line.rsplit(' ').next().unwrap();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn writes_the_batches_java_reads() {
        let mut buf = [0u8; 256];
        let mut w = BatchWriter::new(&mut buf, 100);
        for (k, v) in [
            (&b"k1"[..], &b"v1"[..]),
            (b"", b"empty key"),
            (b"key3", b""),
        ] {
            assert!(w.push(None, k, v));
        }
        assert_eq!(w.result().unwrap(), 3);
        let expected = shared_vector(false);
        assert_eq!(&buf[..expected.len()], &expected[..]);

        let mut buf = [0u8; 256];
        let mut w = BatchWriter::new(&mut buf, 100);
        assert!(w.push(Some(0), b"a", b"b"));
        assert!(w.push(Some(5), b"kk", b"vvv"));
        let expected = shared_vector(true);
        assert_eq!(&buf[..expected.len()], &expected[..]);
    }

    #[test]
    fn at_most_max_entries() {
        let mut buf = [0u8; 64];
        let mut w = BatchWriter::new(&mut buf, 1);
        assert!(w.push(None, b"a", b"b"));
        assert!(!w.push(None, b"a", b"b"));
        assert_eq!(w.result().unwrap(), 1);
    }
}
