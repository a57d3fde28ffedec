//! What ferrostate checks in a directory of RocksDB files it did not write (a restored
//! checkpoint, a savepoint's or rescaling's import, `ferrostate inspect`) before RocksDB opens
//! it. ferrostate's snapshot manifest already verified each file's length and CRC-32C against
//! what the writer recorded; that catches damage, not a writer that recorded damaged files (a
//! hostile or buggy one), and RocksDB 11.8 does not survive every damaged file: it loops forever
//! on one kind of log record ([`crate::rocks_log`]) and crashes the process on one kind of SST
//! properties block ([`crate::rocks_sst`]). Those parts are checked here first, so the restore
//! fails with an error naming the file instead of hanging or taking the JVM down.

use crate::error::{Error, Result};
use std::path::Path;

/// Checks every RocksDB log file (`MANIFEST-*`, `*.log`) and SST file (`*.sst`) of `dir`.
pub fn check_dir(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let log = name.starts_with("MANIFEST-") || name.ends_with(".log");
        let sst = name.ends_with(".sst");
        if !(log || sst) || !path.is_file() {
            continue;
        }
        if sst {
            crate::rocks_sst::check_file(&path)?;
        } else {
            let data = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            crate::rocks_log::check(&path.display().to_string(), &data)?;
        }
    }
    Ok(())
}
