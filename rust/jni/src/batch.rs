//! The batch formats that cross JNI, each written in one place.
//!
//! - Scans (the store's and the snapshot scans) hand entries to Java as, per entry, an
//!   optional 4-byte state index, then `[i32 key length][key][i32 value length][value]`.
//!   Java reads it in `ScanBatch` and `SnapshotScan`.
//! - A multi-get (`NativeStore.getMany`) reads its requests as `[i32 state][i32 key
//!   length][key]` each and answers `[i32 n][n bytes]` each, `n` being [`ABSENT`] or
//!   [`NOT_HOT`] when no value follows. Java writes and reads them in `NativeStore.Batch`.
//! - A multi-put (`NativeStore.putMany`) reads its writes as `[u8 op][i32 state][i32 prefix
//!   length][i32 key length][key]`, then `[i32 value length][value]` for the ops that write a
//!   value (see [`Write`]).
//!
//! All integers are big-endian.

use crate::{JniError, JniResult};
use ferrostate_engine::store::Read;
use jni::sys::jint;

/// A multi-get answer's length when the key holds nothing.
pub(crate) const ABSENT: i32 = -1;
/// A multi-get answer's length when the hot tier does not know the key (hot-only reads).
pub(crate) const NOT_HOT: i32 = -2;

/// Reads big-endian fields from a request batch, refusing to read past its end.
struct Fields<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn damaged(&self, detail: String) -> JniError {
        JniError::Arg(format!("damaged {}: {detail}", self.what))
    }

    fn take(&mut self, n: usize) -> JniResult<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(self.damaged(format!("{n} bytes wanted, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> JniResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> JniResult<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length field followed by that many bytes.
    fn field(&mut self) -> JniResult<&'a [u8]> {
        let len = self.i32()?;
        let len = usize::try_from(len).map_err(|_| self.damaged(format!("length {len}")))?;
        self.take(len)
    }
}

/// The `count` point reads of a multi-get request batch: state id and key each.
pub(crate) fn read_requests(bytes: &[u8], count: jint) -> JniResult<Vec<(u32, &[u8])>> {
    let count = usize::try_from(count)
        .map_err(|_| JniError::Arg(format!("a multi-get of {count} requests")))?;
    let mut fields = Fields {
        bytes,
        what: "multi-get request batch",
    };
    let mut requests = Vec::with_capacity(count.min(bytes.len() / 8));
    for _ in 0..count {
        let state = fields.i32()? as u32;
        requests.push((state, fields.field()?));
    }
    Ok(requests)
}

/// One write of a multi-put.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Write<'a> {
    /// Op 0: sets the value of a key.
    Put {
        state: u32,
        key: &'a [u8],
        value: &'a [u8],
    },
    /// Op 1: removes a key.
    Delete { state: u32, key: &'a [u8] },
    /// Op 2: sets a map entry whose first `prefix` key bytes name its map.
    PutEntry {
        state: u32,
        key: &'a [u8],
        prefix: usize,
        value: &'a [u8],
    },
    /// Op 3: removes a map entry whose first `prefix` key bytes name its map.
    DeleteEntry {
        state: u32,
        key: &'a [u8],
        prefix: usize,
    },
}

impl<'a> Write<'a> {
    /// The state and key the write goes to.
    pub(crate) fn target(&self) -> (u32, &'a [u8]) {
        match *self {
            Write::Put { state, key, .. }
            | Write::Delete { state, key }
            | Write::PutEntry { state, key, .. }
            | Write::DeleteEntry { state, key, .. } => (state, key),
        }
    }
}

/// The writes of a multi-put batch, in order.
pub(crate) fn read_writes(bytes: &[u8]) -> JniResult<Vec<Write<'_>>> {
    let mut fields = Fields {
        bytes,
        what: "multi-put batch",
    };
    let mut writes = Vec::new();
    while !fields.bytes.is_empty() {
        let op = fields.u8()?;
        let state = fields.i32()? as u32;
        let prefix = fields.i32()?;
        let key = fields.field()?;
        let prefix = usize::try_from(prefix)
            .ok()
            .filter(|&p| p <= key.len())
            .ok_or_else(|| {
                fields.damaged(format!("prefix {prefix} of a {}-byte key", key.len()))
            })?;
        writes.push(match op {
            0 => Write::Put {
                state,
                key,
                value: fields.field()?,
            },
            1 => Write::Delete { state, key },
            2 => Write::PutEntry {
                state,
                key,
                prefix,
                value: fields.field()?,
            },
            3 => Write::DeleteEntry { state, key, prefix },
            _ => return Err(fields.damaged(format!("unknown op {op}"))),
        });
    }
    Ok(writes)
}

/// Writes multi-get answers into a Java direct buffer until it is full.
pub(crate) struct AnswerWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    count: jint,
    /// Bytes the first answer needs when even it does not fit.
    too_big: Option<usize>,
}

impl<'a> AnswerWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> AnswerWriter<'a> {
        AnswerWriter {
            buf,
            pos: 0,
            count: 0,
            too_big: None,
        }
    }

    /// Appends an answer; false when the buffer is full and it was not written.
    pub(crate) fn push(&mut self, read: Read<'_>) -> bool {
        let (len, value): (i32, &[u8]) = match read {
            Read::Found(v) => match i32::try_from(v.len()) {
                Ok(n) => (n, v),
                Err(_) => {
                    self.too_big = Some(v.len());
                    return false;
                }
            },
            Read::Absent => (ABSENT, &[]),
            Read::NotHot => (NOT_HOT, &[]),
        };
        let need = 4 + value.len();
        if self.pos + need > self.buf.len() {
            if self.count == 0 {
                self.too_big = Some(need);
            }
            return false;
        }
        self.buf[self.pos..self.pos + 4].copy_from_slice(&len.to_be_bytes());
        self.buf[self.pos + 4..self.pos + need].copy_from_slice(value);
        self.pos += need;
        self.count += 1;
        true
    }

    /// What the native method returns: the number of answers written, or `-n` when the first
    /// answer needs `n` bytes and the buffer is smaller.
    pub(crate) fn result(&self) -> JniResult<jint> {
        match self.too_big {
            Some(n) => jint::try_from(n)
                .map(|n| -n)
                .map_err(|_| JniError::Arg(format!("a value of {n} bytes exceeds 2 GiB"))),
            None => Ok(self.count),
        }
    }
}

/// Writes entries into a Java direct buffer until it is full or holds `max` entries.
pub(crate) struct BatchWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    count: jint,
    max: jint,
    /// Bytes the first entry needs when even it does not fit.
    too_big: Option<usize>,
    /// An entry was refused (the batch is full): the scan did not reach its end.
    refused: bool,
}

/// Set in a scan's result when the batch holds every remaining entry: the scan reached the end of
/// its prefix, so the caller need not ask again (see `NativeStore#scan`). Batches hold far fewer
/// entries than this bit's value.
pub(crate) const SCAN_END: jint = 1 << 30;

impl<'a> BatchWriter<'a> {
    /// A writer filling `buf` from its start with at most `max` entries (at least one).
    pub(crate) fn new(buf: &'a mut [u8], max: jint) -> BatchWriter<'a> {
        BatchWriter {
            buf,
            pos: 0,
            count: 0,
            max: max.max(1),
            too_big: None,
            refused: false,
        }
    }

    /// Appends an entry (with its state index when `state` is given); false when the batch
    /// is full and the entry was not written.
    pub(crate) fn push(&mut self, state: Option<u32>, key: &[u8], value: &[u8]) -> bool {
        let tag = if state.is_some() { 4 } else { 0 };
        let need = tag + 8 + key.len() + value.len();
        if self.count >= self.max {
            self.refused = true;
            return false;
        }
        if self.pos + need > self.buf.len() {
            if self.count == 0 {
                self.too_big = Some(need);
            }
            self.refused = true;
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

    /// `result`, with [`SCAN_END`] set when no entry was refused: the scan that filled the batch
    /// ended by itself, so the batch holds all that is left. Call it only when the producer
    /// stops at the first refused entry and otherwise runs to the end of what it scans.
    pub(crate) fn scan_result(&self) -> JniResult<jint> {
        let n = self.result()?;
        Ok(if n >= 0 && !self.refused {
            n | SCAN_END
        } else {
            n
        })
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
        assert_eq!(w.scan_result().unwrap(), -16);
    }

    #[test]
    fn a_scan_that_ends_by_itself_says_so() {
        let mut buf = [0u8; 64];
        let mut w = BatchWriter::new(&mut buf, 2);
        assert_eq!(
            w.scan_result().unwrap(),
            SCAN_END,
            "nothing to scan: the end"
        );
        assert!(w.push(None, b"a", b"1"));
        assert_eq!(w.scan_result().unwrap(), 1 | SCAN_END);
        assert!(w.push(None, b"b", b"2"));
        assert_eq!(
            w.scan_result().unwrap(),
            2 | SCAN_END,
            "full, but nothing refused yet"
        );
        assert!(!w.push(None, b"c", b"3"));
        assert_eq!(
            w.scan_result().unwrap(),
            2,
            "an entry refused at the count limit"
        );

        let mut buf = [0u8; 20];
        let mut w = BatchWriter::new(&mut buf, 10);
        assert!(w.push(None, b"a", b"1"));
        assert!(!w.push(None, b"bbbbbbbb", b"2"));
        assert_eq!(
            w.scan_result().unwrap(),
            1,
            "an entry refused for want of space"
        );
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
    fn reads_multi_get_requests_and_refuses_damaged_ones() {
        let mut bytes = Vec::new();
        for (state, key) in [(3u32, &b"key"[..]), (0, b"")] {
            bytes.extend_from_slice(&state.to_be_bytes());
            bytes.extend_from_slice(&(key.len() as u32).to_be_bytes());
            bytes.extend_from_slice(key);
        }
        let requests = read_requests(&bytes, 2).unwrap();
        assert_eq!(requests, vec![(3, &b"key"[..]), (0, &b""[..])]);
        assert!(read_requests(&bytes, 3).is_err());
        assert!(read_requests(&bytes[..9], 1).is_err());
        assert!(read_requests(&bytes, -1).is_err());
        let mut negative = bytes.clone();
        negative[4..8].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(read_requests(&negative, 1).is_err());
    }

    fn write(op: u8, state: u32, prefix: i32, key: &[u8], value: Option<&[u8]>) -> Vec<u8> {
        let mut b = vec![op];
        b.extend_from_slice(&state.to_be_bytes());
        b.extend_from_slice(&prefix.to_be_bytes());
        b.extend_from_slice(&(key.len() as u32).to_be_bytes());
        b.extend_from_slice(key);
        if let Some(v) = value {
            b.extend_from_slice(&(v.len() as u32).to_be_bytes());
            b.extend_from_slice(v);
        }
        b
    }

    #[test]
    fn reads_multi_put_writes_and_refuses_damaged_ones() {
        let mut bytes = write(0, 1, 0, b"k", Some(b"v"));
        bytes.extend(write(1, 2, 0, b"gone", None));
        bytes.extend(write(2, 3, 2, b"mapk", Some(b"")));
        bytes.extend(write(3, 3, 3, b"mapk", None));
        let writes = read_writes(&bytes).unwrap();
        assert_eq!(
            writes,
            vec![
                Write::Put {
                    state: 1,
                    key: b"k",
                    value: b"v"
                },
                Write::Delete {
                    state: 2,
                    key: b"gone"
                },
                Write::PutEntry {
                    state: 3,
                    key: b"mapk",
                    prefix: 2,
                    value: b""
                },
                Write::DeleteEntry {
                    state: 3,
                    key: b"mapk",
                    prefix: 3
                },
            ]
        );
        assert!(read_writes(&bytes[..bytes.len() - 1]).is_err());
        assert!(read_writes(&write(9, 0, 0, b"k", None)).is_err());
        assert!(read_writes(&write(2, 0, 5, b"k", Some(b"v"))).is_err());
        assert!(read_writes(&write(3, 0, -1, b"k", None)).is_err());
        assert!(read_writes(&[]).unwrap().is_empty());
    }

    /// `NAME = value` of a `public static final int` or `byte` constant of `NativeStore.java`.
    fn java_code(name: &str) -> i32 {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../java/src/main/java/io/ferrostate/flink/nativ/NativeStore.java"
        );
        let text = std::fs::read_to_string(path).expect("NativeStore.java");
        text.lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix("public static final int ")
                    .or_else(|| l.strip_prefix("public static final byte "))
            })
            .filter_map(|l| l.trim_end_matches(';').split_once('='))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().parse().expect("a number"))
            .unwrap_or_else(|| panic!("no constant {name} in NativeStore.java"))
    }

    #[test]
    fn codes_mean_what_java_writes_and_reads() {
        assert_eq!(java_code("ANSWER_ABSENT"), ABSENT);
        assert_eq!(java_code("ANSWER_NOT_HOT"), NOT_HOT);
        let op = |name: &str| java_code(name) as u8;
        let cases = [
            ("WRITE_PUT", 0, Some(&b"v"[..])),
            ("WRITE_DELETE", 0, None),
            ("WRITE_PUT_ENTRY", 1, Some(&b"v"[..])),
            ("WRITE_DELETE_ENTRY", 1, None),
        ];
        for (name, prefix, value) in cases {
            let bytes = write(op(name), 1, prefix, b"k", value);
            let read = read_writes(&bytes).unwrap();
            let kind = match read[0] {
                Write::Put { .. } => "WRITE_PUT",
                Write::Delete { .. } => "WRITE_DELETE",
                Write::PutEntry { .. } => "WRITE_PUT_ENTRY",
                Write::DeleteEntry { .. } => "WRITE_DELETE_ENTRY",
            };
            assert_eq!(kind, name);
        }
    }

    #[test]
    fn answers_stop_when_the_buffer_is_full() {
        let mut buf = [0u8; 16];
        let mut w = AnswerWriter::new(&mut buf);
        assert!(w.push(Read::Found(b"abc")));
        assert!(w.push(Read::Absent));
        assert!(w.push(Read::NotHot));
        assert!(!w.push(Read::Found(b"x")));
        assert_eq!(w.result().unwrap(), 3);
        assert_eq!(
            buf,
            [0, 0, 0, 3, b'a', b'b', b'c', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0]
        );

        let mut small = [0u8; 4];
        let mut w = AnswerWriter::new(&mut small);
        assert!(!w.push(Read::Found(b"value")));
        assert_eq!(w.result().unwrap(), -9);
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
