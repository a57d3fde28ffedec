//! The memory budget: the hot tier's usage published to the shared budget, and eviction
//! when the budget is exceeded.

use super::Store;
use crate::error::Result;

/// Publish the hot tier's usage to the shared budget once it moved by this much.
const PUBLISH_STEP: isize = 64 * 1024;

impl Store {
    /// Updates the accounting after `state`'s hot table changed, evicting when the shared
    /// budget is exceeded.
    #[inline]
    pub(super) fn account(&mut self, state: u32) {
        let Some(st) = self.states.get_mut(state as usize) else {
            return;
        };
        let now = st.hot.memory_bytes();
        self.unpublished += now as isize - st.accounted as isize;
        st.accounted = now;
        if self.unpublished.abs() >= PUBLISH_STEP {
            self.publish();
            if self.opts.memory.hot_over_limit() {
                // Accounting must not fail a read; a failed write-back resurfaces on the
                // next flush, which reports it.
                let _ = self.evict();
            }
        }
    }

    pub(super) fn publish(&mut self) {
        self.published = (self.published as isize + self.unpublished).max(0) as usize;
        self.opts.memory.add_hot(self.unpublished);
        self.unpublished = 0;
    }

    /// Brings the hot tier back under its share of the budget: writes dirty entries back,
    /// then evicts cold entries.
    pub fn evict(&mut self) -> Result<()> {
        let excess = self.opts.memory.hot_excess();
        if excess == 0 {
            return Ok(());
        }
        self.stats.evictions += 1;
        // Free down to 3/4 of the limit so eviction runs rarely.
        let mut want = excess + self.opts.memory.hot_limit() / 4;
        let total: usize = self
            .states
            .iter()
            .map(|s| s.accounted)
            .sum::<usize>()
            .max(1);
        for i in 0..self.states.len() {
            let st = &mut self.states[i];
            Self::flush_state(&self.db, &self.write_opts, st, &mut self.stats, None)?;
            // Each state gives up its share of what must go.
            let share =
                want.min(((st.accounted as u128 * want as u128) / total as u128) as usize + 1);
            st.hot.evict(share);
            let now = st.hot.memory_bytes();
            let freed = st.accounted.saturating_sub(now);
            want = want.saturating_sub(freed);
            self.unpublished += now as isize - st.accounted as isize;
            st.accounted = now;
        }
        self.publish();
        crate::alloc::trim_system_heaps();
        Ok(())
    }

    /// Drops the whole hot tier after writing it back (tests and memory pressure).
    pub fn drop_hot(&mut self) -> Result<()> {
        self.flush_all()?;
        for st in &mut self.states {
            st.hot.clear();
        }
        for i in 0..self.states.len() {
            self.account(i as u32);
        }
        self.publish();
        Ok(())
    }
}
