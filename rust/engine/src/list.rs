//! The store's list format and its conversion to Flink's.
//!
//! A list value is a run of elements, each `[u32 big-endian length][element bytes]`. Unlike
//! Flink's RocksDB format (elements separated by a `,` byte, see `ListDelimitedSerializer`),
//! element boundaries are known without the element's `TypeSerializer`, so the native TTL
//! compaction filter can drop single expired elements and appends are plain concatenation
//! (the merge operator below). Canonical savepoints use Flink's format: [`to_delimited`]
//! converts on the way out; the way in needs the serializer and happens in Java.

use crate::error::{Error, Result};

/// Flink's delimiter between list elements in the canonical (RocksDB) format.
pub const FLINK_DELIMITER: u8 = b',';

/// Length of an element's header.
pub const HEADER: usize = 4;

/// Iterates the elements of a list value; an element that runs past the end is an error.
pub struct Elements<'a> {
    rest: &'a [u8],
}

/// Elements of `value`.
pub fn elements(value: &[u8]) -> Elements<'_> {
    Elements { rest: value }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let Some((head, tail)) = self.rest.split_first_chunk::<HEADER>() else {
            self.rest = &[];
            return Some(Err(Error::corrupt(
                "list value",
                "truncated element header",
            )));
        };
        let len = u32::from_be_bytes(*head) as usize;
        if tail.len() < len {
            self.rest = &[];
            return Some(Err(Error::corrupt(
                "list value",
                format!("element of {len} bytes but only {} bytes left", tail.len()),
            )));
        }
        let (elem, rest) = tail.split_at(len);
        self.rest = rest;
        Some(Ok(elem))
    }
}

/// Appends one element in the store's format.
pub fn push_element(out: &mut Vec<u8>, element: &[u8]) {
    out.extend_from_slice(&(element.len() as u32).to_be_bytes());
    out.extend_from_slice(element);
}

/// Converts a list value to Flink's delimited format.
pub fn to_delimited(value: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    for (i, e) in elements(value).enumerate() {
        if i > 0 {
            out.push(FLINK_DELIMITER);
        }
        out.extend_from_slice(e?);
    }
    Ok(())
}

/// Checks that `value` is a well-formed list value.
pub fn validate(value: &[u8]) -> Result<usize> {
    let mut n = 0;
    for e in elements(value) {
        e?;
        n += 1;
    }
    Ok(n)
}

/// RocksDB merge operator for list values: appends are concatenation.
pub fn merge_concat(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let total = existing.map_or(0, <[u8]>::len) + operands.iter().map(<[u8]>::len).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    if let Some(e) = existing {
        out.extend_from_slice(e);
    }
    for op in operands.iter() {
        out.extend_from_slice(op);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_delimited() {
        let mut v = Vec::new();
        push_element(&mut v, b"ab");
        push_element(&mut v, b"");
        push_element(&mut v, b"xyz");
        let got: Vec<&[u8]> = elements(&v).map(|e| e.unwrap()).collect();
        assert_eq!(got, vec![&b"ab"[..], b"", b"xyz"]);
        let mut d = Vec::new();
        to_delimited(&v, &mut d).unwrap();
        assert_eq!(d, b"ab,,xyz");
        assert_eq!(validate(&v).unwrap(), 3);
    }

    #[test]
    fn truncated_is_an_error() {
        let mut v = Vec::new();
        push_element(&mut v, b"abcdef");
        v.truncate(7);
        assert!(validate(&v).is_err());
        assert!(validate(&[0, 0]).is_err());
        assert_eq!(validate(&[]).unwrap(), 0);
    }
}
