//! Point access: reads through the hot tier, writes into it (or, for large values,
//! straight to RocksDB), list appends and map entries.

use super::registry::state_in;
use super::Store;
use crate::error::{Error, Result};
use crate::fault;
use crate::hot::SlotRef;

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
        let complete = st.hot.is_complete();
        let pending_append = match st.hot.get(key) {
            Some(SlotRef::Present(v)) => {
                self.stats.hot_hits += 1;
                return Ok(Some(sink(v)));
            }
            Some(SlotRef::Absent) => {
                self.stats.hot_hits += 1;
                return Ok(None);
            }
            Some(SlotRef::Appended(_)) => true,
            None if complete => return Ok(None),
            None => false,
        };
        let cf = st.cf(&self.db)?;
        self.stats.rocksdb_reads += 1;
        let result = {
            let base = self.db.get_pinned_cf(cf, key)?;
            if pending_append {
                // The list's stored part was never read: read it now and keep the whole list.
                let mut whole = base.as_deref().unwrap_or_default().to_vec();
                if let Some(SlotRef::Appended(app)) = st.hot.get(key) {
                    whole.extend_from_slice(app);
                }
                st.hot.set(key, &whole, true);
                Some(sink(&whole))
            } else {
                match base {
                    Some(v) => {
                        if v.len() <= self.opts.max_hot_value {
                            st.hot.set(key, &v, false);
                        }
                        Some(sink(&v))
                    }
                    None => {
                        st.hot.set_absent(key, false);
                        None
                    }
                }
            }
        };
        self.account(state);
        Ok(result)
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
        let mut key = std::mem::take(&mut self.entry_key);
        let mut rest = batch;
        let mut n = 0;
        let result = loop {
            if rest.is_empty() {
                break Ok(n);
            }
            let (user_key, after) = match split_field(rest) {
                Ok(x) => x,
                Err(e) => break Err(e),
            };
            let (value, after) = match split_field(after) {
                Ok(x) => x,
                Err(e) => break Err(e),
            };
            rest = after;
            key.clear();
            key.extend_from_slice(prefix);
            key.extend_from_slice(user_key);
            if let Err(e) = self.put_entry(state, &key, prefix.len(), value) {
                break Err(e);
            }
            n += 1;
        };
        self.entry_key = key;
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
