//! Bad arguments give a status and a message, never undefined behaviour or a crash, and
//! change nothing.

mod common;

use common::*;
use std::ptr::{null, null_mut};

#[test]
fn null_pointers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    let k = key(0, 1);
    let (mut len, mut found, mut id) = (0usize, false, 0u32);
    let null_arg = ferrostate_status::NullArgument;
    // SAFETY: every pointer is NULL or valid; NULLs are what is tested.
    unsafe {
        assert_eq!(ferrostate_store_open(null(), &mut null_mut()), null_arg);
        let o = ferrostate_options_default();
        assert_eq!(ferrostate_store_open(&o, &mut null_mut()), null_arg);
        assert_eq!(last_error(), "ferrostate_store_open: options->path is NULL");
        assert_eq!(
            ferrostate_put(null_mut(), v, k.as_ptr(), k.len(), null(), 0),
            null_arg
        );
        assert_eq!(ferrostate_put(s, v, null(), 3, null(), 0), null_arg);
        assert_eq!(last_error(), "ferrostate_put: key is NULL");
        assert_eq!(
            ferrostate_put(s, v, k.as_ptr(), k.len(), null(), 1),
            null_arg
        );
        let status = ferrostate_get(
            s,
            v,
            k.as_ptr(),
            k.len(),
            null_mut(),
            0,
            null_mut(),
            &mut found,
        );
        assert_eq!(status, null_arg);
        let status = ferrostate_get(
            s,
            v,
            k.as_ptr(),
            k.len(),
            null_mut(),
            8,
            &mut len,
            &mut found,
        );
        assert_eq!(status, null_arg);
        assert_eq!(ferrostate_register_state(s, null(), 0, &mut id), null_arg);
        assert_eq!(
            ferrostate_register_state(s, c"x".as_ptr(), 0, null_mut()),
            null_arg
        );
        assert_eq!(ferrostate_scan(s, v, null(), 0, null_mut()), null_arg);
        assert_eq!(
            ferrostate_iter_next(
                null_mut(),
                &mut null(),
                &mut len,
                &mut null(),
                &mut len,
                &mut found
            ),
            null_arg
        );
        assert_eq!(ferrostate_store_snapshot(s, null(), null_mut()), null_arg);
        assert_eq!(ferrostate_snapshot_verify(null(), null_mut()), null_arg);
        assert_eq!(
            ferrostate_store_restore(&o, null(), 1, &mut null_mut()),
            null_arg
        );
        assert_eq!(ferrostate_state_count(null_mut(), &mut id), null_arg);
        assert_eq!(ferrostate_store_stats(s, null_mut()), null_arg);
        let mut offset = 0usize;
        assert_eq!(
            ferrostate_list_next(null(), 0, &mut offset, null_mut(), &mut len, &mut found),
            null_arg
        );
        // Freeing NULL does nothing.
        ferrostate_iter_free(null_mut());
        ferrostate_string_free(null_mut());
        ferrostate_memory_free(null_mut());
        assert_eq!(ferrostate_store_close(null_mut()), OK);
    }
    // Nothing changed.
    assert!(scan(s, v, &[]).is_empty());
    close(s);
}

#[test]
fn unknown_states_wrong_kinds_and_foreign_key_groups_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = c(&dir.path().join("db"));
    let o = options(&p, 0, 63);
    let mut s = null_mut();
    // SAFETY: valid options.
    ok(unsafe { ferrostate_store_open(&o, &mut s) });
    let v = register(s, "v", ferrostate_kind::Value);
    let m = register(s, "m", ferrostate_kind::Map);
    let k = key(1, 1);
    // SAFETY: live store and valid buffers throughout.
    unsafe {
        let status = ferrostate_put(s, 99, k.as_ptr(), k.len(), b"x".as_ptr(), 1);
        assert_eq!(status, ferrostate_status::UnknownState);
        assert!(last_error().contains("unknown state id 99"));
        let status = ferrostate_put(s, m, k.as_ptr(), k.len(), b"x".as_ptr(), 1);
        assert_eq!(status, ferrostate_status::WrongKind);
        assert!(last_error().contains("is a Map state"), "{}", last_error());
        let status = ferrostate_map_put(
            s,
            v,
            k.as_ptr(),
            k.len(),
            b"u".as_ptr(),
            1,
            b"x".as_ptr(),
            1,
        );
        assert_eq!(status, ferrostate_status::WrongKind);
        let status = ferrostate_list_append(s, v, k.as_ptr(), k.len(), b"x".as_ptr(), 1);
        assert_eq!(status, ferrostate_status::WrongKind);
        let mut id = 0;
        let status =
            ferrostate_register_state(s, c"v".as_ptr(), ferrostate_kind::List as u32, &mut id);
        assert_eq!(status, ferrostate_status::WrongKind);
        let status = ferrostate_register_state(s, c"w".as_ptr(), 7, &mut id);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        let status = ferrostate_register_state(s, c"default".as_ptr(), 0, &mut id);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        let status = ferrostate_register_state(s, [0xffu8, 0].as_ptr().cast(), 0, &mut id);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        // Key group 64 is not this store's, and an empty key has none.
        let far = key(64, 1);
        let status = ferrostate_put(s, v, far.as_ptr(), far.len(), b"x".as_ptr(), 1);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        assert!(last_error().contains("outside the store's key groups [0, 63]"));
        let status = ferrostate_put(s, v, null(), 0, b"x".as_ptr(), 1);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        // A buffer too small: the length, nothing else.
        put(s, v, &k, b"12345");
        let mut buf = [0u8; 2];
        let (mut len, mut found) = (0usize, false);
        let status = ferrostate_get(
            s,
            v,
            k.as_ptr(),
            k.len(),
            buf.as_mut_ptr(),
            2,
            &mut len,
            &mut found,
        );
        assert_eq!(
            (status, len, found, buf),
            (ferrostate_status::BufferTooSmall, 5, true, [0, 0])
        );
        // A list offset past the end.
        let mut offset = 10usize;
        let (mut e, mut n, mut has) = (null(), 0usize, false);
        let status =
            ferrostate_list_next(b"abc".as_ptr(), 3, &mut offset, &mut e, &mut n, &mut has);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        let mut offset = 0usize;
        let status = ferrostate_list_next(
            [0u8, 0, 0, 9, 1].as_ptr(),
            5,
            &mut offset,
            &mut e,
            &mut n,
            &mut has,
        );
        assert_eq!(status, ferrostate_status::Corrupt);
    }
    assert_eq!(get(s, v, &k).as_deref(), Some(&b"12345"[..]));
    assert_eq!(scan(s, v, &[]).len(), 1);
    close(s);
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = c(&dir.path().join("db"));
    type Spoil = fn(&mut ferrostate_options);
    let cases: [(&str, Spoil); 6] = [
        ("NaN ratio", |o| o.hot_ratio = f64::NAN),
        ("ratio above 1", |o| o.write_buffer_ratio = 2.0),
        ("range past max_parallelism", |o| o.key_group_end = 128),
        ("empty range", |o| {
            (o.key_group_start, o.key_group_end) = (9, 8)
        }),
        ("no key groups", |o| o.max_parallelism = 0),
        ("no budget", |o| o.memory_budget = 0),
    ];
    for (what, spoil) in cases {
        let mut o = options(&p, 0, 127);
        spoil(&mut o);
        let mut s = null_mut();
        // SAFETY: valid options but for the bad value.
        let status = unsafe { ferrostate_store_open(&o, &mut s) };
        assert_eq!(status, ferrostate_status::InvalidArgument, "{what}");
        assert!(s.is_null());
    }
    assert!(!dir.path().join("db").exists(), "nothing was created");
    let mut mem = null_mut();
    // SAFETY: writable out-pointer.
    let status = unsafe { ferrostate_memory_new(1 << 30, 1.5, 0.25, &mut mem) };
    assert_eq!(status, ferrostate_status::InvalidArgument);
}
