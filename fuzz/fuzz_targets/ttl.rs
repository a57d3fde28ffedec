//! The TTL compaction filter's decision (`ttl::judge`) on any stored bytes, for each layout:
//! never a panic, and the verdict Flink's `TtlUtils.expired` gives for the timestamp where the
//! layout puts it (value: at 0; map: after a 0 null flag; list: at the start of every element,
//! a list the filter cannot read is kept whole); a partly expired list is rewritten to exactly
//! its live elements.
//!
//! Input: `[layout][ttl i64][now i64][value]`, big-endian.
#![no_main]

use ferrostate_engine::list;
use ferrostate_engine::ttl::{judge, TtlConfig, TtlLayout, Verdict};
use libfuzzer_sys::fuzz_target;

fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Flink's rule, for a non-negative TTL: expired when `ts + ttl`, capped at `i64::MAX`, is at
/// or before `now` (in wider integers, so the model itself cannot overflow).
fn expired(ts: i64, ttl: i64, now: i64) -> bool {
    let expiry = (ts as i128 + ttl as i128).min(i64::MAX as i128);
    expiry <= now as i128
}

fuzz_target!(|data: &[u8]| {
    let (Some(&code), Some(ttl), Some(now)) = (data.first(), i64_at(data, 1), i64_at(data, 9))
    else {
        return;
    };
    let value = &data[17..];
    let layout = match TtlLayout::from_code(i32::from(code % 3)) {
        Ok(l) => l,
        Err(e) => panic!("code {} refused: {e}", code % 3),
    };
    let config = TtlConfig {
        ttl_ms: ttl,
        layout,
        query_time_after: 1,
    };
    let mut out = Vec::new();
    let verdict = judge(&config, value, now, &mut out);
    if ttl < 0 {
        // Java never configures a negative TTL (`setTtl` clears it instead): no panic is all.
        return;
    }
    let gone = |ts: Option<i64>| ts.is_some_and(|ts| expired(ts, ttl, now));
    match layout {
        TtlLayout::Value => {
            let want = if gone(i64_at(value, 0)) {
                Verdict::Remove
            } else {
                Verdict::Keep
            };
            assert_eq!(verdict, want);
        }
        TtlLayout::Map => {
            let want = if value.first() == Some(&0) && gone(i64_at(value, 1)) {
                Verdict::Remove
            } else {
                Verdict::Keep
            };
            assert_eq!(verdict, want);
        }
        TtlLayout::List => {
            let Ok(elements) = list::elements(value).collect::<Result<Vec<_>, _>>() else {
                assert_eq!(verdict, Verdict::Keep, "an unreadable list is kept whole");
                return;
            };
            let live: Vec<&[u8]> = elements
                .iter()
                .copied()
                .filter(|e| !gone(i64_at(e, 0)))
                .collect();
            if live.len() == elements.len() {
                assert_eq!(verdict, Verdict::Keep);
            } else if live.is_empty() {
                assert_eq!(verdict, Verdict::Remove);
            } else {
                assert_eq!(verdict, Verdict::Rewrite);
                let mut want = Vec::new();
                for e in live {
                    list::push_element(&mut want, e);
                }
                assert_eq!(out, want);
            }
        }
    }
});
