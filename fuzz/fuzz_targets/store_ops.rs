//! A `Store` driven by arbitrary operation sequences and compared, read by read, with a model
//! (one `BTreeMap` per state): value puts, gets and deletes; list appends (in the hot tier and,
//! past `max_hot_value`, through RocksDB's merge operator) and updates; map entries one at a
//! time and in `putAll` batches (damaged ones too), map scans from any start, clears; prefix
//! scans and counts; write-back, eviction, compaction (with TTL cleanup at a chosen time);
//! snapshots, restores from them (with key groups clipped) and imports of key groups (rescaling).
//! At the end every state is read whole. Any difference, error where none is due, or panic is
//! a crash.
#![no_main]

use arbitrary::Arbitrary;
use ferrostate_engine::memory::MIN_BUDGET;
use ferrostate_engine::snapshot;
use ferrostate_engine::store::{ScanStart, StateKind, Store, StoreOptions};
use ferrostate_engine::ttl::{TtlConfig, TtlLayout};
use ferrostate_engine::{list, SharedMemory};
use ferrostate_fuzz::scratch::Scratch;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Operations per input, and of those the ones that open or copy RocksDB instances.
const MAX_OPS: usize = 64;
const MAX_HEAVY: usize = 6;

/// The time the TTL filter sees: `i64::MIN` (nothing expires, TTLs are at least 1 ms) except
/// inside an `ExpireAt` compaction, so background compactions never expire anything.
static CLOCK: AtomicI64 = AtomicI64::new(i64::MIN);

/// A key of the value or list state: `[key group][id]` (and sometimes a third byte), from four
/// key groups (and sometimes one of the highest, 240..=255) and four ids, so operations meet
/// the same keys.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Key(u8, u8);

impl Key {
    fn bytes(self) -> Vec<u8> {
        let kg = if self.0 >= 240 { self.0 } else { self.0 % 4 };
        let mut k = vec![kg, b'a' + self.1 % 4];
        if self.1 & 0x80 != 0 {
            k.push(b'z');
        }
        k
    }
}

/// One map of the map state: its prefix `[key group]['M'][map]`, of one length for every map
/// (as Flink's serialized key and namespace are for one job), so no map's prefix starts another's.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct MapId(u8, u8);

impl MapId {
    fn prefix(self) -> Vec<u8> {
        let kg = if self.0 >= 240 { self.0 } else { self.0 % 4 };
        vec![kg, b'M', self.1 % 2]
    }
}

/// A user key of a map: 0 to 2 repetitions of one of four letters.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct UserKey(u8);

impl UserKey {
    fn bytes(self) -> Vec<u8> {
        vec![b'a' + self.0 % 4; (self.0 / 4 % 3) as usize]
    }
}

/// A bound of a key-group range: mostly among the key groups the keys use (0..=4), sometimes
/// one of the highest.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Kg(u8);

impl Kg {
    fn get(self) -> u8 {
        if self.0 >= 240 {
            self.0
        } else {
            self.0 % 5
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Sel {
    Value,
    List,
    Map,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Put(Key, Vec<u8>),
    Get(Key),
    Contains(Key),
    Delete(Key),
    Append(Key, Vec<Vec<u8>>),
    ListUpdate(Key, Vec<Vec<u8>>),
    GetList(Key),
    DeleteList(Key),
    MapPut(MapId, UserKey, Vec<u8>),
    MapGet(MapId, UserKey),
    MapDelete(MapId, UserKey),
    MapPutAll(MapId, Vec<(UserKey, Vec<u8>)>, Option<u16>),
    MapScan(MapId, Option<(UserKey, bool)>, u8),
    MapIsEmpty(MapId),
    MapClear(MapId),
    Scan(Sel, Vec<u8>, u8),
    Count(Sel),
    FlushAll,
    DropHot,
    Evict,
    Compact(Sel),
    SetTtl(bool, u16),
    ExpireAt(bool, i64),
    Snapshot(bool),
    Restore(bool, Option<(Kg, Kg)>),
    Clip(Kg, Kg),
    Import(bool, Kg, Kg),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Values longer than `8 + max_hot_value` bytes bypass the hot tier; and a checkpoint
    /// ingests a state's write-back as an SST file from `1 + max_hot_value % 8` dirty keys on
    /// (a byte of its own would shift the meaning of every input of the corpus).
    max_hot_value: u8,
    /// A hot tier with no memory of its own: eviction after every 64 KiB of changes.
    starved: bool,
    ops: Vec<Op>,
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Keys and values, in order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What the store should hold, per state (value, list, map), and each state's TTL.
#[derive(Clone, Default)]
struct Model {
    states: [Map; 3],
    ttl: [Option<i64>; 3],
}

fn idx(sel: Sel) -> usize {
    sel as usize
}

fn encode_list(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in elements {
        list::push_element(&mut out, e);
    }
    out
}

/// The user keys and values of a `putAll` batch before its first damaged field, and whether it
/// is damaged (written from the format's description, not from the store's parser).
fn parse_batch(mut batch: &[u8]) -> (Entries, bool) {
    fn field(b: &mut &[u8]) -> Option<Vec<u8>> {
        let (len, rest) = b.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        let f = rest.get(..len)?.to_vec();
        *b = &rest[len..];
        Some(f)
    }
    let mut out = Vec::new();
    while !batch.is_empty() {
        let (Some(k), Some(v)) = (field(&mut batch), field(&mut batch)) else {
            return (out, true);
        };
        out.push((k, v));
    }
    (out, false)
}

/// Flink's expiry rule for a TTL of at least 1 ms, in wider integers.
fn expired(ts: i64, ttl: i64, now: i64) -> bool {
    (ts as i128 + ttl as i128).min(i64::MAX as i128) <= now as i128
}

fn ts_at(v: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(v.get(at..at + 8)?.try_into().ok()?))
}

/// The first `limit` entries of `map` with `prefix`, from `start`.
fn model_scan(map: &Map, prefix: &[u8], start: Option<(&[u8], bool)>, limit: usize) -> Entries {
    map.range(prefix.to_vec()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(k, _)| match start {
            None => true,
            Some((s, exclusive)) => k.as_slice() > s || (!exclusive && k.as_slice() == s),
        })
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The store under test and its model. Fields drop in order: the store before its directory.
struct Harness {
    store: Store,
    ids: [u32; 3],
    model: Model,
    snaps: [Option<(PathBuf, Model)>; 2],
    generation: u32,
    max_hot_value: usize,
    starved: bool,
    dir: Scratch,
}

impl Harness {
    fn open(&mut self, path: PathBuf) {
        // The old store goes after the new one opened (another directory): it gives its
        // memory back.
        let (store, ids) = open_store(path, self.max_hot_value, self.starved);
        self.store = store;
        self.ids = ids;
    }

    fn next_path(&mut self, what: &str) -> PathBuf {
        self.generation += 1;
        self.dir.path().join(format!("{what}{}", self.generation))
    }

    fn get(&mut self, sel: Sel, key: &[u8]) -> Option<Vec<u8>> {
        self.store
            .get(self.ids[idx(sel)], key, |v| v.to_vec())
            .expect("get")
    }

    fn check_get(&mut self, sel: Sel, key: &[u8]) {
        let got = self.get(sel, key);
        assert_eq!(
            got.as_ref(),
            self.model.states[idx(sel)].get(key),
            "{sel:?} get {key:?}"
        );
    }

    fn scan(
        &mut self,
        sel: Sel,
        prefix: &[u8],
        start: Option<(&[u8], bool)>,
        limit: usize,
        map: bool,
    ) -> Entries {
        let mut got = Vec::new();
        let start = match start {
            None => ScanStart::First,
            Some((key, exclusive)) => ScanStart::At { key, exclusive },
        };
        let sink = |k: &[u8], v: &[u8]| {
            if got.len() >= limit {
                return Ok(false);
            }
            got.push((k.to_vec(), v.to_vec()));
            Ok(true)
        };
        let id = self.ids[idx(sel)];
        if map {
            self.store
                .scan_map(id, prefix, start, sink)
                .expect("scan map");
        } else {
            self.store.scan(id, prefix, start, sink).expect("scan");
        }
        got
    }

    fn clip(&mut self, start: Kg, end: Kg) {
        let (start, end) = (start.get(), end.get());
        let r = self.store.clip_key_groups(1, start as u32, end as u32);
        if start > end {
            assert!(r.is_err(), "an empty key-group range was accepted");
            return;
        }
        r.expect("clip key groups");
        for m in &mut self.model.states {
            m.retain(|k, _| (start..=end).contains(&k[0]));
        }
    }

    fn run(&mut self, op: Op, heavy: &mut usize) {
        use Sel::*;
        match op {
            Op::Put(k, v) => {
                let k = k.bytes();
                self.store.put(self.ids[0], &k, &v).expect("put");
                self.model.states[0].insert(k, v);
            }
            Op::Get(k) => self.check_get(Value, &k.bytes()),
            Op::Contains(k) => {
                let k = k.bytes();
                let got = self.store.contains(self.ids[0], &k).expect("contains");
                assert_eq!(got, self.model.states[0].contains_key(&k), "contains {k:?}");
            }
            Op::Delete(k) => {
                let k = k.bytes();
                self.store.delete(self.ids[0], &k).expect("delete");
                self.model.states[0].remove(&k);
            }
            Op::Append(k, mut elements) => {
                if elements.is_empty() {
                    // ListState.add appends one element at least.
                    elements.push(Vec::new());
                }
                let k = k.bytes();
                let bytes = encode_list(&elements);
                self.store.append(self.ids[1], &k, &bytes).expect("append");
                self.model.states[1]
                    .entry(k)
                    .or_default()
                    .extend_from_slice(&bytes);
            }
            Op::ListUpdate(k, elements) => {
                let k = k.bytes();
                if elements.is_empty() {
                    self.store.delete(self.ids[1], &k).expect("clear list");
                    self.model.states[1].remove(&k);
                } else {
                    let bytes = encode_list(&elements);
                    self.store
                        .put(self.ids[1], &k, &bytes)
                        .expect("update list");
                    self.model.states[1].insert(k, bytes);
                }
            }
            Op::GetList(k) => self.check_get(List, &k.bytes()),
            Op::DeleteList(k) => {
                let k = k.bytes();
                self.store.delete(self.ids[1], &k).expect("delete list");
                self.model.states[1].remove(&k);
            }
            Op::MapPut(m, uk, v) => {
                let p = m.prefix();
                let key = [p.clone(), uk.bytes()].concat();
                self.store
                    .put_entry(self.ids[2], &key, p.len(), &v)
                    .expect("map put");
                self.model.states[2].insert(key, v);
            }
            Op::MapGet(m, uk) => self.check_get(Map, &[m.prefix(), uk.bytes()].concat()),
            Op::MapDelete(m, uk) => {
                let p = m.prefix();
                let key = [p.clone(), uk.bytes()].concat();
                self.store
                    .delete_entry(self.ids[2], &key, p.len())
                    .expect("map remove");
                self.model.states[2].remove(&key);
            }
            Op::MapPutAll(m, entries, damage) => {
                let p = m.prefix();
                let mut batch = Vec::new();
                for (uk, v) in &entries {
                    list::push_element(&mut batch, &uk.bytes());
                    list::push_element(&mut batch, v);
                }
                if let Some(d) = damage {
                    batch.truncate(d as usize % (batch.len() + 1));
                }
                let (parsed, damaged) = parse_batch(&batch);
                let r = self.store.put_entries(self.ids[2], &p, &batch);
                match r {
                    Ok(n) => assert!(
                        !damaged && n == parsed.len(),
                        "putAll wrote {n} of {}",
                        parsed.len()
                    ),
                    Err(e) => assert!(damaged, "an intact putAll failed: {e}"),
                }
                for (uk, v) in parsed {
                    self.model.states[2].insert([p.clone(), uk].concat(), v);
                }
            }
            Op::MapScan(m, start, limit) => {
                let p = m.prefix();
                let limit = 1 + limit as usize % 8;
                let start_key = start.map(|(uk, ex)| ([p.clone(), uk.bytes()].concat(), ex));
                let start = start_key.as_ref().map(|(k, ex)| (k.as_slice(), *ex));
                let got = self.scan(Map, &p, start, limit, true);
                let want = model_scan(&self.model.states[2], &p, start, limit);
                assert_eq!(got, want, "map scan of {p:?} from {start:?}");
            }
            Op::MapIsEmpty(m) => {
                let p = m.prefix();
                let got = self.store.is_map_empty(self.ids[2], &p).expect("is empty");
                let want = model_scan(&self.model.states[2], &p, None, 1).is_empty();
                assert_eq!(got, want, "is map {p:?} empty");
            }
            Op::MapClear(m) => {
                let p = m.prefix();
                self.store
                    .delete_prefix(self.ids[2], &p)
                    .expect("clear map");
                self.model.states[2].retain(|k, _| !k.starts_with(&p));
            }
            Op::Scan(sel, mut prefix, limit) => {
                prefix.truncate(3);
                let limit = 1 + limit as usize % 16;
                let got = self.scan(sel, &prefix, None, limit, false);
                let want = model_scan(&self.model.states[idx(sel)], &prefix, None, limit);
                assert_eq!(got, want, "{sel:?} scan of {prefix:?}");
            }
            Op::Count(sel) => {
                let n = self.store.count(self.ids[idx(sel)]).expect("count");
                assert_eq!(n, self.model.states[idx(sel)].len(), "{sel:?} count");
            }
            Op::FlushAll => self.store.flush_all().expect("flush"),
            Op::DropHot => self.store.drop_hot().expect("drop hot tier"),
            Op::Evict => self.store.evict().expect("evict"),
            Op::Compact(sel) => self.store.compact(self.ids[idx(sel)]).expect("compact"),
            Op::SetTtl(map, ttl) => {
                let (sel, layout) = if map {
                    (Map, TtlLayout::Map)
                } else {
                    (Value, TtlLayout::Value)
                };
                let ttl_ms = 1 + ttl as i64;
                let config = TtlConfig {
                    ttl_ms,
                    layout,
                    query_time_after: 1,
                };
                self.store
                    .set_ttl(self.ids[idx(sel)], Some(config))
                    .expect("set ttl");
                self.model.ttl[idx(sel)] = Some(ttl_ms);
            }
            Op::ExpireAt(map, now) => {
                let sel = if map { Map } else { Value };
                CLOCK.store(now, Ordering::Relaxed);
                let r = self.store.compact(self.ids[idx(sel)]);
                CLOCK.store(i64::MIN, Ordering::Relaxed);
                r.expect("compact");
                if let Some(ttl) = self.model.ttl[idx(sel)] {
                    self.model.states[idx(sel)].retain(|_, v| {
                        let ts = if map {
                            if v.first() == Some(&0) {
                                ts_at(v, 1)
                            } else {
                                None
                            }
                        } else {
                            ts_at(v, 0)
                        };
                        !ts.is_some_and(|ts| expired(ts, ttl, now))
                    });
                }
            }
            Op::Snapshot(slot) => {
                *heavy += 1;
                let path = self.next_path("snap");
                self.store.checkpoint(&path).expect("checkpoint");
                snapshot::write_manifest(&path, &HashMap::new()).expect("write manifest");
                let mut model = self.model.clone();
                model.ttl = [None; 3];
                self.snaps[slot as usize] = Some((path, model));
            }
            Op::Restore(slot, clip) => {
                let Some((snap, model)) = self.snaps[slot as usize].clone() else {
                    return;
                };
                *heavy += 1;
                snapshot::verify(&snap).expect("an intact snapshot verifies");
                let db = self.next_path("db");
                copy_snapshot(&snap, &db);
                self.open(db);
                self.model = model;
                if let Some((start, end)) = clip {
                    self.clip(start, end);
                }
            }
            Op::Clip(start, end) => self.clip(start, end),
            Op::Import(slot, start, end) => {
                let (start, end) = (start.get(), end.get());
                let Some((snap, model)) = self.snaps[slot as usize].clone() else {
                    return;
                };
                *heavy += 1;
                let n = self
                    .store
                    .import_key_groups(&snap, 1, start as u32, end as u32)
                    .expect("import key groups");
                let mut want = 0;
                for (live, from) in self.model.states.iter_mut().zip(&model.states) {
                    for (k, v) in from.iter().filter(|(k, _)| (start..=end).contains(&k[0])) {
                        live.insert(k.clone(), v.clone());
                        want += 1;
                    }
                }
                assert_eq!(n, want, "entries imported");
            }
        }
    }

    /// Reads every key of the model and of the key space one by one (through the hot tier),
    /// every map by a map scan, then every state whole (written back, from RocksDB).
    fn check_all(&mut self) {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for kg in 0..4u8 {
            for id in [0u8, 1, 2, 3, 0x80, 0x81, 0x82, 0x83] {
                keys.push(Key(kg, id).bytes());
            }
        }
        for sel in [Sel::Value, Sel::List] {
            let mut all = keys.clone();
            all.extend(self.model.states[idx(sel)].keys().cloned());
            for k in all {
                self.check_get(sel, &k);
            }
        }
        let mut prefixes: Vec<Vec<u8>> = (0..4u8)
            .flat_map(|kg| (0..2u8).map(move |m| MapId(kg, m).prefix()))
            .collect();
        prefixes.extend(self.model.states[2].keys().map(|k| k[..3].to_vec()));
        prefixes.sort();
        prefixes.dedup();
        for p in prefixes {
            for uk in 0..12u8 {
                self.check_get(Sel::Map, &[p.clone(), UserKey(uk).bytes()].concat());
            }
            let got = self.scan(Sel::Map, &p, None, usize::MAX, true);
            let want = model_scan(&self.model.states[2], &p, None, usize::MAX);
            assert_eq!(got, want, "map {p:?} at the end");
        }
        for sel in [Sel::Value, Sel::List, Sel::Map] {
            let got = self.scan(sel, &[], None, usize::MAX, false);
            let want: Vec<_> = self.model.states[idx(sel)].clone().into_iter().collect();
            assert_eq!(got, want, "{sel:?} at the end");
        }
    }
}

/// Opens a store at `path` and registers the value, list and map states.
fn open_store(path: PathBuf, max_hot_value: usize, starved: bool) -> (Store, [u32; 3]) {
    let mut o = StoreOptions::new(path, MIN_BUDGET);
    o.memory = SharedMemory::new(MIN_BUDGET, if starved { 0.0 } else { 0.5 }, 0.25);
    o.clock = Arc::new(|| CLOCK.load(Ordering::Relaxed));
    o.max_hot_value = max_hot_value;
    o.ingest_min_dirty = 1 + (max_hot_value - 8) % 8;
    let mut store = Store::open(o).expect("open store");
    let mut ids = [0; 3];
    for (i, (name, kind)) in [
        ("v", StateKind::Value),
        ("l", StateKind::List),
        ("m", StateKind::Map),
    ]
    .into_iter()
    .enumerate()
    {
        ids[i] = store.register_state(name, kind).expect("register state");
    }
    (store, ids)
}

/// Copies a snapshot's files (but its manifest) into a new directory, as a restore does.
fn copy_snapshot(snap: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("restore dir");
    for f in snapshot::Manifest::read(snap).expect("manifest").files {
        std::fs::copy(snap.join(&f.name), to.join(&f.name)).expect("copy snapshot file");
    }
}

fuzz_target!(|input: Input| {
    CLOCK.store(i64::MIN, Ordering::Relaxed);
    let dir = Scratch::new();
    let max_hot_value = 8 + input.max_hot_value as usize;
    let (store, ids) = open_store(dir.path().join("db0"), max_hot_value, input.starved);
    let mut h = Harness {
        store,
        ids,
        model: Model::default(),
        snaps: [None, None],
        generation: 0,
        max_hot_value,
        starved: input.starved,
        dir,
    };
    let mut heavy = 0;
    for op in input.ops.into_iter().take(MAX_OPS) {
        let is_heavy = matches!(op, Op::Snapshot(_) | Op::Restore(..) | Op::Import(..));
        if is_heavy && heavy >= MAX_HEAVY {
            continue;
        }
        h.run(op, &mut heavy);
    }
    h.check_all();
});
