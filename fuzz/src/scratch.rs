//! Scratch directories: one root per process (under `$FERROSTATE_FUZZ_TMP`, which `fuzz.sh`
//! creates in /dev/shm and removes afterwards, else the system temp directory), and a fresh
//! directory per input, removed when the input is done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// This process's scratch root.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = std::env::var_os("FERROSTATE_FUZZ_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("ferrostate-fuzz"));
        let dir = base.join(format!("p{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cannot create the fuzz scratch directory");
        dir
    })
}

/// A fresh directory, removed with its contents when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates the next scratch directory of this process.
    pub fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = root().join(format!("i{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).expect("cannot create a scratch directory");
        Scratch(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
