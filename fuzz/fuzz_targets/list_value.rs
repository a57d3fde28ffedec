//! List values in the store's format (`list::elements`, `validate`, `to_delimited`): any bytes
//! are a list of elements or an error, never a panic; a valid list re-encodes to the same bytes,
//! converts to Flink's delimited form, and two valid lists concatenated (what the merge
//! operator `merge_concat` does) are the list of both lists' elements.
//!
//! Input: `[split][list value]`: `split` (as a share of the length) cuts the value in two for
//! the concatenation check.
#![no_main]

use ferrostate_engine::list;
use libfuzzer_sys::fuzz_target;

fn reencode(elements: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in elements {
        list::push_element(&mut out, e);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, value)) = data.split_first() else {
        return;
    };
    let items: Vec<_> = list::elements(value).collect();
    let ok: Vec<&[u8]> = items
        .iter()
        .filter_map(|e| e.as_ref().ok().copied())
        .collect();
    let mut delimited = Vec::new();
    match list::validate(value) {
        Ok(n) => {
            assert_eq!(n, items.len());
            assert_eq!(ok.len(), n);
            assert_eq!(reencode(&ok), value);
            list::to_delimited(value, &mut delimited).expect("a valid list converts");
            assert_eq!(delimited, ok.join(&list::FLINK_DELIMITER));
        }
        Err(_) => {
            // The error is the last item; every element before it is where the bytes say.
            assert!(items.last().is_some_and(|e| e.is_err()));
            assert_eq!(ok.len() + 1, items.len());
            assert!(value.starts_with(&reencode(&ok)));
            assert!(list::to_delimited(value, &mut delimited).is_err());
        }
    }
    let at = value.len() * split as usize / 255;
    let (a, b) = value.split_at(at);
    if let (Ok(na), Ok(nb)) = (list::validate(a), list::validate(b)) {
        assert_eq!(list::validate(value).ok(), Some(na + nb));
    }
});
