//! Snapshots of a store: an immutable directory of files (a RocksDB checkpoint) described by
//! a versioned manifest that records each file's size and CRC-32C, and a reader that walks a
//! snapshot's entries in key-group order for Flink's canonical savepoint format.

use crate::error::{Error, Result};
use crate::keygroup;
use crate::list;
use crate::memory::SharedMemory;
use crate::store::{open_read_only, scan_cf, ScanStart, StateKind};
use rocksdb::DB;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// File name of the manifest inside a snapshot directory.
pub const MANIFEST_NAME: &str = "FERROSTATE-MANIFEST";

const MAGIC: &[u8; 8] = b"FERROMF\x01";

/// The manifest format this build writes; it reads this one and older ones.
pub const FORMAT_VERSION: u32 = 1;

/// Largest manifest accepted when decoding (a corrupt length must not allocate gigabytes).
const MAX_MANIFEST: usize = 64 << 20;

/// One file of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the snapshot directory.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC-32C (Castagnoli) of the whole file.
    pub crc32c: u32,
}

/// What a snapshot directory holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of the snapshot.
    pub format_version: u32,
    /// Every file but the manifest itself, sorted by name.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Encodes the manifest: magic, version, payload length, bincode payload, CRC-32C of it.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let payload = bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| Error::corrupt("manifest", format!("cannot encode: {e}")))?;
        let mut out = Vec::with_capacity(payload.len() + 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.format_version.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
        Ok(out)
    }

    /// Decodes a manifest, checking magic, version, length and checksum.
    pub fn decode(bytes: &[u8]) -> Result<Manifest> {
        let bad = |detail: String| Error::corrupt(MANIFEST_NAME, detail);
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a ferrostate manifest (bad magic or too short)".into()
            ));
        }
        let version = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version == 0 || version > FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version} is not supported (this build reads 1..={FORMAT_VERSION})"
            )));
        }
        let len = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        if len > MAX_MANIFEST || bytes.len() != 16 + len + 4 {
            return Err(bad(format!(
                "payload length {len} does not match the {} bytes present",
                bytes.len()
            )));
        }
        let payload = &bytes[16..16 + len];
        let stored = u32::from_be_bytes([
            bytes[16 + len],
            bytes[17 + len],
            bytes[18 + len],
            bytes[19 + len],
        ]);
        let actual = crc32c::crc32c(payload);
        if stored != actual {
            return Err(bad(format!(
                "checksum mismatch: stored crc32c {stored:08x}, computed {actual:08x}"
            )));
        }
        let config = bincode::config::standard().with_limit::<MAX_MANIFEST>();
        let (m, used): (Manifest, usize) = bincode::serde::decode_from_slice(payload, config)
            .map_err(|e| bad(format!("cannot decode: {e}")))?;
        if used != payload.len() {
            return Err(bad("trailing bytes after the manifest".into()));
        }
        if m.format_version != version {
            return Err(bad("header and payload disagree on the version".into()));
        }
        if let Some(f) = m.files.iter().find(|f| !is_plain_file_name(&f.name)) {
            return Err(bad(format!(
                "file name {:?} does not name a file inside the snapshot directory",
                f.name
            )));
        }
        Ok(m)
    }

    /// Reads and decodes the manifest of `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_NAME);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Manifest::decode(&bytes)
    }

    /// Total size of the files (saturating: a decoded manifest may record any sizes).
    pub fn total_size(&self) -> u64 {
        self.files
            .iter()
            .fold(0u64, |t, f| t.saturating_add(f.size))
    }
}

/// True for the name of a file directly inside a directory: not empty, not `.` or `..`, with
/// no separator or NUL. A manifest names nothing else; a damaged or hostile one would make
/// [`verify`] read files outside the snapshot directory.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// CRC-32C and length of a file, read in 1 MiB pieces.
pub fn crc_file(path: &Path) -> Result<(u32, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut crc = 0u32;
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        len += n as u64;
    }
    Ok((crc, len))
}

/// SST files never change once written, so their checksum can be taken from an earlier
/// manifest; every other file (RocksDB's MANIFEST, OPTIONS, CURRENT) is read again.
fn is_immutable(name: &str) -> bool {
    name.ends_with(".sst") || name.ends_with(".blob")
}

/// Writes the manifest of snapshot directory `dir`, reading only the files whose checksum
/// `known` (name -> (size, crc32c), from earlier manifests) does not give.
pub fn write_manifest(dir: &Path, known: &HashMap<String, (u64, u32)>) -> Result<Manifest> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST_NAME {
            continue;
        }
        let meta = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        if !meta.is_file() {
            return Err(Error::InvalidArgument(format!(
                "snapshot directory {} holds a non-file entry {name}",
                dir.display()
            )));
        }
        let size = meta.len();
        let crc = match known.get(&name) {
            Some(&(s, c)) if s == size && is_immutable(&name) => c,
            _ => crc_file(&entry.path())?.0,
        };
        files.push(FileEntry {
            name,
            size,
            crc32c: crc,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let m = Manifest {
        format_version: FORMAT_VERSION,
        files,
    };
    let path = dir.join(MANIFEST_NAME);
    std::fs::write(&path, m.encode()?).map_err(|e| Error::io(&path, e))?;
    Ok(m)
}

/// Checks every file the manifest of `dir` lists: present, of the recorded size, with the
/// recorded checksum. The first problem is the error, naming the file.
pub fn verify(dir: &Path) -> Result<Manifest> {
    verify_known(dir, &HashMap::new())
}

/// As [`verify`], with the length and checksum of some files already known (taken while they
/// were downloaded; name -> (size, crc32c), as for [`write_manifest`]): those are compared
/// without reading the files again.
pub fn verify_known(dir: &Path, known: &HashMap<String, (u64, u32)>) -> Result<Manifest> {
    let m = Manifest::read(dir)?;
    for f in &m.files {
        let path: PathBuf = dir.join(&f.name);
        if !path.is_file() {
            return Err(Error::corrupt(
                path.display().to_string(),
                "file listed in the manifest is missing",
            ));
        }
        let (crc, len) = match known.get(&f.name) {
            Some(&(len, crc)) => (crc, len),
            None => crc_file(&path)?,
        };
        if crc != f.crc32c || len != f.size {
            return Err(Error::ChecksumMismatch {
                file: path,
                expected: f.crc32c,
                actual: crc,
                expected_len: f.size,
                actual_len: len,
            });
        }
    }
    Ok(m)
}

/// Where a key-group-ordered scan stands between two batches.
#[derive(Clone, Debug, Default)]
pub struct KgCursor {
    /// Key group being read.
    pub kg: u32,
    /// Index (into the scan's state list) of the state being read.
    pub state: usize,
    /// Last key handed out in this key group and state.
    pub last_key: Option<Vec<u8>>,
    /// True once every key group is done.
    pub done: bool,
}

/// A snapshot directory opened read-only, for canonical savepoints and inspection.
pub struct SnapshotReader {
    db: DB,
    dir: PathBuf,
    scratch: Vec<u8>,
}

impl SnapshotReader {
    /// Opens snapshot directory `dir`.
    pub fn open(dir: &Path, memory: &SharedMemory) -> Result<SnapshotReader> {
        Ok(SnapshotReader {
            db: open_read_only(dir, memory)?,
            dir: dir.to_path_buf(),
            scratch: Vec::new(),
        })
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Names of the column families (states) present.
    pub fn state_names(&self) -> Result<Vec<String>> {
        Ok(DB::list_cf(&rocksdb::Options::default(), &self.dir)?
            .into_iter()
            .filter(|n| n != rocksdb::DEFAULT_COLUMN_FAMILY_NAME)
            .collect())
    }

    /// Visits the entries of `states` (names and kinds), key group by key group from
    /// `cursor.kg` to `last_kg`, and within a key group state by state, until `sink` returns
    /// false. List values are handed out in Flink's delimited format. `sink` gets the index
    /// of the state in `states`, the key and the value.
    pub fn scan_key_groups(
        &mut self,
        states: &[(String, StateKind)],
        prefix_bytes: usize,
        last_kg: u32,
        cursor: &mut KgCursor,
        mut sink: impl FnMut(usize, &[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        while !cursor.done {
            if cursor.kg > last_kg {
                cursor.done = true;
                break;
            }
            if cursor.state >= states.len() {
                cursor.kg += 1;
                cursor.state = 0;
                cursor.last_key = None;
                continue;
            }
            let (name, kind) = &states[cursor.state];
            let cf = self.db.cf_handle(name).ok_or_else(|| {
                Error::corrupt(
                    self.dir.display().to_string(),
                    format!("snapshot has no column family for state {name:?}"),
                )
            })?;
            let prefix = keygroup::encode(cursor.kg, prefix_bytes)?;
            let last = cursor.last_key.take();
            let start = match &last {
                Some(k) => ScanStart::At {
                    key: k,
                    exclusive: true,
                },
                None => ScanStart::First,
            };
            let state_idx = cursor.state;
            let scratch = &mut self.scratch;
            let mut accepted_last: Option<Vec<u8>> = None;
            let mut stopped = false;
            scan_cf(&self.db, cf, &prefix, start, |k, v| {
                let value = if *kind == StateKind::List {
                    list::to_delimited(v, scratch)?;
                    &scratch[..]
                } else {
                    v
                };
                if sink(state_idx, k, value)? {
                    accepted_last = Some(k.to_vec());
                    Ok(true)
                } else {
                    stopped = true;
                    Ok(false)
                }
            })?;
            if stopped {
                cursor.last_key = accepted_last.or(last);
                return Ok(());
            }
            cursor.state += 1;
            cursor.last_key = None;
        }
        Ok(())
    }

    /// Number of entries and bytes (keys plus values) per state, and per key group.
    pub fn stats(&self, prefix_bytes: usize) -> Result<Vec<StateStats>> {
        let mut out = Vec::new();
        for name in self.state_names()? {
            let cf = self
                .db
                .cf_handle(&name)
                .ok_or_else(|| Error::corrupt(self.dir.display().to_string(), "missing cf"))?;
            let mut s = StateStats {
                name: name.clone(),
                ..StateStats::default()
            };
            scan_cf(&self.db, cf, &[], ScanStart::First, |k, v| {
                let kg = keygroup::decode(k, prefix_bytes)?;
                s.entries += 1;
                s.bytes += (k.len() + v.len()) as u64;
                s.min_kg = Some(s.min_kg.map_or(kg, |m: u32| m.min(kg)));
                s.max_kg = Some(s.max_kg.map_or(kg, |m: u32| m.max(kg)));
                Ok(true)
            })?;
            out.push(s);
        }
        Ok(out)
    }
}

/// What one state of a snapshot holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateStats {
    /// State name.
    pub name: String,
    /// Number of entries.
    pub entries: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
    /// Lowest key group present.
    pub min_kg: Option<u32>,
    /// Highest key group present.
    pub max_kg: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_damage() {
        let m = Manifest {
            format_version: FORMAT_VERSION,
            files: vec![FileEntry {
                name: "000012.sst".into(),
                size: 77,
                crc32c: 0xdeadbeef,
            }],
        };
        let bytes = m.encode().unwrap();
        assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(Manifest::decode(&b).is_err(), "flip at {i} went unnoticed");
        }
        assert!(Manifest::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    fn manifest_of(names: &[&str], size: u64) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            files: names
                .iter()
                .map(|n| FileEntry {
                    name: n.to_string(),
                    size,
                    crc32c: 0,
                })
                .collect(),
        }
    }

    /// Found by the `manifest` fuzz target: a manifest whose checksum matches may still name
    /// paths outside its directory, which `verify` would then read.
    #[test]
    fn names_outside_the_directory_are_refused() {
        let fuzzed = "464552524f4d4601000000010000002c01070a3030303032342e6c6f6700000a00460100\
                      00044552524f4d4601000046000100000001007500000100f68bc8c0";
        let fuzzed: Vec<u8> = (0..fuzzed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&fuzzed[i..i + 2], 16).unwrap())
            .collect();
        let err = Manifest::decode(&fuzzed).unwrap_err().to_string();
        assert!(err.contains("does not name a file inside"), "{err}");
        for name in ["../CURRENT", "/etc/passwd", "a/b", "", ".", "..", "a\0b"] {
            let bytes = manifest_of(&["000012.sst", name], 1).encode().unwrap();
            assert!(Manifest::decode(&bytes).is_err(), "{name:?} accepted");
        }
        let ok = manifest_of(&["000012.sst", "CURRENT", "MANIFEST-000005", "..sst"], 1);
        assert_eq!(Manifest::decode(&ok.encode().unwrap()).unwrap(), ok);
    }

    #[test]
    fn total_size_saturates() {
        assert_eq!(
            manifest_of(&["a", "b"], u64::MAX / 2 + 1).total_size(),
            u64::MAX
        );
    }
}

/// Magic at the start of the meta stream of ferrostate's native snapshots.
pub const INDEX_MAGIC: &[u8; 8] = b"FERROMT\x01";

/// One file of a native snapshot as uploaded to Flink's checkpoint storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    /// Name in the snapshot directory (RocksDB's file name).
    pub local_name: String,
    /// Where the checkpoint storage keeps it (a file URI), or empty when it is held inline.
    pub remote: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC-32C of the whole file.
    pub crc32c: u32,
    /// True for files shared between checkpoints (SST files).
    pub shared: bool,
}

/// The index written at the start of a native snapshot's meta stream: what the snapshot holds
/// and where each file went, readable without Java by `ferrostate inspect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotIndex {
    /// Format of the index.
    pub format_version: u32,
    /// Checkpoint id.
    pub checkpoint_id: u64,
    /// First key group of the backend that wrote it.
    pub key_group_start: u32,
    /// Last key group (inclusive).
    pub key_group_end: u32,
    /// Bytes of the key-group prefix.
    pub prefix_bytes: u32,
    /// States (column families) by name, with their kind code.
    pub states: Vec<(String, u8)>,
    /// Priority queues (timers) by name; their elements follow in the meta stream.
    pub queues: Vec<String>,
    /// Every file of the snapshot.
    pub files: Vec<IndexFile>,
}

impl SnapshotIndex {
    /// `[magic][u32 length][bincode payload][u32 crc32c of payload]`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let payload = bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| Error::corrupt("snapshot index", format!("cannot encode: {e}")))?;
        let mut out = Vec::with_capacity(payload.len() + 16);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
        Ok(out)
    }

    /// Decodes an index from the start of `bytes`; returns it and the bytes it took.
    pub fn decode(bytes: &[u8]) -> Result<(SnapshotIndex, usize)> {
        let bad = |d: String| Error::corrupt("snapshot index", d);
        if bytes.len() < 16 || &bytes[..8] != INDEX_MAGIC {
            return Err(bad(
                "not a ferrostate snapshot (no index magic): written by another state backend?"
                    .into(),
            ));
        }
        let len = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        if len > MAX_MANIFEST || bytes.len() < 12 + len + 4 {
            return Err(bad(format!("index of {len} bytes is truncated")));
        }
        let payload = &bytes[12..12 + len];
        let crc = u32::from_be_bytes([
            bytes[12 + len],
            bytes[13 + len],
            bytes[14 + len],
            bytes[15 + len],
        ]);
        let actual = crc32c::crc32c(payload);
        if crc != actual {
            return Err(bad(format!(
                "checksum mismatch: stored crc32c {crc:08x}, computed {actual:08x}"
            )));
        }
        let config = bincode::config::standard().with_limit::<MAX_MANIFEST>();
        let (index, _): (SnapshotIndex, usize) = bincode::serde::decode_from_slice(payload, config)
            .map_err(|e| bad(format!("cannot decode: {e}")))?;
        if index.format_version == 0 || index.format_version > FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} is not supported",
                index.format_version
            )));
        }
        Ok((index, 16 + len))
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    #[test]
    fn index_round_trip_and_damage() {
        let index = SnapshotIndex {
            format_version: FORMAT_VERSION,
            checkpoint_id: 7,
            key_group_start: 0,
            key_group_end: 127,
            prefix_bytes: 1,
            states: vec![("s".into(), 1)],
            queues: vec!["timers".into()],
            files: vec![IndexFile {
                local_name: "000009.sst".into(),
                remote: "file:///x/shared/abc".into(),
                size: 10,
                crc32c: 3,
                shared: true,
            }],
        };
        let mut bytes = index.encode().unwrap();
        bytes.extend_from_slice(b"java part");
        let (back, used) = SnapshotIndex::decode(&bytes).unwrap();
        assert_eq!(back, index);
        assert_eq!(&bytes[used..], b"java part");
        bytes[14] ^= 1;
        assert!(SnapshotIndex::decode(&bytes).is_err());
        assert!(SnapshotIndex::decode(b"something else entirely").is_err());
    }
}
