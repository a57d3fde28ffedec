//! Key-group prefixes as Flink's `CompositeKeySerializationUtils` writes them: one byte when
//! the maximum parallelism is at most 128, else two, big-endian.

use crate::error::{Error, Result};

/// Number of prefix bytes for a maximum parallelism (Flink's
/// `CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix`).
pub fn prefix_bytes(max_parallelism: u32) -> usize {
    if max_parallelism > 128 {
        2
    } else {
        1
    }
}

/// Encodes a key group.
pub fn encode(kg: u32, prefix_bytes: usize) -> Result<Vec<u8>> {
    match prefix_bytes {
        1 if kg <= 0xff => Ok(vec![kg as u8]),
        2 if kg <= 0xffff => Ok((kg as u16).to_be_bytes().to_vec()),
        _ => Err(Error::InvalidArgument(format!(
            "key group {kg} does not fit {prefix_bytes} prefix bytes"
        ))),
    }
}

/// Decodes the key group at the start of `key`.
pub fn decode(key: &[u8], prefix_bytes: usize) -> Result<u32> {
    match (prefix_bytes, key) {
        (1, [a, ..]) => Ok(*a as u32),
        (2, [a, b, ..]) => Ok(u16::from_be_bytes([*a, *b]) as u32),
        _ => Err(Error::corrupt(
            "composite key",
            format!(
                "{} bytes cannot hold a {prefix_bytes}-byte key-group prefix",
                key.len()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_flink() {
        assert_eq!(prefix_bytes(128), 1);
        assert_eq!(prefix_bytes(129), 2);
        assert_eq!(encode(5, 1).unwrap(), vec![5]);
        assert_eq!(encode(300, 2).unwrap(), vec![1, 44]);
        assert!(encode(300, 1).is_err());
        assert_eq!(decode(&[1, 44, 9], 2).unwrap(), 300);
        assert!(decode(&[1], 2).is_err());
        // Big-endian prefixes sort by key group.
        assert!(encode(255, 2).unwrap() < encode(256, 2).unwrap());
    }
}
