//! Point access: reads through the hot tier, writes into it (or, for large values,
//! straight to RocksDB), list appends and map entries.

use super::registry::state_in;
use super::State;
use super::Store;
use crate::error::{Error, Result};
use crate::fault;
use crate::hot::SlotRef;

/// Entries of a batch (a map's [`Store::put_entries`], a caller's run of writes) whose slots are
/// brought into the caches together ([`crate::hot::HotTable::warm`], [`Store::warm`]) before
/// they are applied one by one.
pub const WARM_BATCH: usize = 16;

/// The first length-prefixed field of `bytes` (4-byte big-endian length) and what follows it.
fn split_field(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let damaged = |detail: String| Error::Corrupt {
        what: "map entry batch".to_string(),
        detail,
    };
    let (len, rest) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| damaged(format!("{} bytes left, a length needs 4", bytes.len())))?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > rest.len() {
        return Err(damaged(format!(
            "a field of {len} bytes, {} bytes left",
            rest.len()
        )));
    }
    Ok(rest.split_at(len))
}

/// One answer of [`Store::get_many`].
#[derive(Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// The key holds this value.
    Found(&'a [u8]),
    /// The key holds nothing.
    Absent,
    /// The hot tier does not know the key (only with `hot_only`).
    NotHot,
}

/// What the hot tier made of a read: the answer (and whether the tier held the key, a hit,
/// or knows every key of its state), or the sink back with whether a list's appended
/// elements wait for their stored part.
enum Probe<R, F> {
    Answered(Option<R>, bool),
    Miss(F, bool),
}

/// Answers a read of `key` from the hot tier of `st` when it can.
#[inline]
fn probe_hot<R, F: FnOnce(&[u8]) -> R>(st: &mut State, key: &[u8], sink: F) -> Probe<R, F> {
    let complete = st.hot.is_complete();
    match st.hot.get(key) {
        Some(SlotRef::Present(v)) => Probe::Answered(Some(sink(v)), true),
        Some(SlotRef::Absent) => Probe::Answered(None, true),
        Some(SlotRef::Appended(_)) => Probe::Miss(sink, true),
        None if complete => Probe::Answered(None, false),
        None => Probe::Miss(sink, false),
    }
}

/// Keeps what RocksDB holds for `key` (`base`) in the hot tier of `st` and hands the value
/// to `sink`; `None` when the key holds nothing.
#[inline]
fn keep_read<R>(
    st: &mut State,
    max_hot_value: usize,
    key: &[u8],
    pending_append: bool,
    base: Option<&[u8]>,
    sink: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    if pending_append {
        // The list's stored part was never read: read it now and keep the whole list.
        let mut whole = base.unwrap_or_default().to_vec();
        if let Some(SlotRef::Appended(app)) = st.hot.get(key) {
            whole.extend_from_slice(app);
        }
        st.hot.set(key, &whole, true);
        return Some(sink(&whole));
    }
    match base {
        Some(v) => {
            if v.len() <= max_hot_value {
                st.hot.set(key, v, false);
            }
            Some(sink(v))
        }
        None => {
            st.hot.set_absent(key, false);
            None
        }
    }
}

impl Store {
    /// Reads the value of `key` and hands it to `sink`; `None` when the key holds nothing.
    #[inline]
    pub fn get<R>(
        &mut self,
        state: u32,
        key: &[u8],
        sink: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>> {
        let st = state_in(&mut self.states, state)?;
        let (sink, pending_append) = match probe_hot(st, key, sink) {
            Probe::Answered(r, hit) => {
                self.stats.hot_hits += u64::from(hit);
                return Ok(r);
            }
            Probe::Miss(sink, pending_append) => (sink, pending_append),
        };
        let cf = st.cf(&self.db)?;
        self.stats.rocksdb_reads += 1;
        let result = {
            let base = self.db.get_pinned_cf(cf, key)?;
            keep_read(
                st,
                self.opts.max_hot_value,
                key,
                pending_append,
                base.as_deref(),
                sink,
            )
        };
        self.account(state);
        Ok(result)
    }

    /// Reads several keys, possibly of several states, and hands each answer to `sink` in
    /// the order of `requests` until `sink` returns false. What the hot tier holds is
    /// answered from it; the rest is read from RocksDB with one batched `MultiGet` per state
    /// (the reads of a batch share block lookups and I/O). With `hot_only`, nothing is read
    /// from RocksDB: keys the hot tier cannot answer come back as [`Read::NotHot`], so a
    /// caller can hand out the hits before it waits for the disk.
    pub fn get_many(
        &mut self,
        requests: &[(u32, &[u8])],
        hot_only: bool,
        mut sink: impl FnMut(Read<'_>) -> bool,
    ) -> Result<()> {
        if hot_only {
            for &(state, key) in requests {
                let st = state_in(&mut self.states, state)?;
                let answer = match probe_hot(st, key, |v| sink(Read::Found(v))) {
                    Probe::Answered(r, hit) => {
                        self.stats.hot_hits += u64::from(hit);
                        r.unwrap_or_else(|| sink(Read::Absent))
                    }
                    Probe::Miss(..) => sink(Read::NotHot),
                };
                if !answer {
                    break;
                }
            }
            return Ok(());
        }
        // Which requests the hot tier cannot answer, grouped by state for one MultiGet each.
        let mut misses: Vec<(u32, usize)> = Vec::new();
        for (i, &(state, key)) in requests.iter().enumerate() {
            if !state_in(&mut self.states, state)?.hot.answers(key) {
                misses.push((state, i));
            }
        }
        misses.sort_unstable();
        let mut fetched: Vec<Option<rocksdb::DBPinnableSlice<'_>>> = Vec::new();
        fetched.resize_with(requests.len(), || None);
        for group in misses.chunk_by(|a, b| a.0 == b.0) {
            let st = state_in(&mut self.states, group[0].0)?;
            let cf = st.cf(&self.db)?;
            let keys = group.iter().map(|&(_, i)| requests[i].1);
            let values = self.db.batched_multi_get_cf(cf, keys, false);
            self.stats.rocksdb_reads += group.len() as u64;
            for (&(_, i), value) in group.iter().zip(values) {
                fetched[i] = value?;
            }
        }
        let mut missed = vec![false; requests.len()];
        for &(_, i) in &misses {
            missed[i] = true;
        }
        let max_hot_value = self.opts.max_hot_value;
        for (i, &(state, key)) in requests.iter().enumerate() {
            let st = state_in(&mut self.states, state)?;
            // An earlier answer of the same key may have filled the hot tier since.
            let (found, pending_append) = match probe_hot(st, key, |v| sink(Read::Found(v))) {
                Probe::Answered(r, hit) => {
                    self.stats.hot_hits += u64::from(hit && !missed[i]);
                    if !r.unwrap_or_else(|| sink(Read::Absent)) {
                        break;
                    }
                    continue;
                }
                Probe::Miss(found, pending_append) => (found, pending_append),
            };
            let single;
            let base = if missed[i] {
                fetched[i].as_deref()
            } else {
                // Answered by the hot tier in the first pass, gone since: read it alone.
                let cf = st.cf(&self.db)?;
                self.stats.rocksdb_reads += 1;
                single = self.db.get_pinned_cf(cf, key)?;
                single.as_deref()
            };
            let go_on = keep_read(st, max_hot_value, key, pending_append, base, found)
                .unwrap_or_else(|| sink(Read::Absent));
            if !go_on {
                break;
            }
        }
        drop(fetched);
        misses.dedup_by_key(|m| m.0);
        for (state, _) in misses {
            self.account(state);
        }
        Ok(())
    }

    /// Brings the hot-tier slots of `keys` (state, key; at most [`WARM_BATCH`] or so) into the
    /// CPU's caches before a caller answers or writes them one by one: their lookups run back to
    /// back, so the CPU overlaps their cache misses (see [`crate::hot::HotTable::warm`]). Changes
    /// nothing; an unknown state is skipped (the access itself reports it).
    pub fn warm<'k>(&self, keys: impl IntoIterator<Item = (u32, &'k [u8])>) {
        let mut answered = 0usize;
        for (state, key) in keys {
            if let Ok(st) = self.state(state) {
                answered += st.hot.answers(key) as usize;
            }
        }
        std::hint::black_box(answered);
    }

    /// True when `key` holds a value.
    pub fn contains(&mut self, state: u32, key: &[u8]) -> Result<bool> {
        Ok(self.get(state, key, |_| ())?.is_some())
    }

    /// Sets the value of `key`.
    #[inline]
    pub fn put(&mut self, state: u32, key: &[u8], value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_hot_value {
            self.take_hot(state, key)?;
            let st = self.state(state)?;
            let cf = st.cf(&self.db)?;
            fault::check_write()?;
            self.db.put_cf_opt(cf, key, value, &self.write_opts)?;
            self.stats.rocksdb_writes += 1;
        } else {
            self.state_mut(state)?.hot.set(key, value, true);
        }
        self.account(state);
        Ok(())
    }

    /// Sets the map entry `key`, whose first `prefix_len` bytes (key group, key, namespace)
    /// name its map: iterating that map later writes back only its own entries.
    #[inline]
    pub fn put_entry(
        &mut self,
        state: u32,
        key: &[u8],
        prefix_len: usize,
        value: &[u8],
    ) -> Result<()> {
        if value.len() > self.opts.max_hot_value || prefix_len > key.len() {
            return self.put(state, key, value);
        }
        self.state_mut(state)?.hot.set_entry(key, prefix_len, value);
        self.account(state);
        Ok(())
    }

    /// Sets several entries of the map `prefix` (key group, key, namespace) at once: `batch`
    /// holds, per entry, a 4-byte big-endian length and the user key, then a 4-byte length and
    /// the value (what a `MapState.putAll` sends in one call). Returns the entries written; a
    /// malformed batch is an error, and the entries before the damage stay written.
    pub fn put_entries(&mut self, state: u32, prefix: &[u8], batch: &[u8]) -> Result<usize> {
        let mut keys = std::mem::take(&mut self.entry_keys);
        let mut rest = batch;
        let mut n = 0;
        let result = 'batch: loop {
            if rest.is_empty() {
                break Ok(n);
            }
            // Up to WARM_BATCH entries at a time: their slots are brought into the caches
            // together, then the entries are written one by one.
            keys.clear();
            let mut values: [&[u8]; WARM_BATCH] = [&[]; WARM_BATCH];
            let mut damage = None;
            while keys.len() < WARM_BATCH && !rest.is_empty() {
                match split_field(rest).and_then(|(k, after)| Ok((k, split_field(after)?))) {
                    Ok((user_key, (value, after))) => {
                        values[keys.len()] = value;
                        keys.push(prefix, user_key);
                        rest = after;
                    }
                    Err(e) => {
                        damage = Some(e);
                        break;
                    }
                }
            }
            if keys.len() > 1 {
                if let Ok(st) = self.state(state) {
                    st.hot.warm(&mut keys);
                }
            }
            for (i, value) in values[..keys.len()].iter().enumerate() {
                if let Err(e) = self.put_entry(state, keys.key(i), prefix.len(), value) {
                    break 'batch Err(e);
                }
                n += 1;
            }
            if let Some(e) = damage {
                break Err(e);
            }
        };
        self.entry_keys = keys;
        result
    }

    /// Removes the map entry `key`, whose first `prefix_len` bytes name its map.
    #[inline]
    pub fn delete_entry(&mut self, state: u32, key: &[u8], prefix_len: usize) -> Result<()> {
        if prefix_len > key.len() {
            return self.delete(state, key);
        }
        self.state_mut(state)?.hot.remove_entry(key, prefix_len);
        self.account(state);
        Ok(())
    }

    /// Removes the value of `key`.
    #[inline]
    pub fn delete(&mut self, state: u32, key: &[u8]) -> Result<()> {
        self.state_mut(state)?.hot.set_absent(key, true);
        self.account(state);
        Ok(())
    }

    /// Appends list elements (in the store's list format) to `key` without reading it.
    #[inline]
    pub fn append(&mut self, state: u32, key: &[u8], elements: &[u8]) -> Result<()> {
        if elements.len() > self.opts.max_hot_value {
            self.take_hot(state, key)?;
            let st = self.state(state)?;
            let cf = st.cf(&self.db)?;
            fault::check_write()?;
            self.db.merge_cf_opt(cf, key, elements, &self.write_opts)?;
            self.stats.rocksdb_writes += 1;
        } else {
            let st = self.state_mut(state)?;
            let complete = st.hot.is_complete();
            st.hot.append(key, elements, complete);
        }
        self.account(state);
        Ok(())
    }

    /// Writes the hot slot of `key` back if it is dirty and drops it, so a direct write to
    /// RocksDB can follow.
    pub(super) fn take_hot(&mut self, state: u32, key: &[u8]) -> Result<()> {
        let st = state_in(&mut self.states, state)?;
        if st.hot.has_dirty() {
            Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
        }
        // The caller writes `key` to RocksDB directly: the table is no longer complete.
        st.hot.forget(key);
        st.hot.set_incomplete();
        Ok(())
    }
}
