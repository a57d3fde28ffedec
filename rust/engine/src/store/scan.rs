//! Scans: whole prefixes in RocksDB, and maps merged from the hot tier and RocksDB.

use super::registry::state_in;
use super::Store;
use crate::alloc::{trim_system_heaps, TRIM_EVERY_SCANS};
use crate::bytes::IBytes;
use crate::error::Result;
use crate::fault;
use rocksdb::{ColumnFamily, DBRawIterator, ReadOptions, WriteBatch, DB};
use std::cmp::Ordering;

/// A map scan merges at most this many changed hot entries with RocksDB; a map with more
/// is written back instead (each batch of a scan lists and sorts them again).
const MAX_MERGED_CHANGES: usize = 256;

/// A complete hot tier lists a map of at most this many entries by itself; a longer map is
/// written back and scanned in RocksDB (each batch of a scan lists and sorts them again).
const MAX_LISTED_ENTRIES: usize = 1024;

/// The smallest byte string greater than every string starting with `prefix`, or `None`
/// when there is none (an empty prefix or one of all `0xff`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last != 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// Where a scan starts.
#[derive(Clone, Copy, Debug)]
pub enum ScanStart<'a> {
    /// At the first key with the prefix.
    First,
    /// At this key, or after it when `exclusive`.
    At {
        /// The key to start at.
        key: &'a [u8],
        /// Start after `key` rather than at it.
        exclusive: bool,
    },
}

/// An iterator over the keys of `cf` that start with `prefix`, positioned at `start`.
fn seek<'a>(
    db: &'a DB,
    cf: &ColumnFamily,
    prefix: &[u8],
    start: ScanStart<'_>,
) -> DBRawIterator<'a> {
    let mut ro = ReadOptions::default();
    ro.set_total_order_seek(true);
    if let Some(upper) = prefix_successor(prefix) {
        ro.set_iterate_upper_bound(upper);
    }
    let mut it: DBRawIterator<'a> = db.raw_iterator_cf_opt(cf, ro);
    match start {
        ScanStart::First => it.seek(prefix),
        ScanStart::At { key, exclusive } => {
            it.seek(key);
            if exclusive && it.key() == Some(key) {
                it.next();
            }
        }
    }
    it
}

/// Visits the entries of `cf` whose keys start with `prefix`, in key order, until `sink`
/// returns false. Returns the number of entries `sink` accepted.
pub(crate) fn scan_cf(
    db: &DB,
    cf: &ColumnFamily,
    prefix: &[u8],
    start: ScanStart<'_>,
    mut sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
) -> Result<usize> {
    let mut it = seek(db, cf, prefix, start);
    let mut n = 0;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if !k.starts_with(prefix) {
            break;
        }
        if !sink(k, v)? {
            return Ok(n);
        }
        n += 1;
        it.next();
    }
    it.status()?;
    Ok(n)
}

/// Visits the entries of a map in key order from `start`, as [`scan_cf`] does, with `changes`
/// (sorted by key, from [`HotTable::map_changes`]) laid over what `cf` holds: a changed entry
/// replaces RocksDB's, a removed one hides it. `cf` is `None` when RocksDB holds nothing of the
/// state.
fn scan_merged(
    db: &DB,
    cf: Option<&ColumnFamily>,
    prefix: &[u8],
    start: ScanStart<'_>,
    changes: &[(IBytes, Option<IBytes>)],
    mut sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
) -> Result<usize> {
    let from = match start {
        ScanStart::First => 0,
        ScanStart::At { key, exclusive } => changes.partition_point(|(k, _)| {
            let k = k.as_slice();
            k < key || (exclusive && k == key)
        }),
    };
    let mut hot = changes[from..]
        .iter()
        .filter(|(k, _)| k.as_slice().starts_with(prefix))
        .peekable();
    let mut it = cf.map(|cf| seek(db, cf, prefix, start));
    let mut n = 0;
    loop {
        let stored = it
            .as_ref()
            .and_then(|it| it.key())
            .filter(|k| k.starts_with(prefix));
        let order = match (stored, hot.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(k), Some((hk, _))) => k.cmp(hk.as_slice()),
        };
        if order == Ordering::Less {
            let Some(it) = it.as_mut() else { break };
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !sink(k, v)? {
                break;
            }
            n += 1;
            it.next();
        } else {
            if order == Ordering::Equal {
                // The hot entry replaces (or hides) the stored one.
                if let Some(it) = it.as_mut() {
                    it.next();
                }
            }
            let Some((hk, hv)) = hot.next() else { break };
            if let Some(v) = hv {
                if !sink(hk.as_slice(), v.as_slice())? {
                    break;
                }
                n += 1;
            }
        }
    }
    if let Some(it) = it {
        it.status()?;
    }
    Ok(n)
}

impl Store {
    /// Visits the entries of one map (`prefix`: key group, key, namespace, as given to
    /// [`Store::put_entry`]) of `state` in key order, from `start`, until `sink` returns false.
    /// A complete hot tier lists the whole map itself ([`HotTable::map_entries`]); otherwise
    /// the map's entries changed in the hot tier are merged with what RocksDB holds, so nothing
    /// is written back. When the hot tier cannot list them cheaply (see
    /// [`HotTable::map_changes`]), only that map's dirty entries are written back first.
    pub fn scan_map(
        &mut self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        let mut changes = std::mem::take(&mut self.map_changes);
        let hot = &mut self.state_mut(state)?.hot;
        let whole = hot.map_entries(prefix, MAX_LISTED_ENTRIES, &mut changes);
        let listed = whole || hot.map_changes(prefix, MAX_MERGED_CHANGES, &mut changes);
        if !whole {
            self.after_rocksdb_scan();
        }
        let result = if listed {
            let st = self.state(state)?;
            let cf = if whole { None } else { Some(st.cf(&self.db)?) };
            scan_merged(&self.db, cf, prefix, start, &changes, sink)
        } else {
            self.flush_map(state, prefix)
                .and_then(|()| self.scan_written_back(state, prefix, start, sink))
        };
        changes.clear();
        self.map_changes = changes;
        result
    }

    /// Scans RocksDB alone: the caller wrote back whatever the scan must see.
    pub(super) fn scan_written_back(
        &self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        let st = self.state(state)?;
        let cf = st.cf(&self.db)?;
        scan_cf(&self.db, cf, prefix, start, sink)
    }

    /// True when the map `prefix` (key group, key, namespace) of `state` holds no entry. The
    /// hot tier answers when it is complete ([`HotTable::map_is_empty`]) or holds a written
    /// entry of the map; otherwise the map is scanned up to its first entry (see
    /// [`Store::scan_map`]).
    pub fn is_map_empty(&mut self, state: u32, prefix: &[u8]) -> Result<bool> {
        let hot = &mut self.state_mut(state)?.hot;
        if let Some(empty) = hot.map_is_empty(prefix, MAX_LISTED_ENTRIES) {
            return Ok(empty);
        }
        if hot.map_has_written_entry(prefix) {
            return Ok(false);
        }
        let mut any = false;
        self.scan_map(state, prefix, ScanStart::First, |_, _| {
            any = true;
            Ok(false)
        })?;
        Ok(!any)
    }

    /// Visits the entries of `state` whose keys start with `prefix`, in key order, until
    /// `sink` returns false. Dirty hot entries are written back first, so RocksDB holds
    /// everything.
    pub fn scan(
        &mut self,
        state: u32,
        prefix: &[u8],
        start: ScanStart<'_>,
        sink: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<usize> {
        self.flush(state)?;
        self.after_rocksdb_scan();
        self.scan_written_back(state, prefix, start, sink)
    }

    /// Counts a scan that reads RocksDB and, every [`TRIM_EVERY_SCANS`] of them, asks for the
    /// glibc heaps' free memory to go back to the kernel ([`trim_system_heaps`]): scans churn
    /// RocksDB's block cache without the hot tier evicting, which asks too.
    fn after_rocksdb_scan(&mut self) {
        self.stats.rocksdb_scans += 1;
        if self.stats.rocksdb_scans.is_multiple_of(TRIM_EVERY_SCANS) {
            trim_system_heaps();
        }
    }

    /// Removes every entry of `state` whose key starts with `prefix` (clearing a map). A
    /// complete hot tier marks the map's entries removed itself (written back later).
    pub fn delete_prefix(&mut self, state: u32, prefix: &[u8]) -> Result<()> {
        // Pending set writes first: the scan below must see (and delete) every entry.
        self.write_set_batch()?;
        let mut entries = std::mem::take(&mut self.map_changes);
        let hot = &mut self.state_mut(state)?.hot;
        if hot.map_entries(prefix, usize::MAX, &mut entries) {
            for (k, _) in &entries {
                hot.remove_entry(k.as_slice(), prefix.len());
            }
            entries.clear();
            self.map_changes = entries;
            self.account(state);
            return Ok(());
        }
        self.map_changes = entries;
        self.flush_map(state, prefix)?;
        let st = state_in(&mut self.states, state)?;
        let cf = st.cf(&self.db)?;
        let mut batch = WriteBatch::default();
        scan_cf(&self.db, cf, prefix, ScanStart::First, |k, _| {
            st.hot.forget(k);
            batch.delete_cf(cf, k);
            Ok(true)
        })?;
        if !batch.is_empty() {
            fault::check_write()?;
            self.db.write_opt(batch, &self.write_opts)?;
        }
        self.account(state);
        Ok(())
    }

    /// Number of entries of `state`.
    pub fn count(&mut self, state: u32) -> Result<usize> {
        self.scan(state, &[], ScanStart::First, |_, _| Ok(true))
    }
}
