//! Native TTL cleanup: a RocksDB compaction filter that drops expired entries.
//!
//! Flink's TTL layer (`TtlStateFactory`) serializes each value as `TtlValue`: an 8-byte
//! big-endian last-access timestamp, then the user value. The filter reads that timestamp
//! where it sits for each kind of state:
//! - value, reducing and aggregating state: at the start of the value;
//! - map state: after the one-byte null flag of the map value;
//! - list state: at the start of every element (the store's list format gives element
//!   boundaries without Java), so single expired elements go and the rest stays.
//!
//! A state's TTL is only known once the job registers the state, which may be after the
//! column family was opened from a snapshot, so each column family's filter reads its
//! configuration from a shared [`TtlCell`] that is filled in later.

use crate::error::{Error, Result};
use crate::list;
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use std::ffi::{CStr, CString};
use std::sync::{Arc, RwLock};

/// Where the timestamp of a state's values lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlLayout {
    /// Value, reducing and aggregating state.
    Value,
    /// Map state: a null flag byte, then the `TtlValue`.
    Map,
    /// List state: every element is a `TtlValue`.
    List,
}

impl TtlLayout {
    /// Decodes the layout the Java side sends (`NativeStore.TTL_*`).
    pub fn from_code(code: i32) -> Result<TtlLayout> {
        match code {
            0 => Ok(TtlLayout::Value),
            1 => Ok(TtlLayout::List),
            2 => Ok(TtlLayout::Map),
            other => Err(Error::InvalidArgument(format!(
                "unknown TTL layout {other}"
            ))),
        }
    }
}

/// TTL settings of one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlConfig {
    /// Time to live in milliseconds.
    pub ttl_ms: i64,
    /// Where the timestamps lie.
    pub layout: TtlLayout,
    /// Ask the clock for the time again after this many entries (Flink's
    /// `queryTimeAfterNumEntries`).
    pub query_time_after: u32,
}

/// The current time in milliseconds, as the job's `TtlTimeProvider` tells it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A clock that reads the system time.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// The TTL configuration of one column family, set when the state registers.
#[derive(Default)]
pub struct TtlCell(RwLock<Option<TtlConfig>>);

impl TtlCell {
    /// Sets (or with `None` clears) the configuration.
    pub fn set(&self, config: Option<TtlConfig>) {
        match self.0.write() {
            Ok(mut g) => *g = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }

    /// The configuration now in force.
    pub fn get(&self) -> Option<TtlConfig> {
        match self.0.read() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// Flink's `TtlUtils.expired`: the expiration time saturates instead of overflowing.
pub fn expired(ts: i64, ttl: i64, now: i64) -> bool {
    let ttl_without_overflow = if ts > 0 { ttl.min(i64::MAX - ts) } else { ttl };
    ts.wrapping_add(ttl_without_overflow) <= now
}

fn timestamp_at(bytes: &[u8], offset: usize) -> Option<i64> {
    let b = bytes.get(offset..offset + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(i64::from_be_bytes(a))
}

/// What the filter decides for one stored value.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not expired: keep it as it is.
    Keep,
    /// Expired (for a list: every element): drop it.
    Remove,
    /// Keep only the surviving list elements, written to the output buffer.
    Rewrite,
}

/// Decides about one value; for a list whose elements partly expired, writes the survivors
/// (in the store's list format) to `out`. Values it does not understand are kept.
pub fn judge(config: &TtlConfig, value: &[u8], now: i64, out: &mut Vec<u8>) -> Verdict {
    let is_expired = |ts: Option<i64>| ts.is_some_and(|ts| expired(ts, config.ttl_ms, now));
    match config.layout {
        TtlLayout::Value => {
            if is_expired(timestamp_at(value, 0)) {
                Verdict::Remove
            } else {
                Verdict::Keep
            }
        }
        TtlLayout::Map => {
            // A null flag of 1 means a null value: nothing to expire.
            if value.first() == Some(&0) && is_expired(timestamp_at(value, 1)) {
                Verdict::Remove
            } else {
                Verdict::Keep
            }
        }
        TtlLayout::List => {
            let mut dropped = 0usize;
            let mut kept = 0usize;
            out.clear();
            for element in list::elements(value) {
                let Ok(element) = element else {
                    return Verdict::Keep;
                };
                if is_expired(timestamp_at(element, 0)) {
                    dropped += 1;
                } else {
                    kept += 1;
                    list::push_element(out, element);
                }
            }
            match (dropped, kept) {
                (0, _) => Verdict::Keep,
                (_, 0) => Verdict::Remove,
                _ => Verdict::Rewrite,
            }
        }
    }
}

/// Creates one [`TtlFilter`] per compaction.
pub struct TtlFilterFactory {
    cell: Arc<TtlCell>,
    clock: Clock,
    name: CString,
}

impl TtlFilterFactory {
    /// A factory for the column family whose configuration lives in `cell`.
    pub fn new(cell: Arc<TtlCell>, clock: Clock) -> TtlFilterFactory {
        TtlFilterFactory {
            cell,
            clock,
            name: CString::from(c"ferrostate.ttl"),
        }
    }
}

impl CompactionFilterFactory for TtlFilterFactory {
    type Filter = TtlFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> TtlFilter {
        TtlFilter {
            config: self.cell.get(),
            clock: self.clock.clone(),
            now: None,
            since_query: 0,
            out: Vec::new(),
            name: self.name.clone(),
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// The filter of one compaction run (used by one thread only).
pub struct TtlFilter {
    config: Option<TtlConfig>,
    clock: Clock,
    now: Option<i64>,
    since_query: u32,
    out: Vec<u8>,
    name: CString,
}

impl TtlFilter {
    fn now(&mut self, query_after: u32) -> i64 {
        if self.now.is_none() || self.since_query >= query_after.max(1) {
            self.now = Some((self.clock)());
            self.since_query = 0;
        }
        self.since_query += 1;
        self.now.unwrap_or(0)
    }
}

impl CompactionFilter for TtlFilter {
    fn filter(&mut self, _level: u32, _key: &[u8], value: &[u8]) -> Decision {
        let Some(config) = self.config else {
            return Decision::Keep;
        };
        let now = self.now(config.query_time_after);
        let mut out = std::mem::take(&mut self.out);
        let verdict = judge(&config, value, now, &mut out);
        self.out = out;
        match verdict {
            Verdict::Keep => Decision::Keep,
            Verdict::Remove => Decision::Remove,
            Verdict::Rewrite => Decision::Change(extend_lifetime(&self.out)),
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// `Decision::Change` asks for a `'static` slice, but RocksDB copies the new value before the
/// filter callback returns (`new_value->assign(...)` in RocksDB's C API, `c.cc`), and the
/// buffer lives in the filter, which outlives the callback and is used by one thread only.
#[allow(unsafe_code)]
fn extend_lifetime(bytes: &[u8]) -> &'static [u8] {
    // SAFETY: see above; the slice is read before `self.out` is touched again.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl_value(ts: i64, v: &[u8]) -> Vec<u8> {
        let mut out = ts.to_be_bytes().to_vec();
        out.extend_from_slice(v);
        out
    }

    fn cfg(layout: TtlLayout) -> TtlConfig {
        TtlConfig {
            ttl_ms: 100,
            layout,
            query_time_after: 1000,
        }
    }

    #[test]
    fn expired_matches_flink() {
        assert!(!expired(100, 100, 199));
        assert!(expired(100, 100, 200));
        assert!(!expired(i64::MAX - 5, 100, i64::MAX - 1));
        assert!(expired(i64::MAX - 5, 100, i64::MAX));
    }

    #[test]
    fn value_and_map() {
        let mut out = Vec::new();
        let v = ttl_value(10, b"x");
        assert_eq!(
            judge(&cfg(TtlLayout::Value), &v, 109, &mut out),
            Verdict::Keep
        );
        assert_eq!(
            judge(&cfg(TtlLayout::Value), &v, 110, &mut out),
            Verdict::Remove
        );
        let mut m = vec![0u8];
        m.extend_from_slice(&v);
        assert_eq!(
            judge(&cfg(TtlLayout::Map), &m, 110, &mut out),
            Verdict::Remove
        );
        assert_eq!(
            judge(&cfg(TtlLayout::Map), &[1u8], 110, &mut out),
            Verdict::Keep
        );
        // Too short to hold a timestamp: kept, never guessed at.
        assert_eq!(
            judge(&cfg(TtlLayout::Value), b"abc", 1 << 40, &mut out),
            Verdict::Keep
        );
    }

    #[test]
    fn list_drops_single_elements() {
        let mut l = Vec::new();
        list::push_element(&mut l, &ttl_value(10, b"old"));
        list::push_element(&mut l, &ttl_value(50, b"new"));
        let mut out = Vec::new();
        let c = cfg(TtlLayout::List);
        assert_eq!(judge(&c, &l, 100, &mut out), Verdict::Keep);
        assert_eq!(judge(&c, &l, 120, &mut out), Verdict::Rewrite);
        let mut expect = Vec::new();
        list::push_element(&mut expect, &ttl_value(50, b"new"));
        assert_eq!(out, expect);
        assert_eq!(judge(&c, &l, 1000, &mut out), Verdict::Remove);
    }
}
