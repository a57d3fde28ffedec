//! Hot entries written back to RocksDB (per state, per map, all), and what needs them
//! written first: checkpoints and manual compaction.

use super::options::cf_options;
use super::registry::state_in;
use super::{State, Store, StoreOptions, StoreStats};
use crate::error::{Error, Result};
use crate::fault;
use crate::hot::WriteBack;
use rocksdb::{IngestExternalFileOptions, SstFileWriter, WriteBatch, WriteOptions, DB};
use std::path::Path;

/// By default a checkpoint writes a state's dirty hot entries into an SST file it ingests,
/// rather than through the memtable, once this many keys turned dirty since the last
/// write-back ([`StoreOptions::ingest_min_dirty`]).
pub const INGEST_MIN_DIRTY: usize = 4096;

/// The SST file a checkpoint's write-back builds in the store's directory before RocksDB
/// takes it in.
const INGEST_FILE: &str = "write-back.sst.tmp";

impl Store {
    /// Writes the dirty hot entries of `st` back in write batches of about
    /// [`crate::hot::FLUSH_CHUNK`] bytes: all of them, or at least those of the map
    /// `map_prefix` names (see [`HotTable::flush_prefix`]).
    pub(super) fn flush_state(
        db: &DB,
        write_opts: &WriteOptions,
        st: &mut State,
        stats: &mut StoreStats,
        map_prefix: Option<&[u8]>,
    ) -> Result<()> {
        if !st.hot.has_dirty() {
            return Ok(());
        }
        let cf = st.cf(db)?;
        let batch = std::cell::RefCell::new(WriteBatch::default());
        let stage = |w: WriteBack<'_>| -> Result<()> {
            let mut b = batch.borrow_mut();
            match w {
                WriteBack::Put(k, v) => b.put_cf(cf, k, v),
                WriteBack::Delete(k) => b.delete_cf(cf, k),
                WriteBack::Merge(k, v) => b.merge_cf(cf, k, v),
            }
            Ok(())
        };
        let batches = std::cell::Cell::new(0u64);
        let commit = || -> Result<()> {
            let b = batch.take();
            if b.is_empty() {
                return Ok(());
            }
            fault::check_write()?;
            db.write_opt(b, write_opts)?;
            batches.set(batches.get() + 1);
            Ok(())
        };
        match map_prefix {
            Some(prefix) => st.hot.flush_prefix(prefix, stage, commit)?,
            None => st.hot.flush(stage, commit)?,
        }
        stats.rocksdb_writes += batches.get();
        Ok(())
    }

    /// Writes back the dirty entries of one map (`prefix`: key group, key, namespace) of
    /// `state`, so RocksDB holds that map entirely; other maps' entries stay in the hot tier.
    pub(super) fn flush_map(&mut self, state: u32, prefix: &[u8]) -> Result<()> {
        let st = state_in(&mut self.states, state)?;
        Self::flush_state(
            &self.db,
            &self.write_opts,
            st,
            &mut self.stats,
            Some(prefix),
        )?;
        self.account(state);
        Ok(())
    }

    /// Writes every dirty hot entry of `state` to RocksDB, after the pending writes of sorted
    /// sets (which never pass through the hot tier): then RocksDB holds all of `state`.
    pub fn flush(&mut self, state: u32) -> Result<()> {
        self.write_set_batch()?;
        let st = state_in(&mut self.states, state)?;
        Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
        self.account(state);
        Ok(())
    }

    /// Writes every dirty hot entry of every state to RocksDB.
    pub fn flush_all(&mut self) -> Result<()> {
        self.write_back_all(usize::MAX)
    }

    /// Writes every dirty hot entry of every state to RocksDB after the pending writes of
    /// sorted sets: a state with at least `ingest_min_dirty` dirty keys as one ingested SST
    /// file ([`Store::ingest_state`]), any other through write batches.
    fn write_back_all(&mut self, ingest_min_dirty: usize) -> Result<()> {
        self.write_set_batch()?;
        for i in 0..self.states.len() {
            let st = &mut self.states[i];
            if st.hot.dirty_len() >= ingest_min_dirty {
                Self::ingest_state(&self.db, &self.opts, st, &mut self.stats)?;
            } else {
                Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
            }
            self.account(i as u32);
        }
        Ok(())
    }

    /// Writes the dirty hot entries of `st` into one SST file and ingests it into the
    /// state's column family: what a checkpoint does with many dirty entries. A write batch
    /// would insert each entry into a memtable, which the checkpoint then flushes into an SST
    /// file anyway; the write-back hands the entries in key order, as an SST file needs them.
    /// Nothing is marked clean unless the ingestion succeeds.
    fn ingest_state(
        db: &DB,
        opts: &StoreOptions,
        st: &mut State,
        stats: &mut StoreStats,
    ) -> Result<()> {
        let cf = st.cf(db)?;
        let path = opts.path.join(INGEST_FILE);
        let table_opts = cf_options(&opts.memory, None);
        let writer = std::cell::RefCell::new(SstFileWriter::create(&table_opts));
        let staged = std::cell::Cell::new(false);
        let stage = |w: WriteBack<'_>| -> Result<()> {
            let mut file = writer.borrow_mut();
            if !staged.replace(true) {
                file.open(&path)?;
            }
            match w {
                WriteBack::Put(k, v) => file.put(k, v)?,
                WriteBack::Delete(k) => file.delete(k)?,
                WriteBack::Merge(k, v) => file.merge(k, v)?,
            }
            Ok(())
        };
        let commit = || -> Result<()> {
            if !staged.get() {
                return Ok(());
            }
            fault::check_write()?;
            writer.borrow_mut().finish()?;
            let mut ingest = IngestExternalFileOptions::default();
            ingest.set_move_files(true);
            db.ingest_external_file_cf_opts(cf, &ingest, vec![&path])?;
            Ok(())
        };
        let result = st.hot.flush_in_chunks(usize::MAX, stage, commit);
        // RocksDB links a moved file into the instance; the name given stays (or is left by a
        // failure) and is removed, so the next ingestion starts from nothing.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound && result.is_ok() => {
                return Err(Error::io(&path, e))
            }
            _ => {}
        }
        result?;
        if staged.get() {
            stats.rocksdb_writes += 1;
        }
        Ok(())
    }

    /// Writes a consistent copy of the store into `dir` (which must not exist): dirty hot
    /// entries are written back (ingested as an SST file per state with at least
    /// [`StoreOptions::ingest_min_dirty`] of them), memtables flushed, and SST files
    /// hard-linked.
    pub fn checkpoint(&mut self, dir: &Path) -> Result<()> {
        self.write_back_all(self.opts.ingest_min_dirty)?;
        fault::check_write()?;
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        cp.create_checkpoint(dir)?;
        Ok(())
    }

    /// Runs a full manual compaction of `state` (TTL cleanup tests and maintenance). The
    /// state's hot entries are written back first. With a TTL, they are dropped too: the
    /// compaction filter may delete expired entries, and the hot tier must not keep serving
    /// them; without one, compaction changes no value, so the (now clean) hot tier stays.
    pub fn compact(&mut self, state: u32) -> Result<()> {
        self.flush(state)?;
        let st = state_in(&mut self.states, state)?;
        if st.ttl.get().is_some() {
            st.hot.clear();
        }
        let cf = st.cf(&self.db)?;
        let none: Option<&[u8]> = None;
        self.db.flush_cf(cf)?;
        self.db.compact_range_cf(cf, none, none);
        self.account(state);
        Ok(())
    }
}
