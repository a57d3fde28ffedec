//! A check of the SST files in a directory this process did not write, before RocksDB opens
//! them: the parts RocksDB parses before it verifies any checksum.
//!
//! RocksDB (11.8) reads an SST's properties block twice when it opens the file: first without
//! checksum verification (kept for ingested files whose global sequence number was changed
//! after writing), parsing its entries, and only then verifying the checksum. A damaged
//! properties block whose entry claims a shared key prefix longer than the previous key makes
//! `MetaBlockIter` copy past its buffer (`IterKey::TrimAppend`): a SIGSEGV, in a TaskManager a
//! JVM crash (the `restore` fuzz target found it, fuzz/README.md). So before RocksDB sees a file,
//! this check walks what RocksDB walks on open:
//!
//! 1. the footer (magic number, format version, checksum type; for format version 6 and up its
//!    own checksum with context, and the metaindex block's place);
//! 2. the metaindex block and the properties block it points at: each block's trailer
//!    (uncompressed, as RocksDB writes meta blocks) and its checksum with the block's context,
//!    exactly as `VerifyBlockChecksum` computes it;
//! 3. each block's structure, whatever its checksum says (a hostile writer can compute a
//!    checksum): the restart array inside the block, every entry's three lengths inside the
//!    entries region, no shared prefix longer than the previous key, every restart point on an
//!    entry boundary whose shared prefix is 0 (RocksDB seeks to restart points and parses from
//!    there with an empty key).
//!
//! It reads the footer and the two meta blocks, not the file: a few KiB per file. Data and index
//! blocks are left to RocksDB, which verifies their checksums before it parses them.

use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// `kBlockBasedTableMagicNumber`: ferrostate writes only block-based tables.
const MAGIC: u64 = 0x88e2_41b7_85f4_cff7;
/// `Footer::kNewVersionsEncodedLength`: checksum type, two block handles' room, format
/// version, magic number.
const FOOTER: usize = 1 + 2 * 20 + 4 + 8;
/// `kExtendedMagic` of format version 6 and up.
const EXTENDED_MAGIC: [u8; 4] = [0x3e, 0x00, 0x7a, 0x00];
/// A block's trailer: compression type, checksum.
const TRAILER: usize = 5;
/// `DataBlockFooter::kMaxNumRestarts`; bits above it are data-block features meta blocks never use.
const MAX_RESTARTS: u32 = (1 << 28) - 1;
/// Meta blocks larger than this are refused rather than read (RocksDB's are a few KiB).
const MAX_META_BLOCK: u64 = 64 << 20;
/// `kPropertiesBlockName`.
const PROPERTIES: &[u8] = b"rocksdb.properties";

/// What [`check`] walked through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sst {
    /// The footer's format version (RocksDB 11.8 writes 7).
    pub format_version: u32,
    /// RocksDB's `ChecksumType` (4: XXH3, RocksDB's default).
    pub checksum_type: u8,
    /// Entries of the metaindex block (one per meta block).
    pub metaindex_entries: usize,
    /// 0 when the file has no properties block.
    pub properties_entries: usize,
}

/// Where the bytes of one file come from: a slice (tests, fuzzing) or a file read in parts.
trait Source {
    fn len(&self) -> u64;
    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>>;
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        usize::try_from(offset)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::InvalidArgument(format!("{len} bytes at {offset}: past the end")))
    }
}

struct FileSource<'a> {
    file: File,
    len: u64,
    path: &'a Path,
}

impl Source for FileSource<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| Error::io(self.path, e))?;
        Ok(buf)
    }
}

/// Checks the SST bytes `data` of the file `name`.
pub fn check(name: &str, data: &[u8]) -> Result<Sst> {
    walk(name, &data)
}

/// Checks the SST file at `path`, reading only its footer and meta blocks.
pub fn check_file(path: &Path) -> Result<Sst> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    walk(&path.display().to_string(), &FileSource { file, len, path })
}

/// A block handle: offset and size of a block without its trailer.
#[derive(Clone, Copy, Debug)]
struct Handle {
    offset: u64,
    size: u64,
}

struct Footer {
    format_version: u32,
    checksum_type: u8,
    base_context: u32,
    metaindex: Handle,
}

fn walk(name: &str, src: &dyn Source) -> Result<Sst> {
    let bad = |detail: String| Error::corrupt(name, detail);
    let footer = footer(src, &bad)?;
    let metaindex = entries(&block(src, &footer, footer.metaindex, "metaindex", &bad)?)
        .map_err(|e| bad(format!("metaindex block: {e}")))?;
    let mut sst = Sst {
        format_version: footer.format_version,
        checksum_type: footer.checksum_type,
        metaindex_entries: metaindex.len(),
        properties_entries: 0,
    };
    if let Some((_, value)) = metaindex.iter().find(|(k, _)| k == PROPERTIES) {
        let mut at = &value[..];
        let handle = Handle {
            offset: varint64(&mut at).ok_or_else(|| bad("properties handle".into()))?,
            size: varint64(&mut at).ok_or_else(|| bad("properties handle".into()))?,
        };
        let props = entries(&block(src, &footer, handle, "properties", &bad)?)
            .map_err(|e| bad(format!("properties block: {e}")))?;
        sst.properties_entries = props.len();
    }
    Ok(sst)
}

fn footer(src: &dyn Source, bad: &dyn Fn(String) -> Error) -> Result<Footer> {
    let len = src.len();
    if len < FOOTER as u64 {
        return Err(bad(format!("{len} bytes is too short for an SST footer")));
    }
    let footer_offset = len - FOOTER as u64;
    let f = src.read(footer_offset, FOOTER)?;
    let magic = u64::from_le_bytes(f[FOOTER - 8..].try_into().expect("8 bytes"));
    if magic != MAGIC {
        return Err(bad(format!(
            "magic number {magic:#x} is not a block-based table's"
        )));
    }
    let format_version = u32::from_le_bytes(f[FOOTER - 12..FOOTER - 8].try_into().expect("4"));
    if !(2..=7).contains(&format_version) {
        return Err(bad(format!("unsupported format version {format_version}")));
    }
    let checksum_type = f[0];
    if checksum_type > 4 {
        return Err(bad(format!("unknown checksum type {checksum_type}")));
    }
    if format_version < 6 {
        let mut at = &f[1..];
        let metaindex = Handle {
            offset: varint64(&mut at).ok_or_else(|| bad("metaindex handle".into()))?,
            size: varint64(&mut at).ok_or_else(|| bad("metaindex handle".into()))?,
        };
        return Ok(Footer {
            format_version,
            checksum_type,
            base_context: 0,
            metaindex,
        });
    }
    if f[1..5] != EXTENDED_MAGIC {
        return Err(bad("bad extended magic number in the footer".into()));
    }
    let stored = u32::from_le_bytes(f[5..9].try_into().expect("4"));
    let base_context = u32::from_le_bytes(f[9..13].try_into().expect("4"));
    let metaindex_size = u32::from_le_bytes(f[13..17].try_into().expect("4"));
    if checksum_type != 0 {
        if context_modifier(base_context, 0) == 0 {
            return Err(bad("invalid base context checksum".into()));
        }
        let mut copy = f.clone();
        copy[5..9].fill(0);
        let computed = checksum(checksum_type, &copy)
            .wrapping_add(context_modifier(base_context, footer_offset));
        if computed != stored {
            return Err(bad(format!("footer at {footer_offset}: checksum mismatch")));
        }
    }
    let metaindex_end = footer_offset
        .checked_sub(TRAILER as u64 + u64::from(metaindex_size))
        .ok_or_else(|| {
            bad(format!(
                "metaindex size {metaindex_size} past the file's start"
            ))
        })?;
    Ok(Footer {
        format_version,
        checksum_type,
        base_context,
        metaindex: Handle {
            offset: metaindex_end,
            size: u64::from(metaindex_size),
        },
    })
}

/// Reads the block at `handle`, checks its trailer and checksum, returns its contents.
fn block(
    src: &dyn Source,
    footer: &Footer,
    handle: Handle,
    what: &str,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<u8>> {
    let Handle { offset, size } = handle;
    let fits = size <= MAX_META_BLOCK
        && offset
            .checked_add(size + TRAILER as u64)
            .is_some_and(|end| end <= src.len() - FOOTER as u64);
    if !fits {
        return Err(bad(format!(
            "{what} block at {offset} of {size} bytes is not inside the file"
        )));
    }
    let size = size as usize;
    let mut data = src.read(offset, size + TRAILER)?;
    let compression = data[size];
    if compression != 0 {
        return Err(bad(format!(
            "{what} block at {offset} has compression type {compression}; meta blocks are stored uncompressed"
        )));
    }
    if footer.checksum_type != 0 {
        let stored = u32::from_le_bytes(data[size + 1..].try_into().expect("4"));
        let computed = checksum(footer.checksum_type, &data[..=size]);
        if stored.wrapping_sub(context_modifier(footer.base_context, offset)) != computed {
            return Err(bad(format!("{what} block at {offset}: checksum mismatch")));
        }
    }
    data.truncate(size);
    Ok(data)
}

/// `ChecksumModifierForContext` (table/format.h).
fn context_modifier(base: u32, offset: u64) -> u32 {
    if base == 0 {
        return 0;
    }
    base ^ (offset as u32).wrapping_add((offset >> 32) as u32)
}

/// `ComputeBuiltinChecksum` (table/format.cc) over `data`, whose last byte is the compression
/// type for a block and the footer's last byte for the footer.
fn checksum(ty: u8, data: &[u8]) -> u32 {
    match ty {
        1 => {
            let crc = crc32c::crc32c(data);
            crc.rotate_right(15).wrapping_add(0xa282_ead8)
        }
        2 => xxhash_rust::xxh32::xxh32(data, 0),
        3 => xxhash_rust::xxh64::xxh64(data, 0) as u32,
        4 => match data.split_last() {
            None => 0,
            Some((&last, head)) => {
                (xxhash_rust::xxh3::xxh3_64(head) as u32)
                    ^ u32::from(last).wrapping_mul(0x6b90_83d9)
            }
        },
        _ => 0,
    }
}

fn varint(at: &mut &[u8], max_bytes: usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..max_bytes {
        let (&b, rest) = at.split_first()?;
        *at = rest;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn varint64(at: &mut &[u8]) -> Option<u64> {
    varint(at, 10)
}

fn varint32(at: &mut &[u8]) -> Option<u32> {
    varint(at, 5).and_then(|v| u32::try_from(v).ok())
}

/// One entry of a block: key (rebuilt from its shared prefix), value.
type Entry = (Vec<u8>, Vec<u8>);

/// The entries of a meta block (keys rebuilt from their shared prefixes), or what is wrong with
/// its structure.
fn entries(block: &[u8]) -> std::result::Result<Vec<Entry>, String> {
    let Some(footer_at) = block.len().checked_sub(4) else {
        return Err(format!("{} bytes is too short for a block", block.len()));
    };
    let packed = u32::from_le_bytes(block[footer_at..].try_into().expect("4"));
    if packed > MAX_RESTARTS {
        return Err(format!(
            "block footer {packed:#x} has data-block feature bits set"
        ));
    }
    let restarts = packed as usize;
    let Some(restart_offset) = footer_at.checked_sub(restarts * 4) else {
        return Err(format!("{restarts} restart points do not fit the block"));
    };
    if restarts == 0 {
        return Err("no restart point".into());
    }
    let restart_points: Vec<usize> = block[restart_offset..footer_at]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4")) as usize)
        .collect();
    // Walk the entries region front to back, as `NextImpl` does.
    let region = &block[..restart_offset];
    let mut out: Vec<Entry> = Vec::new();
    let mut starts = Vec::new(); // (offset, shared) of each entry
    let mut key: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < region.len() {
        let mut rest = &region[at..];
        let (Some(shared), Some(non_shared), Some(value_len)) = (
            varint32(&mut rest),
            varint32(&mut rest),
            varint32(&mut rest),
        ) else {
            return Err(format!("entry at {at}: bad lengths"));
        };
        let (shared, non_shared, value_len) =
            (shared as usize, non_shared as usize, value_len as usize);
        if shared > key.len() {
            return Err(format!(
                "entry at {at}: shared prefix {shared} is longer than the previous key ({})",
                key.len()
            ));
        }
        if non_shared
            .checked_add(value_len)
            .is_none_or(|n| n > rest.len())
        {
            return Err(format!("entry at {at}: key and value run past the entries"));
        }
        starts.push((at, shared));
        key.truncate(shared);
        key.extend_from_slice(&rest[..non_shared]);
        out.push((
            key.clone(),
            rest[non_shared..non_shared + value_len].to_vec(),
        ));
        at = region.len() - rest.len() + non_shared + value_len;
    }
    // Every restart point is where an entry with no shared prefix starts (or, in a block with
    // no entries, the entries' end), in order: RocksDB seeks to them and parses from there.
    let mut previous = None;
    for &point in &restart_points {
        let on_entry = starts
            .binary_search_by_key(&point, |&(offset, _)| offset)
            .ok()
            .map(|i| starts[i].1 == 0);
        let fits = match on_entry {
            Some(unshared) => unshared,
            None => point == 0 && region.is_empty(),
        };
        if !fits || previous.is_some_and(|p| p >= point) {
            return Err(format!(
                "restart point {point} is not the start of an entry without a shared prefix"
            ));
        }
        previous = Some(point);
    }
    Ok(out)
}

/// Sets the checksums of the footer, the metaindex block and the properties block of the SST
/// bytes `file` to what RocksDB computes, where those parts can be found: what a writer that
/// forges checksums does. For tests and fuzzing, so that changed bytes reach the structure walk
/// of [`check`] instead of stopping at a checksum.
#[doc(hidden)]
pub fn forge_checksums(file: &mut [u8]) {
    let len = file.len();
    if len < FOOTER {
        return;
    }
    let at = len - FOOTER;
    let (ty, version) = (
        file[at],
        u32::from_le_bytes(file[len - 12..len - 8].try_into().expect("4")),
    );
    if version >= 6 && (1..=4).contains(&ty) {
        let base = u32::from_le_bytes(file[at + 9..at + 13].try_into().expect("4"));
        let mut copy = file[at..].to_vec();
        copy[5..9].fill(0);
        let sum = checksum(ty, &copy).wrapping_add(context_modifier(base, at as u64));
        file[at + 5..at + 9].copy_from_slice(&sum.to_le_bytes());
    }
    let bad = |d| Error::corrupt("", d);
    let Ok(footer) = footer(&&file[..], &bad) else {
        return;
    };
    let forge = |file: &mut [u8], h: Handle| {
        let fits = h.size <= MAX_META_BLOCK
            && h.offset
                .checked_add(h.size + TRAILER as u64)
                .is_some_and(|end| end <= at as u64);
        if !fits {
            return false;
        }
        let (start, size) = (h.offset as usize, h.size as usize);
        let sum = checksum(footer.checksum_type, &file[start..=start + size])
            .wrapping_add(context_modifier(footer.base_context, h.offset));
        file[start + size + 1..start + size + TRAILER].copy_from_slice(&sum.to_le_bytes());
        true
    };
    if footer.checksum_type == 0 || !forge(file, footer.metaindex) {
        return;
    }
    let Ok(meta) = block(&&file[..], &footer, footer.metaindex, "metaindex", &bad) else {
        return;
    };
    let Some((_, value)) = entries(&meta)
        .ok()
        .and_then(|e| e.into_iter().find(|(k, _)| k == PROPERTIES))
    else {
        return;
    };
    let mut v = &value[..];
    if let (Some(offset), Some(size)) = (varint64(&mut v), varint64(&mut v)) {
        forge(file, Handle { offset, size });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A meta block as RocksDB's `BlockBuilder` writes one with restart interval 1.
    fn meta_block(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        let mut restarts = Vec::new();
        for (k, v) in entries {
            restarts.push(b.len() as u32);
            b.extend_from_slice(&[0, k.len() as u8, v.len() as u8]);
            b.extend_from_slice(k);
            b.extend_from_slice(v);
        }
        if restarts.is_empty() {
            restarts.push(0);
        }
        for r in &restarts {
            b.extend_from_slice(&r.to_le_bytes());
        }
        b.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        b
    }

    #[test]
    fn a_written_block_reads_back() {
        let b = meta_block(&[(b"a", b"1"), (b"rocksdb.properties", b"\x05\x06")]);
        let e = entries(&b).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].0, b"rocksdb.properties");
        assert_eq!(e[1].1, b"\x05\x06");
        assert!(entries(&meta_block(&[])).unwrap().is_empty());
    }

    #[test]
    fn a_shared_prefix_longer_than_the_previous_key_is_refused() {
        let mut b = meta_block(&[(b"ab", b"1"), (b"cd", b"2")]);
        b[6] = 3; // second entry: shared 3, previous key "ab"
        let err = entries(&b).unwrap_err();
        assert!(err.contains("shared prefix 3"), "{err}");
    }

    #[test]
    fn a_restart_point_inside_an_entry_is_refused() {
        let mut b = meta_block(&[(b"ab", b"1"), (b"cd", b"2")]);
        let n = b.len();
        b[n - 8] = 2; // second restart point: 2, inside the first entry
        let err = entries(&b).unwrap_err();
        assert!(err.contains("restart point 2"), "{err}");
    }

    #[test]
    fn lengths_past_the_block_and_feature_bits_are_refused() {
        let mut b = meta_block(&[(b"ab", b"1")]);
        b[2] = 100; // value length past the entries
        assert!(entries(&b).unwrap_err().contains("run past"));
        let mut b = meta_block(&[(b"ab", b"1")]);
        let n = b.len();
        b[n - 1] = 0x80; // kHashIndexBit
        assert!(entries(&b).unwrap_err().contains("feature bits"));
        let mut b = meta_block(&[(b"ab", b"1")]);
        b[n - 4] = 9; // 9 restart points in a 10-byte block
        assert!(entries(&b).unwrap_err().contains("do not fit"));
    }

    #[test]
    fn checksums_match_rocksdbs_definitions() {
        // CRC-32C masked as `crc32c::Mask`; XXH3 with the last byte folded in.
        assert_eq!(checksum(1, b""), 0xa282_ead8);
        assert_eq!(checksum(4, b""), 0);
        assert_eq!(
            checksum(4, b"ab"),
            (xxhash_rust::xxh3::xxh3_64(b"a") as u32) ^ u32::from(b'b').wrapping_mul(0x6b90_83d9)
        );
        assert_eq!(context_modifier(0, 123), 0);
        assert_eq!(context_modifier(7, (1 << 32) + 1), 7 ^ 2);
    }

    /// An SST RocksDB wrote (the third file of the fuzzer's snapshot, which it left intact)
    /// passes, and forging its checksums changes nothing: the checksums are RocksDB's.
    #[test]
    fn an_intact_sst_passes_and_its_checksums_are_rocksdbs() {
        let intact = include_bytes!("../tests/data/rocksdb-sst-properties-crash/000016.sst");
        let sst = check("000016.sst", intact).unwrap();
        assert_eq!((sst.checksum_type, sst.format_version), (4, 7));
        assert!(sst.properties_entries > 10, "{sst:?}");
        let mut forged = intact.to_vec();
        forge_checksums(&mut forged);
        assert!(
            forged == intact,
            "forging changed an intact file's checksums"
        );
    }

    /// The `rocks_files` fuzz target's first find (in this test helper, not in the check): a
    /// format-version-5 footer whose metaindex handle has a size near 2^64 overflowed an addition
    /// in `forge_checksums`. Both refuse it now.
    #[test]
    fn a_footer_with_a_huge_metaindex_size_is_refused() {
        let mut file = vec![
            0xde, 0x04, 0xaa, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x35, 0x00, 0x00, 0x9a, 0x6d, 0x76, 0x02, 0x0a, 0x0b, 0x01, 0x00, 0x25, 0x63, 0x00,
            0x05, 0x00, 0x00, 0x00, 0xf7, 0xcf, 0xf4, 0x85, 0xb7, 0x41, 0xe2, 0x88,
        ];
        let err = check("x.sst", &file).unwrap_err().to_string();
        assert!(err.contains("metaindex block at"), "{err}");
        forge_checksums(&mut file);
        assert!(check("x.sst", &file).is_err());
    }

    /// The fuzzer's crashing SST (its properties block damaged, so its checksum no longer
    /// matches) with the checksum forged to match: the structure check refuses it all the same.
    #[test]
    fn the_fuzzers_crash_is_refused_even_with_a_forged_checksum() {
        let crashing = include_bytes!("../tests/data/rocksdb-sst-properties-crash/000014.sst");
        let err = check("000014.sst", crashing).unwrap_err().to_string();
        assert!(
            err.contains("properties block at 525: checksum mismatch"),
            "{err}"
        );
        let mut forged = crashing.to_vec();
        forge_checksums(&mut forged);
        let err = check("000014.sst", &forged).unwrap_err().to_string();
        assert!(err.contains("properties block: entry at"), "{err}");
        assert!(!err.contains("checksum"), "{err}");
    }

    #[test]
    fn short_or_foreign_files_are_refused() {
        assert!(check("x.sst", b"tiny").is_err());
        let mut f = vec![0u8; 100];
        let err = check("x.sst", &f).unwrap_err().to_string();
        assert!(err.contains("magic number"), "{err}");
        let n = f.len();
        f[n - 8..].copy_from_slice(&MAGIC.to_le_bytes());
        f[n - 12..n - 8].copy_from_slice(&9u32.to_le_bytes());
        let err = check("x.sst", &f).unwrap_err().to_string();
        assert!(err.contains("format version 9"), "{err}");
    }
}
