//! Sorted sets kept in RocksDB alone: the timer queues of a keyed backend. Their entries are
//! keys with empty values (`[key group][element]`), added and removed many at a time and read
//! in key order from the smallest, which the hot tier (a hash table made for point access)
//! cannot serve. They bypass it: adds and removes collect in one write batch of the store,
//! written when it passes [`SET_BATCH_BYTES`] and before anything reads RocksDB (scans,
//! write-backs, checkpoints), as Flink's RocksDB backend batches its timer writes.

use super::registry::state_in;
use super::Store;
use crate::error::Result;
use crate::fault;
use rocksdb::WriteBatch;

/// A set write batch is written to RocksDB once it holds this many bytes.
pub const SET_BATCH_BYTES: usize = 256 << 10;

impl Store {
    /// Adds `key` to the sorted set `state` (a map-kind state whose entries are all keys).
    pub fn set_add(&mut self, state: u32, key: &[u8]) -> Result<()> {
        let st = state_in(&mut self.states, state)?;
        // RocksDB now holds an entry the hot table does not: its misses no longer mean absent
        // (a complete table would answer "empty" to a prefix delete or a map read).
        st.hot.set_incomplete();
        let cf = st.cf(&self.db)?;
        self.set_batch.put_cf(cf, key, []);
        self.write_set_batch_when_full()
    }

    /// Removes `key` from the sorted set `state`.
    pub fn set_remove(&mut self, state: u32, key: &[u8]) -> Result<()> {
        let cf = self.state(state)?.cf(&self.db)?;
        self.set_batch.delete_cf(cf, key);
        self.write_set_batch_when_full()
    }

    fn write_set_batch_when_full(&mut self) -> Result<()> {
        if self.set_batch.size_in_bytes() >= SET_BATCH_BYTES {
            self.write_set_batch()?;
        }
        Ok(())
    }

    /// Writes the pending adds and removes of sorted sets to RocksDB. A failed write keeps
    /// them pending: nothing is lost, and the next write tries again.
    pub(super) fn write_set_batch(&mut self) -> Result<()> {
        if self.set_batch.is_empty() {
            return Ok(());
        }
        fault::check_write()?;
        let batch = std::mem::take(&mut self.set_batch);
        let kept = batch.data().to_vec();
        if let Err(e) = self.db.write_opt(batch, &self.write_opts) {
            self.set_batch = WriteBatch::from_data(&kept);
            return Err(e.into());
        }
        self.stats.rocksdb_writes += 1;
        Ok(())
    }

    /// Bytes of set writes not yet in RocksDB.
    pub fn pending_set_bytes(&self) -> usize {
        if self.set_batch.is_empty() {
            0
        } else {
            self.set_batch.size_in_bytes()
        }
    }
}
