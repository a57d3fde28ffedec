//! `ferrostate`: inspects and verifies ferrostate snapshot directories from the shell.
//!
//! A snapshot directory is what ferrostate hands to Flink for upload (and what local recovery
//! keeps on the TaskManager): RocksDB's files plus `FERROSTATE-MANIFEST`, which records each
//! file's size and CRC-32C. For checkpoints and savepoints as Flink stores them (a `chk-N`
//! directory with `_metadata`), use the Java inspector in the jar, which resolves Flink's
//! handles and then runs the same checks (see the README).
//!
//! ```text
//! ferrostate verify  <snapshot-dir>            check every file against the manifest
//! ferrostate inspect <snapshot-dir> [prefix]   verify, then list states, key groups, entries, bytes
//! ```
//! Exit status: 0 when everything matches, 1 on any mismatch or error, 2 on bad usage.

use ferrostate_engine::snapshot::{self, SnapshotReader};
use ferrostate_engine::SharedMemory;
use std::path::Path;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: ferrostate verify <snapshot-dir>\n       ferrostate inspect <snapshot-dir> [key-group-prefix-bytes, default 1]"
    );
    ExitCode::from(2)
}

fn verify(dir: &Path) -> Result<snapshot::Manifest, String> {
    let m = snapshot::verify(dir).map_err(|e| e.to_string())?;
    println!(
        "{}: {} files, {} bytes, every checksum matches (manifest format {})",
        dir.display(),
        m.files.len(),
        m.total_size(),
        m.format_version
    );
    Ok(m)
}

fn inspect(dir: &Path, prefix_bytes: usize) -> Result<(), String> {
    let m = verify(dir)?;
    for f in &m.files {
        println!(
            "  {:<24} {:>12} bytes  crc32c {:08x}",
            f.name, f.size, f.crc32c
        );
    }
    let memory = SharedMemory::new(ferrostate_engine::memory::MIN_BUDGET, 0.0, 0.25);
    let reader = SnapshotReader::open(dir, &memory).map_err(|e| e.to_string())?;
    println!(
        "{:<32} {:>12} {:>14} {:>12}",
        "state", "entries", "bytes", "key groups"
    );
    for s in reader.stats(prefix_bytes).map_err(|e| e.to_string())? {
        let range = match (s.min_kg, s.max_kg) {
            (Some(a), Some(b)) => format!("{a}..={b}"),
            _ => "-".to_string(),
        };
        println!(
            "{:<32} {:>12} {:>14} {:>12}",
            s.name, s.entries, s.bytes, range
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "verify" => verify(Path::new(dir)).map(|_| ()),
        [cmd, dir] if cmd == "inspect" => inspect(Path::new(dir), 1),
        [cmd, dir, p] if cmd == "inspect" => match p.parse::<usize>() {
            Ok(p @ (1 | 2)) => inspect(Path::new(dir), p),
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrostate: {e}");
            ExitCode::from(1)
        }
    }
}
