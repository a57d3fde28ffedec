//! Key-group prefixes (`keygroup.rs`) and the small codes Java sends (state kind, TTL layout):
//! decoding any bytes gives the key group Flink wrote or an error, encoding round-trips and
//! keeps key-group order.
#![no_main]

use ferrostate_engine::keygroup::{decode, encode, prefix_bytes};
use ferrostate_engine::store::StateKind;
use ferrostate_engine::ttl::TtlLayout;
use libfuzzer_sys::fuzz_target;

fn word(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    for pb in 0..=3usize {
        match decode(data, pb) {
            Ok(kg) => {
                assert!(pb == 1 || pb == 2, "decoded with {pb} prefix bytes");
                assert_eq!(encode(kg, pb).unwrap(), &data[..pb]);
            }
            Err(_) => assert!(!(1..=2).contains(&pb) || data.len() < pb),
        }
    }
    if let (Some(a), Some(b)) = (word(data, 0), word(data, 4)) {
        for pb in 1..=2usize {
            let fits = |kg: u32| (kg as u64) < 1u64 << (8 * pb);
            match (encode(a, pb), encode(b, pb)) {
                (Ok(x), Ok(y)) => {
                    assert_eq!(x.len(), pb);
                    assert_eq!(a.cmp(&b), x.cmp(&y), "prefixes sort as key groups");
                    assert_eq!(decode(&x, pb).unwrap(), a);
                }
                (x, y) => assert!(x.is_ok() == fits(a) && y.is_ok() == fits(b)),
            }
        }
        assert_eq!(prefix_bytes(a), if a <= 128 { 1 } else { 2 });
        let code = a as i32;
        assert_eq!(StateKind::from_code(code).is_ok(), (0..=2).contains(&code));
        assert_eq!(TtlLayout::from_code(code).is_ok(), (0..=2).contains(&code));
    }
});
