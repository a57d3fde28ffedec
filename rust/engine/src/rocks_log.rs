//! A check of RocksDB's log files (its MANIFEST and WAL files) in a directory this process did
//! not write, before RocksDB reads them.
//!
//! RocksDB's log reader (11.8) loops forever on one kind of damage: a record of a "recyclable"
//! type after a record of an ordinary one. `ReadPhysicalRecord` then answers "bad record"
//! without consuming the record, and `ReadRecord` asks again, at 100% CPU, for good (the
//! `restore` fuzz target found it: a damaged snapshot's MANIFEST hung `DB::list_cf`, so a
//! restore from such a checkpoint would hang its task instead of failing it). ferrostate never
//! recycles log files (`recycle_log_file_num` stays 0), so a record of a recyclable type in
//! one of its log files is damage: this check refuses it with a clear error.
//!
//! The walk follows the reader's: 32 KiB blocks, in each a sequence of records (4-byte masked
//! CRC-32C, 2-byte little-endian length, 1-byte type, payload); fewer than 7 bytes left in a
//! block are its padding. Where the reader gives up on the rest of a block (a length past the
//! block, a checksum mismatch, a zero record) the walk goes on at the next block, as the reader
//! may, so every record header the reader can reach is looked at.

use crate::error::{Error, Result};

/// RocksDB's `log::kBlockSize`.
const BLOCK: usize = 32 * 1024;
/// RocksDB's `log::kHeaderSize`: checksum, length, type.
const HEADER: usize = 4 + 2 + 1;
/// RocksDB's `kMaskDelta` (`util/crc32c.h`).
const MASK_DELTA: u32 = 0xa282_ead8;

/// The record types RocksDB writes only into recycled log files.
fn recyclable(ty: u8) -> bool {
    matches!(ty, 5..=8 | 11 | 131)
}

fn unmask(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(MASK_DELTA);
    rot.rotate_left(15)
}

/// What [`check`] walked through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Records read whole, with a matching checksum.
    pub records: usize,
    /// Blocks whose rest was skipped, as the reader skips it: a record longer than what is
    /// left of its block (a cut tail), a checksum mismatch or a zero record. 0 for a file
    /// RocksDB wrote and closed.
    pub blocks_cut: usize,
}

/// Checks the log-format bytes `data` of the file `name`: an error names the first record of
/// a recyclable type and where it is.
pub fn check(name: &str, data: &[u8]) -> Result<Walk> {
    let mut walk = Walk::default();
    for (index, block) in data.chunks(BLOCK).enumerate() {
        let mut at = 0;
        while block.len() - at >= HEADER {
            let header = &block[at..at + HEADER];
            let ty = header[6];
            if recyclable(ty) {
                return Err(Error::corrupt(
                    name,
                    format!(
                        "a log record of type {ty} (of recycled log files, which ferrostate never \
                         writes) at byte {}",
                        index * BLOCK + at
                    ),
                ));
            }
            let len = u16::from_le_bytes([header[4], header[5]]) as usize;
            let end = at + HEADER + len;
            let stored = unmask(u32::from_le_bytes([
                header[0], header[1], header[2], header[3],
            ]));
            if end > block.len()
                || (ty == 0 && len == 0)
                || crc32c::crc32c(&block[at + 6..end]) != stored
            {
                walk.blocks_cut += 1;
                break;
            }
            walk.records += 1;
            at = end;
        }
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(crc: u32) -> u32 {
        crc.rotate_right(15).wrapping_add(MASK_DELTA)
    }

    /// One record as RocksDB writes it (non-recyclable header).
    fn record(ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut covered = vec![ty];
        covered.extend_from_slice(payload);
        let mut r = mask(crc32c::crc32c(&covered)).to_le_bytes().to_vec();
        r.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        r.push(ty);
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn masking_round_trips() {
        for crc in [0u32, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(unmask(mask(crc)), crc);
        }
    }

    #[test]
    fn ordinary_records_and_block_padding_pass() {
        let mut log = record(1, b"first");
        log.extend(record(2, &[7u8; 100]));
        log.extend(record(4, b"last"));
        // A record that leaves fewer than a header's bytes in the block: they are padding, and
        // the next record starts the second block.
        let fill = BLOCK - 3 - log.len() - HEADER;
        log.extend(record(3, &vec![9u8; fill]));
        log.extend([0, 0, 0]);
        assert_eq!(log.len(), BLOCK);
        log.extend(record(1, b"in the second block"));
        let walk = check("MANIFEST-000001", &log).unwrap();
        assert_eq!(
            walk,
            Walk {
                records: 5,
                blocks_cut: 0
            }
        );
        assert_eq!(check("empty.log", &[]).unwrap(), Walk::default());
    }

    #[test]
    fn a_recyclable_record_after_an_ordinary_one_is_refused() {
        // The shape the fuzzer found: RocksDB 11.8 loops forever reading it.
        let mut log = record(1, b"an ordinary record");
        log.extend(record(5, &[1u8; 40]));
        let err = check("MANIFEST-000005", &log).unwrap_err().to_string();
        assert!(err.contains("MANIFEST-000005"), "{err}");
        assert!(err.contains("type 5"), "{err}");
        assert!(err.contains(&format!("byte {}", HEADER + 18)), "{err}");
    }

    #[test]
    fn a_recyclable_header_the_reader_reaches_after_a_damaged_block_is_refused() {
        // A checksum mismatch makes the reader drop the rest of the block and read on.
        let mut log = record(1, b"ok");
        let mut bad = record(1, b"damaged");
        bad[0] ^= 0xff;
        log.extend(bad);
        log.extend(record(8, b"never reached in this block"));
        log.resize(BLOCK, 0);
        assert_eq!(
            check("x.log", &log).unwrap(),
            Walk {
                records: 1,
                blocks_cut: 1
            }
        );
        log.extend(record(6, b"but this one is"));
        assert!(check("x.log", &log).is_err());
    }

    #[test]
    fn a_truncated_tail_passes() {
        let mut log = record(1, b"whole");
        let tail = record(1, b"cut short");
        log.extend(&tail[..tail.len() - 3]);
        assert_eq!(
            check("000003.log", &log).unwrap(),
            Walk {
                records: 1,
                blocks_cut: 1
            }
        );
    }
}
