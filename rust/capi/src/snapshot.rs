//! Snapshots: a store written to a directory with a checksummed manifest, verified, and
//! restored from one directory or merged from several (keeping the store's key groups).

use crate::args::{self, Out};
use crate::error::{call, CResult, CallError};
use crate::ferrostate_status;
use crate::store::{ferrostate_options, ferrostate_store, with_store, Open, Settings};
use ferrostate_engine::snapshot::{self, Manifest, MANIFEST_NAME};
use std::collections::HashMap;
use std::ffi::c_char;
use std::fs;
use std::path::{Path, PathBuf};

/// What a snapshot holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ferrostate_snapshot_info {
    /// Files of the snapshot (the manifest not counted).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files the previous snapshot of the same store handle (or the snapshot it was restored
    /// from) did not hold: what an incremental copy of this snapshot must transfer. For
    /// `ferrostate_snapshot_verify`, every file.
    pub new_files: u64,
    /// Their bytes.
    pub new_bytes: u64,
}

/// Files of a manifest whose checksum a later snapshot may take over: name -> (size, crc).
fn known_of(m: &Manifest) -> HashMap<String, (u64, u32)> {
    m.files
        .iter()
        .map(|f| (f.name.clone(), (f.size, f.crc32c)))
        .collect()
}

/// File of a snapshot (listed and checksummed by its manifest) that records the key groups
/// of the store it was taken of, so a restore can refuse another key-group layout.
pub const KEY_GROUPS_NAME: &str = "FERROSTATE-KEY-GROUPS";

const KEY_GROUPS_MAGIC: &[u8; 8] = b"FERROKG\x01";

/// The key groups a snapshot holds: `[start, end]` of `max_parallelism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SnapshotKeyGroups {
    max_parallelism: u32,
    start: u32,
    end: u32,
}

impl SnapshotKeyGroups {
    fn encode(&self) -> Vec<u8> {
        let mut out = KEY_GROUPS_MAGIC.to_vec();
        for n in [self.max_parallelism, self.start, self.end] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> CResult<SnapshotKeyGroups> {
        let bad = || {
            CallError::new(
                ferrostate_status::Corrupt,
                format!("{KEY_GROUPS_NAME} is not 8 bytes of magic and 3 numbers"),
            )
        };
        let rest = bytes.strip_prefix(&KEY_GROUPS_MAGIC[..]).ok_or_else(bad)?;
        let n: [u8; 12] = rest.try_into().map_err(|_| bad())?;
        let at = |i: usize| u32::from_be_bytes([n[i], n[i + 1], n[i + 2], n[i + 3]]);
        Ok(SnapshotKeyGroups {
            max_parallelism: at(0),
            start: at(4),
            end: at(8),
        })
    }

    /// What the snapshot `dir` (verified, with manifest `m`) records; `None` for a snapshot
    /// written without it (by the JNI library).
    fn read(dir: &Path, m: &Manifest) -> CResult<Option<SnapshotKeyGroups>> {
        if !m.files.iter().any(|f| f.name == KEY_GROUPS_NAME) {
            return Ok(None);
        }
        let path = dir.join(KEY_GROUPS_NAME);
        let bytes = fs::read(&path).map_err(|e| ferrostate_engine::Error::io(&path, e))?;
        Self::decode(&bytes).map(Some)
    }
}

/// Verifies the snapshot directory `dir` against its manifest, with clear errors for a
/// missing directory (`Io`) and a missing manifest (`Corrupt`).
fn verify_dir(dir: &Path) -> CResult<Manifest> {
    if !dir.is_dir() {
        return Err(CallError::new(
            ferrostate_status::Io,
            format!("snapshot directory {} does not exist", dir.display()),
        ));
    }
    if !dir.join(MANIFEST_NAME).is_file() {
        return Err(CallError::new(
            ferrostate_status::Corrupt,
            format!(
                "{} holds no {MANIFEST_NAME}: not a complete ferrostate snapshot",
                dir.display()
            ),
        ));
    }
    Ok(snapshot::verify(dir)?)
}

/// Takes a snapshot of the store: writes the hot tier back, flushes RocksDB's memtables, and
/// writes into `dir` (which must not exist; its parent must) hard links of the store's data
/// files, copies of the rest, the store's key groups, and a manifest with each file's size
/// and CRC-32C. Only files
/// that are new since the store's previous snapshot are read for their checksum, so a
/// snapshot costs what changed. The directory is immutable afterwards: restore from it with
/// `ferrostate_store_restore`, copy it elsewhere, check it with `ferrostate_snapshot_verify`.
///
/// When `info` is not NULL it receives what the snapshot holds.
///
/// # Safety
///
/// `store` is NULL or a live store handle; `dir` is NULL or a C string, read during the call
/// only; `info` is NULL or points to a writable `ferrostate_snapshot_info`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_snapshot(
    store: *mut ferrostate_store,
    dir: *const c_char,
    info: *mut ferrostate_snapshot_info,
) -> ferrostate_status {
    call("ferrostate_store_snapshot", || {
        // SAFETY: the caller's promise.
        let dir = unsafe { args::path("dir", dir) }?;
        // SAFETY: the caller's promise.
        let info_out = unsafe { Out::optional(info) };
        if dir.exists() {
            return Err(CallError::invalid(format!(
                "snapshot directory {} exists already",
                dir.display()
            )));
        }
        // SAFETY: the caller's promise.
        let info = unsafe {
            with_store(store, |o| {
                o.store.checkpoint(&dir)?;
                let kg = o.key_groups;
                let groups = SnapshotKeyGroups {
                    max_parallelism: kg.max_parallelism,
                    start: kg.start,
                    end: kg.end,
                };
                let path = dir.join(KEY_GROUPS_NAME);
                fs::write(&path, groups.encode())
                    .map_err(|e| ferrostate_engine::Error::io(&path, e))?;
                let m = snapshot::write_manifest(&dir, &o.known)?;
                let mut info = ferrostate_snapshot_info::default();
                for f in &m.files {
                    info.files += 1;
                    info.bytes += f.size;
                    if o.known.get(&f.name) != Some(&(f.size, f.crc32c)) {
                        info.new_files += 1;
                        info.new_bytes += f.size;
                    }
                }
                o.known = known_of(&m);
                Ok(info)
            })
        }?;
        if let Some(mut out) = info_out {
            out.set(info);
        }
        Ok(())
    })
}

/// Checks the snapshot directory `dir` without opening it: its manifest is intact, and every
/// file it lists is present with the recorded size and CRC-32C. A missing directory is
/// `FERROSTATE_STATUS_IO`, a missing or damaged manifest or a missing file
/// `FERROSTATE_STATUS_CORRUPT`, a changed file `FERROSTATE_STATUS_CHECKSUM_MISMATCH` (the
/// message names the file). When `info` is not NULL it receives what the snapshot holds.
///
/// # Safety
///
/// `dir` is NULL or a C string, read during the call only; `info` is NULL or points to a
/// writable `ferrostate_snapshot_info`.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_snapshot_verify(
    dir: *const c_char,
    info: *mut ferrostate_snapshot_info,
) -> ferrostate_status {
    call("ferrostate_snapshot_verify", || {
        // SAFETY: the caller's promise.
        let dir = unsafe { args::path("dir", dir) }?;
        // SAFETY: the caller's promise.
        let info_out = unsafe { Out::optional(info) };
        let m = verify_dir(&dir)?;
        if let Some(mut out) = info_out {
            let bytes = m.total_size();
            let files = m.files.len() as u64;
            out.set(ferrostate_snapshot_info {
                files,
                bytes,
                new_files: files,
                new_bytes: bytes,
            });
        }
        Ok(())
    })
}

/// Puts the files `m` lists of snapshot `from` into the new directory `to`: data files
/// (immutable) as hard links where the file system allows, the rest as copies (RocksDB
/// rewrites those).
fn materialize(from: &Path, m: &Manifest, to: &Path) -> CResult<()> {
    let io = |path: &Path, e| CallError::from(ferrostate_engine::Error::io(path, e));
    fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for f in m.files.iter().filter(|f| f.name != KEY_GROUPS_NAME) {
        let (src, dst) = (from.join(&f.name), to.join(&f.name));
        let linked = (f.name.ends_with(".sst") || f.name.ends_with(".blob"))
            && fs::hard_link(&src, &dst).is_ok();
        if !linked {
            fs::copy(&src, &dst).map_err(|e| io(&src, e))?;
        }
    }
    Ok(())
}

/// True when `path` is missing or an empty directory: a restore may fill it.
fn is_empty_target(path: &Path) -> CResult<bool> {
    match fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(ferrostate_engine::Error::io(path, e).into()),
    }
}

/// Restores into the working directory of `settings` (missing or empty) from `dirs`, all
/// verified first: the first is the base, clipped to the store's key groups; the others'
/// entries in those key groups are imported.
fn restore(settings: Settings, dirs: &[PathBuf]) -> CResult<Open> {
    if dirs.is_empty() {
        return Err(CallError::invalid(
            "no snapshot directory given (count is 0)",
        ));
    }
    let manifests = dirs
        .iter()
        .map(|d| verify_dir(d))
        .collect::<CResult<Vec<_>>>()?;
    let kg = settings.key_groups;
    let mut wanted = Vec::with_capacity(dirs.len());
    for (dir, m) in dirs.iter().zip(&manifests) {
        let overlaps = match SnapshotKeyGroups::read(dir, m)? {
            Some(held) if held.max_parallelism != kg.max_parallelism => {
                return Err(CallError::invalid(format!(
                    "snapshot {} holds key groups of max_parallelism {}, the options say {}",
                    dir.display(),
                    held.max_parallelism,
                    kg.max_parallelism
                )))
            }
            Some(held) => held.start <= kg.end && kg.start <= held.end,
            None => true,
        };
        wanted.push(overlaps);
    }
    let target = settings.store.path.clone();
    if !is_empty_target(&target)? {
        return Err(CallError::invalid(format!(
            "{} is not empty: a store is restored into a new directory",
            target.display()
        )));
    }
    let existed = target.exists();
    let restored = (|| {
        materialize(&dirs[0], &manifests[0], &target)?;
        let mut open = Open::new(settings)?;
        open.store
            .clip_key_groups(kg.prefix_bytes, kg.start, kg.end)?;
        for (i, (dir, m)) in dirs.iter().zip(&manifests).enumerate().skip(1) {
            if !wanted[i] {
                continue; // none of its key groups are the store's
            }
            // A copy to import from: RocksDB writes into a directory even to read it.
            let mut name = target.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".import-{i}"));
            let tmp = target.with_file_name(name);
            let _ = fs::remove_dir_all(&tmp);
            let imported = materialize(dir, m, &tmp).and_then(|()| {
                Ok(open
                    .store
                    .import_key_groups(&tmp, kg.prefix_bytes, kg.start, kg.end)?)
            });
            let _ = fs::remove_dir_all(&tmp);
            imported?;
        }
        open.known = known_of(&manifests[0]);
        Ok(open)
    })();
    if restored.is_err() {
        // Leave the directory as it was found (missing or empty), so a retry can use it.
        let _ = fs::remove_dir_all(&target);
        if existed {
            let _ = fs::create_dir(&target);
        }
    }
    restored
}

/// Restores a store from `count` snapshot directories (from `ferrostate_store_snapshot`) into
/// the new working directory `options->path` (missing or empty), keeping only the key groups
/// `[options->key_group_start, options->key_group_end]`: with one directory, the store as it
/// was (or the part of it those key groups hold); with several (snapshots of stores that
/// owned other key groups), their entries in those key groups merged. Put first the snapshot
/// that holds most of them: it is linked in as a whole, the others are copied entry by entry.
///
/// `options->max_parallelism` must be the one the snapshots were taken with (a snapshot
/// records it; another is `FERROSTATE_STATUS_INVALID_ARGUMENT`); snapshots that hold none of
/// the store's key groups are skipped.
///
/// Every snapshot is verified before anything is written; a damaged one fails the call with
/// the status of `ferrostate_snapshot_verify`, and leaves `options->path` as it was. The
/// snapshot directories are only read. The states come back with their ids and names (see
/// `ferrostate_state_count`); register each with its kind before using it.
///
/// On success `*out` is a new store the caller owns: close it with `ferrostate_store_close`.
/// On error `*out` is not written.
///
/// # Safety
///
/// `options` as for `ferrostate_store_open`; `dirs` is NULL (with `count` 0) or points to
/// `count` C strings (read during the call only); `out` is NULL or points to writable memory
/// for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ferrostate_store_restore(
    options: *const ferrostate_options,
    dirs: *const *const c_char,
    count: usize,
    out: *mut *mut ferrostate_store,
) -> ferrostate_status {
    call("ferrostate_store_restore", || {
        // SAFETY: the caller's promise.
        let mut out = unsafe { Out::new("out", out) }?;
        // SAFETY: the caller's promise.
        let settings = unsafe { Settings::from_c(options) }?;
        // SAFETY: the caller's promise.
        let dirs = unsafe { args::paths("dirs", dirs, count) }?;
        let open = restore(settings, &dirs)?;
        out.set(Box::into_raw(ferrostate_store::boxed(open)));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_groups_round_trip_and_damage_is_corrupt() {
        let kg = SnapshotKeyGroups {
            max_parallelism: 4096,
            start: 1024,
            end: 2047,
        };
        let bytes = kg.encode();
        assert_eq!(SnapshotKeyGroups::decode(&bytes).unwrap(), kg);
        for bad in [
            &bytes[..19],
            &[&bytes[..], &[0]].concat(),
            b"FERROKG\x02............",
        ] {
            let e = SnapshotKeyGroups::decode(bad).unwrap_err();
            assert_eq!(e.status, ferrostate_status::Corrupt);
        }
    }
}
