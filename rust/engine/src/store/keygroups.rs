//! Key groups: dropping those a backend no longer owns, copying in those it now owns.

use super::registry::{self, Origin};
use super::{open_read_only, scan_cf, ScanStart, Store};
use crate::error::{Error, Result};
use crate::fault;
use crate::keygroup;
use rocksdb::{Options, WriteBatch, DB};
use std::path::Path;

impl Store {
    /// Deletes every key outside key groups `[start, end]`, written with `prefix_bytes`
    /// bytes: after a restore, the key groups that now belong to other backends go, by range
    /// deletion and whole-file deletion rather than a rewrite.
    pub fn clip_key_groups(&mut self, prefix_bytes: usize, start: u32, end: u32) -> Result<()> {
        if start > end {
            return Err(Error::InvalidArgument(format!(
                "empty key group range [{start}, {end}]"
            )));
        }
        self.flush_all()?;
        let low = keygroup::encode(start, prefix_bytes)?;
        let high = keygroup::encode(end + 1, prefix_bytes).ok();
        let top = vec![0xffu8; prefix_bytes + 1];
        for st in &mut self.states {
            let cf = st.cf(&self.db)?;
            let empty: &[u8] = &[];
            fault::check_write()?;
            self.db.delete_file_in_range_cf(cf, empty, &low[..])?;
            self.db.delete_range_cf(cf, empty, &low[..])?;
            if let Some(high) = &high {
                self.db.delete_file_in_range_cf(cf, &high[..], &top[..])?;
                self.db.delete_range_cf(cf, &high[..], &top[..])?;
            }
            st.hot.remove_where(|k| {
                keygroup::decode(k, prefix_bytes).map_or(true, |kg| kg < start || kg > end)
            });
        }
        for i in 0..self.states.len() {
            self.account(i as u32);
        }
        Ok(())
    }

    /// Copies every entry of the store at `dir` (a snapshot directory) whose key group lies
    /// in `[start, end]` into this store, by state name (used when several snapshots are
    /// merged into one backend on rescaling).
    pub fn import_key_groups(
        &mut self,
        dir: &Path,
        prefix_bytes: usize,
        start: u32,
        end: u32,
    ) -> Result<u64> {
        let other = open_read_only(dir, &self.opts.memory)?;
        let names = DB::list_cf(&Options::default(), dir)?;
        let low = keygroup::encode(start, prefix_bytes)?;
        let mut copied = 0u64;
        for name in names {
            if name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME {
                continue;
            }
            let id = match self.by_name.get(&name) {
                Some(&id) => id,
                None => self.add_state(&name, Origin::Stored)?,
            };
            self.flush(id)?;
            // What the hot tier holds of the imported key groups (clean after the flush) would
            // hide the imported values: it goes, and those keys are read from RocksDB.
            let hot = &mut self.states[id as usize].hot;
            hot.set_incomplete();
            hot.remove_where(|k| {
                keygroup::decode(k, prefix_bytes).is_ok_and(|kg| (start..=end).contains(&kg))
            });
            self.account(id);
            let src = registry::cf(&other, &name)?;
            let dst = registry::cf(&self.db, &name)?;
            let mut batch = WriteBatch::default();
            let mut err = None;
            scan_cf(
                &other,
                src,
                &[],
                ScanStart::At {
                    key: &low,
                    exclusive: false,
                },
                |k, v| match keygroup::decode(k, prefix_bytes) {
                    Ok(kg) if kg > end => Ok(false),
                    Ok(_) => {
                        batch.put_cf(dst, k, v);
                        copied += 1;
                        if batch.size_in_bytes() > 4 << 20 {
                            fault::check_write()?;
                            self.db
                                .write_opt(std::mem::take(&mut batch), &self.write_opts)?;
                        }
                        Ok(true)
                    }
                    Err(e) => {
                        err = Some(e);
                        Ok(false)
                    }
                },
            )?;
            if let Some(e) = err {
                return Err(e);
            }
            fault::check_write()?;
            self.db.write_opt(batch, &self.write_opts)?;
        }
        Ok(copied)
    }
}
