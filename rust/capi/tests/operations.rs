//! Every kind of state through the C API: values, lists, maps, scans, TTL, statistics, and a
//! store closed and opened again.

mod common;

use common::*;

#[test]
fn values_lists_and_maps_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    let l = register(s, "l", ferrostate_kind::List);
    let m = register(s, "m", ferrostate_kind::Map);
    assert_eq!((v, l, m), (0, 1, 2));
    // The same name again is the same state.
    assert_eq!(register(s, "v", ferrostate_kind::Value), v);

    put(s, v, &key(3, 1), b"one");
    assert_eq!(get(s, v, &key(3, 1)).as_deref(), Some(&b"one"[..]));
    assert_eq!(get(s, v, &key(3, 2)), None);
    let big = vec![7u8; 200_000];
    put(s, v, &key(3, 2), &big);
    assert_eq!(get(s, v, &key(3, 2)), Some(big));
    let mut found = false;
    let k = key(3, 1);
    // SAFETY: live store, readable key, writable bool.
    ok(unsafe { ferrostate_contains(s, v, k.as_ptr(), k.len(), &mut found) });
    assert!(found);
    // SAFETY: as above.
    ok(unsafe { ferrostate_delete(s, v, k.as_ptr(), k.len()) });
    assert_eq!(get(s, v, &k), None);

    append(s, l, &key(5, 1), b"a");
    append(s, l, &key(5, 1), b"");
    append(s, l, &key(5, 1), b"ccc");
    let list = get(s, l, &key(5, 1)).unwrap();
    assert_eq!(
        elements(&list),
        vec![b"a".to_vec(), vec![], b"ccc".to_vec()]
    );
    // A whole list may be put back (list format), a malformed one is refused.
    put(s, l, &key(5, 2), &list);
    assert_eq!(get(s, l, &key(5, 2)).unwrap(), list);
    let k = key(5, 3);
    // SAFETY: live store, readable buffers.
    let status = unsafe { ferrostate_put(s, l, k.as_ptr(), k.len(), [0u8, 0, 0, 9].as_ptr(), 4) };
    assert_eq!(
        status,
        ferrostate_status::InvalidArgument,
        "{}",
        last_error()
    );

    let map = key(9, 42);
    map_put(s, m, &map, b"b", b"2");
    map_put(s, m, &map, b"a", b"1");
    map_put(s, m, &key(9, 43), b"a", b"other map");
    assert_eq!(map_get(s, m, &map, b"a").as_deref(), Some(&b"1"[..]));
    assert_eq!(
        map_scan(s, m, &map),
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
    // SAFETY: live store, readable buffers.
    ok(unsafe { ferrostate_map_remove(s, m, map.as_ptr(), map.len(), b"a".as_ptr(), 1) });
    assert_eq!(map_get(s, m, &map, b"a"), None);
    // SAFETY: as above.
    ok(unsafe { ferrostate_map_clear(s, m, map.as_ptr(), map.len()) });
    assert!(map_scan(s, m, &map).is_empty());
    assert_eq!(map_scan(s, m, &key(9, 43)).len(), 1);
    // A prefix scan hands out whole keys.
    let all = scan(s, m, &[9]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, [&key(9, 43)[..], b"a"].concat());
    close(s);
}

#[test]
fn scans_go_on_across_batches_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    let m = register(s, "m", ferrostate_kind::Map);
    for i in 0..1000u32 {
        put(s, v, &key((i % 4) as u8, i), &i.to_be_bytes());
        map_put(s, m, &key(1, 7), &i.to_be_bytes(), &[1; 3000]);
    }
    let two = scan(s, v, &[2]);
    assert_eq!(two.len(), 250);
    assert!(two.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(scan(s, v, &[]).len(), 1000);
    let entries = map_scan(s, m, &key(1, 7));
    assert_eq!(entries.len(), 1000);
    for (i, (k, v)) in entries.iter().enumerate() {
        assert_eq!(k, &(i as u32).to_be_bytes());
        assert_eq!(v.len(), 3000);
    }
    close(s);
}

#[test]
fn an_iterator_outliving_its_store_says_closed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    put(s, v, &key(0, 1), b"x");
    let mut it = std::ptr::null_mut();
    // SAFETY: live store, out-pointer.
    ok(unsafe { ferrostate_scan(s, v, std::ptr::null(), 0, &mut it) });
    close(s);
    let (mut k, mut kl, mut val, mut vl, mut has) =
        (std::ptr::null(), 0usize, std::ptr::null(), 0usize, false);
    // SAFETY: a live iterator, writable out-pointers.
    let status = unsafe { ferrostate_iter_next(it, &mut k, &mut kl, &mut val, &mut vl, &mut has) };
    assert_eq!(status, ferrostate_status::Closed);
    // SAFETY: freed once.
    unsafe { ferrostate_iter_free(it) };
}

#[test]
fn a_closed_store_opens_again_with_its_states() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let s = open(&path);
    let v = register(s, "v", ferrostate_kind::Value);
    for i in 0..100 {
        put(s, v, &key(1, i), b"kept");
    }
    close(s);
    let s = open(&path);
    let mut n = 0;
    // SAFETY: live store, writable count.
    ok(unsafe { ferrostate_state_count(s, &mut n) });
    assert_eq!(n, 1);
    let mut name = std::ptr::null_mut();
    // SAFETY: live store, writable pointer.
    ok(unsafe { ferrostate_state_name(s, 0, &mut name) });
    // SAFETY: a string of the library, freed once.
    unsafe {
        assert_eq!(std::ffi::CStr::from_ptr(name).to_str().unwrap(), "v");
        ferrostate_string_free(name);
    }
    // Not registered yet after reopening: refused until it is.
    let k = key(1, 5);
    let (mut len, mut found) = (0usize, false);
    // SAFETY: live store, readable key, out-pointers.
    let status = unsafe {
        ferrostate_get(
            s,
            0,
            k.as_ptr(),
            k.len(),
            std::ptr::null_mut(),
            0,
            &mut len,
            &mut found,
        )
    };
    assert_eq!(status, ferrostate_status::UnknownState);
    assert!(last_error().contains("not registered"));
    let v = register(s, "v", ferrostate_kind::Value);
    assert_eq!(get(s, v, &k).as_deref(), Some(&b"kept"[..]));
    assert_eq!(scan(s, v, &[]).len(), 100);
    close(s);
}

#[test]
fn ttl_compaction_drops_expired_entries() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let stamped = |ts: i64| [&ts.to_be_bytes()[..], b"payload"].concat();
    put(s, v, &key(0, 1), &stamped(now - 120_000));
    put(s, v, &key(0, 2), &stamped(now));
    // SAFETY: live store.
    ok(unsafe { ferrostate_set_ttl(s, v, 60_000) });
    // SAFETY: live store.
    assert_eq!(
        unsafe { ferrostate_set_ttl(s, v, -1) },
        ferrostate_status::InvalidArgument
    );
    // SAFETY: live store.
    ok(unsafe { ferrostate_compact(s, v) });
    assert_eq!(get(s, v, &key(0, 1)), None);
    assert!(get(s, v, &key(0, 2)).is_some());
    close(s);
}

#[test]
fn statistics_and_memory_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("db"));
    let v = register(s, "v", ferrostate_kind::Value);
    put(s, v, &key(0, 1), b"x");
    get(s, v, &key(0, 1));
    let mut stats = ferrostate_stats::default();
    // SAFETY: live store, writable stats.
    ok(unsafe { ferrostate_store_stats(s, &mut stats) });
    assert_eq!(stats.hot_hits, 1);
    let mut usage = ferrostate_memory_usage::default();
    // SAFETY: live store, writable usage.
    ok(unsafe { ferrostate_store_memory_usage(s, &mut usage) });
    assert_eq!(usage.budget_bytes, 16 << 20);
    assert!(usage.hot_bytes > 0);
    // SAFETY: live store.
    ok(unsafe { ferrostate_store_flush(s) });
    close(s);
}

#[test]
fn stores_share_a_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = std::ptr::null_mut();
    // SAFETY: writable out-pointer.
    ok(unsafe { ferrostate_memory_new(32 << 20, 0.5, 0.25, &mut mem) });
    let (p1, p2) = (c(&dir.path().join("a")), c(&dir.path().join("b")));
    let mut stores = Vec::new();
    for p in [&p1, &p2] {
        let mut o = options(p, 0, 127);
        o.memory = mem;
        let mut s = std::ptr::null_mut();
        // SAFETY: valid options with a live budget.
        ok(unsafe { ferrostate_store_open(&o, &mut s) });
        stores.push(s);
    }
    // The stores keep the budget alive.
    // SAFETY: freed once.
    unsafe { ferrostate_memory_free(mem) };
    for s in stores {
        let v = register(s, "v", ferrostate_kind::Value);
        put(s, v, &key(0, 1), b"x");
        let mut usage = ferrostate_memory_usage::default();
        // SAFETY: live store, writable usage.
        ok(unsafe { ferrostate_store_memory_usage(s, &mut usage) });
        assert_eq!(usage.budget_bytes, 32 << 20);
        close(s);
    }
}

#[test]
fn key_group_prefixes_follow_flink() {
    let mut out = [0u8; 2];
    let mut n = 0usize;
    // SAFETY: a writable buffer of 2 bytes and a writable length.
    unsafe {
        ok(ferrostate_key_group_prefix(
            128,
            5,
            out.as_mut_ptr(),
            2,
            &mut n,
        ));
        assert_eq!(&out[..n], &[5]);
        ok(ferrostate_key_group_prefix(
            1024,
            300,
            out.as_mut_ptr(),
            2,
            &mut n,
        ));
        assert_eq!(&out[..n], &[1, 44]);
        let status = ferrostate_key_group_prefix(1024, 300, std::ptr::null_mut(), 0, &mut n);
        assert_eq!((status, n), (ferrostate_status::BufferTooSmall, 2));
        let status = ferrostate_key_group_prefix(128, 128, out.as_mut_ptr(), 2, &mut n);
        assert_eq!(status, ferrostate_status::InvalidArgument);
        let status = ferrostate_key_group_prefix(0, 0, out.as_mut_ptr(), 2, &mut n);
        assert_eq!(status, ferrostate_status::InvalidArgument);
    }
}
