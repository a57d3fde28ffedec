//! A snapshot directory packed into one byte string, so libFuzzer can damage its files:
//! `[flags]`, then per file `[u8 name length][name][u32 big-endian length][bytes]`. The last
//! file takes whatever bytes remain when its length runs past the end (truncating the input
//! truncates a file). Names that cannot be a file name in a directory are skipped.

use std::path::Path;

/// Write the manifest again over the files as unpacked, so damaged files get past
/// verification and reach RocksDB.
pub const REWRITE_MANIFEST: u8 = 1;
/// Fix the manifest's envelope (payload length and CRC-32C) around its payload as unpacked, so
/// a damaged payload reaches the decoder instead of failing the checksum.
pub const FIX_ENVELOPE: u8 = 2;

/// At most this many files are unpacked.
const MAX_FILES: usize = 64;

/// True for a name that names a file inside a directory (no separator, not `.` or `..`).
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Packs every file of `dir` (sorted by name) with `flags`.
pub fn pack(dir: &Path, flags: u8) -> std::io::Result<Vec<u8>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut out = vec![flags];
    for name in names {
        let bytes = std::fs::read(dir.join(&name))?;
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// The files of a packed directory, and its flags.
pub fn files(data: &[u8]) -> (u8, Vec<(String, &[u8])>) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut out: Vec<(String, &[u8])> = Vec::new();
    while let Some((&n, tail)) = rest.split_first() {
        if tail.len() < n as usize || out.len() >= MAX_FILES {
            break;
        }
        let (name, tail) = tail.split_at(n as usize);
        let (len, tail) = match tail.split_first_chunk::<4>() {
            Some((len, tail)) => (u32::from_be_bytes(*len) as usize, tail),
            None => (0, &[][..]),
        };
        let (bytes, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        let name = String::from_utf8_lossy(name).into_owned();
        if plain_name(&name) && !out.iter().any(|(n, _)| *n == name) {
            out.push((name, bytes));
        }
    }
    (flags, out)
}

/// Unpacks `data` into the existing directory `dir` and applies its flags; returns them.
pub fn unpack(data: &[u8], dir: &Path) -> u8 {
    let (flags, files) = files(data);
    for (name, bytes) in files {
        // A name the file system refuses (too long, say) leaves the file out.
        let _ = std::fs::write(dir.join(name), bytes);
    }
    let manifest = dir.join(ferrostate_engine::snapshot::MANIFEST_NAME);
    if flags & FIX_ENVELOPE != 0 {
        if let Ok(bytes) = std::fs::read(&manifest) {
            let _ = std::fs::write(&manifest, fix_manifest_envelope(&bytes));
        }
    }
    if flags & REWRITE_MANIFEST != 0 {
        let _ = std::fs::remove_file(&manifest);
        let _ = ferrostate_engine::snapshot::write_manifest(dir, &Default::default());
    }
    flags
}

/// A manifest's bytes with its payload length and CRC-32C set to match the payload (the
/// bytes from offset 16 up to the last 4); too short inputs come back unchanged.
pub fn fix_manifest_envelope(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 20 {
        return bytes.to_vec();
    }
    let mut out = bytes.to_vec();
    let payload_len = bytes.len() - 20;
    out[12..16].copy_from_slice(&(payload_len as u32).to_be_bytes());
    let crc = crc32c::crc32c(&bytes[16..16 + payload_len]);
    out[16 + payload_len..].copy_from_slice(&crc.to_be_bytes());
    out
}

/// A snapshot index's bytes (`[magic][u32 length][payload][u32 crc32c]`, then anything) with
/// its declared length cut to the bytes present and the CRC-32C set to match the payload.
pub fn fix_index_envelope(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 16 {
        return bytes.to_vec();
    }
    let mut out = bytes.to_vec();
    let declared = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let len = declared.min(bytes.len() - 16);
    out[8..12].copy_from_slice(&(len as u32).to_be_bytes());
    let crc = crc32c::crc32c(&bytes[12..12 + len]);
    out[12 + len..16 + len].copy_from_slice(&crc.to_be_bytes());
    out
}
