//! A fault-injection switch: while it is on, every write to RocksDB fails as if the disk
//! were full. Tests (and the real-cluster fault drills) use it to prove that a failing store
//! fails the task with a clear exception and that the job recovers once it is off.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

static FAIL_WRITES: AtomicBool = AtomicBool::new(false);

/// Turns the switch on or off for every store of this library instance.
pub fn set_fail_writes(on: bool) {
    FAIL_WRITES.store(on, Ordering::SeqCst);
}

/// True while writes fail.
pub fn fail_writes() -> bool {
    FAIL_WRITES.load(Ordering::Relaxed)
}

/// Fails when the switch is on.
pub(crate) fn check_write() -> Result<()> {
    if fail_writes() {
        Err(Error::Injected(
            "write refused: no space left on device (ferrostate fault injection is on)".into(),
        ))
    } else {
        Ok(())
    }
}
