//! The hot tier: a hash table of recently used entries of one state, in front of RocksDB.
//!
//! Every slot holds its key and value inline when they are short ([`IBytes`]), so a lookup
//! touches one cache line of the table. Writes stay in the table, marked dirty, until the
//! table is flushed (before a snapshot or an iteration, or when memory runs short): dirty
//! entries then go to RocksDB in one write batch. Eviction is CLOCK: a slot touched since the
//! last sweep gets a second chance.
//!
//! Map entries are written with the length of their map's prefix (key group, key, namespace):
//! the table then lists their dirty keys by map as well, so iterating one map writes back that
//! map's entries only ([`HotTable::flush_prefix`]) instead of every dirty entry of the state.
//!
//! A table is *complete* while no entry of its state exists only in RocksDB: it starts so for a
//! state registered fresh, and stays so through write-backs (written entries stay, clean), until
//! an entry leaves the table (eviction, [`HotTable::forget`], [`HotTable::clear`]). A complete
//! table answers a miss with "absent" and lists a map's entries by itself
//! ([`HotTable::map_entries`]): in memory, RocksDB is then only written, never read.

use crate::bytes::IBytes;
use crate::keysort;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// What the hot tier knows about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotRef<'a> {
    /// The key holds this value.
    Present(&'a [u8]),
    /// The key holds no value (deleted, or known to be missing from RocksDB).
    Absent,
    /// List elements appended to whatever RocksDB holds, which was not read.
    Appended(&'a [u8]),
}

/// A slot of the table: key, value, flags and map prefix length in 56 bytes.
#[derive(Debug)]
pub struct Slot {
    key: IBytes,
    val: IBytes,
    flags: u8,
    /// Length of the map prefix of a map entry (key group, key, namespace), or [`NO_MAP`].
    map: u16,
}

/// A write-back commits after staging this many bytes of keys and values: a write batch holding
/// every dirty entry of a full hot tier (tens of MB, grown by doubling) is a large block the
/// system allocator keeps resident after it is freed; chunks of 1 MiB are reused instead.
pub const FLUSH_CHUNK: usize = 1 << 20;

/// In [`Slot::map`]: not written as a map entry.
const NO_MAP: u16 = u16::MAX;

const DIRTY: u8 = 1;
const REFERENCED: u8 = 2;
const KIND_MASK: u8 = 12;
const PRESENT: u8 = 0;
const ABSENT: u8 = 4;
const APPENDED: u8 = 8;
/// RocksDB holds nothing for the key and no write of it is under way, so removing it needs no
/// tombstone: set on a slot made dirty in a complete table (a miss there means RocksDB lacks
/// the key too), on a miss read from RocksDB, and on a removal once its tombstone is written;
/// cleared once a value of the key is written back, and on every slot of a failed write-back
/// (RocksDB may or may not have taken its writes). A key written and removed between two
/// write-backs (a session window's entry replaced at every event, a window's accumulator
/// cleared when it fires) then never reaches RocksDB, and its slot leaves the table at once.
const UNSTORED: u8 = 16;

/// The flags of a dirty slot of `kind` once its write-back committed: a value is stored now; a
/// removal's tombstone leaves RocksDB without the key.
fn written(flags: u8, kind: u8) -> u8 {
    let clean = flags & !DIRTY;
    if kind == ABSENT {
        clean | UNSTORED
    } else {
        clean & !UNSTORED
    }
}

/// Byte cost of one slot of the table's storage (the slot plus hashbrown's control byte).
pub const SLOT_COST: usize = std::mem::size_of::<Slot>() + 1;

impl Slot {
    fn heap_bytes(&self) -> usize {
        self.key.heap_bytes() + self.val.heap_bytes()
    }

    fn kind(&self) -> u8 {
        self.flags & KIND_MASK
    }

    fn set_kind(&mut self, kind: u8) {
        self.flags = (self.flags & !KIND_MASK) | kind;
    }

    fn view(&self) -> SlotRef<'_> {
        match self.kind() {
            PRESENT => SlotRef::Present(self.val.as_slice()),
            APPENDED => SlotRef::Appended(self.val.as_slice()),
            _ => SlotRef::Absent,
        }
    }

    /// The key of this slot.
    pub fn key(&self) -> &[u8] {
        self.key.as_slice()
    }

    /// True when the slot is an entry of the map `prefix` that holds a value: its key extends
    /// the prefix by a user key (its map length says so).
    fn holds_entry_of(&self, prefix: &[u8]) -> bool {
        self.map as usize == prefix.len()
            && self.kind() == PRESENT
            && self.key.as_slice().starts_with(prefix)
    }
}

/// A write that must reach RocksDB when the table is flushed.
pub enum WriteBack<'a> {
    /// Sets a key to a value.
    Put(&'a [u8], &'a [u8]),
    /// Removes a key.
    Delete(&'a [u8]),
    /// Appends list elements to a key (RocksDB's merge operator).
    Merge(&'a [u8], &'a [u8]),
}

type Hasher = foldhash::fast::FixedState;

/// Keys of a batch, one after another, for [`HotTable::warm`]; reused between batches.
#[derive(Default)]
pub struct KeyBatch {
    bytes: Vec<u8>,
    /// Where each key ends in `bytes`.
    ends: Vec<usize>,
    hashes: Vec<u64>,
}

impl KeyBatch {
    /// Forgets the keys, keeping the storage.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Adds the key `prefix` + `rest`.
    pub fn push(&mut self, prefix: &[u8], rest: &[u8]) {
        self.bytes.extend_from_slice(prefix);
        self.bytes.extend_from_slice(rest);
        self.ends.push(self.bytes.len());
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The key `i`, in the order added.
    pub fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

/// The hot entries of one state.
pub struct HotTable {
    table: HashTable<Slot>,
    hasher: Hasher,
    /// Keys that turned dirty since the last flush (a key may be listed twice or be gone).
    dirty: Vec<IBytes>,
    /// Per entry of `dirty`: the length of its map's prefix, or [`NO_PREFIX`].
    dirty_prefix: Vec<u32>,
    /// Heap bytes held by keys and values beyond the slots themselves.
    heap_bytes: usize,
    /// The table's storage may not double past this many bytes while clean slots can be
    /// evicted instead.
    growth_limit: usize,
    /// Entries the table's storage holds when free of tombstones (its capacity after the last
    /// allocation or rehash).
    full_cap: usize,
    /// The index of dirty map entries by map, built only when a map is scanned (writes of
    /// map entries then cost no hashing of their prefix): per hash of a map's prefix, the
    /// last entry of `dirty` under it, the head of a chain through `next_in_map` (a key may
    /// be listed twice, be clean again or be gone; a hash may cover several maps).
    by_prefix: hashbrown::HashMap<u64, u32, Hasher>,
    /// Per indexed entry of `dirty`: the previous entry under the same prefix hash, or [`NIL`].
    next_in_map: Vec<u32>,
    /// Entries of `dirty` indexed so far.
    indexed: usize,
    /// Some indexed dirty entry was written without a map prefix: only a whole flush is
    /// complete.
    unindexed: bool,
    /// No entry of the state exists only in RocksDB (see the module documentation).
    complete: bool,
    /// While complete, every map entry slot by map: per hash of a map's prefix, the head of a
    /// chain through `member_next` and the head's key hash (a lookup of the map's first entry
    /// then need not wait for the chain); `member_hash` holds each entry's key hash (an entry
    /// may be listed twice or be gone; a hash may cover several maps).
    members_head: hashbrown::HashMap<u64, Member, Hasher>,
    member_hash: Vec<u64>,
    member_next: Vec<u32>,
    /// Indexes of `member_hash` that no chain holds (unlinked by [`HotTable::unlink_member`]),
    /// for the next members.
    free_members: Vec<u32>,
    /// Some value was written without a map prefix: maps cannot be listed from `members`.
    unmapped: bool,
}

/// A whole flush finds the dirty slots by a pass over the table, not by looking each listed
/// key up, once at least one slot in this many is listed dirty.
const SCAN_FLUSH_RATIO: usize = 16;

/// A chain's head in [`HotTable`]'s `members_head`: its index and key hash.
type Member = (u32, u64);

/// In `dirty_prefix`: written without a map prefix.
const NO_PREFIX: u32 = u32::MAX;
/// In `next_in_map`: the end of a chain.
const NIL: u32 = u32::MAX;
/// How far down its map's chain a map entry that left the table is looked for, to be
/// unlinked (see [`HotTable::unlink_member`]).
const UNLINK_REACH: usize = 4;

impl Default for HotTable {
    fn default() -> Self {
        HotTable::new()
    }
}

impl HotTable {
    /// An empty table.
    pub fn new() -> HotTable {
        HotTable {
            table: HashTable::new(),
            hasher: Hasher::with_seed(0x5eed_f0e5),
            dirty: Vec::new(),
            dirty_prefix: Vec::new(),
            heap_bytes: 0,
            growth_limit: usize::MAX,
            full_cap: 0,
            by_prefix: hashbrown::HashMap::with_hasher(Hasher::with_seed(0x5eed_f0e5)),
            next_in_map: Vec::new(),
            indexed: 0,
            unindexed: false,
            complete: true,
            members_head: hashbrown::HashMap::with_hasher(Hasher::with_seed(0x5eed_f0e5)),
            member_hash: Vec::new(),
            member_next: Vec::new(),
            free_members: Vec::new(),
            unmapped: false,
        }
    }

    /// True while no entry of the state exists only in RocksDB: a miss then means "absent".
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Records that RocksDB may hold entries the table does not (a restored state, or an
    /// entry that left the table); for good.
    pub fn set_incomplete(&mut self) {
        if self.complete {
            self.complete = false;
            self.members_head = hashbrown::HashMap::with_hasher(Hasher::with_seed(0x5eed_f0e5));
            self.member_hash = Vec::new();
            self.member_next = Vec::new();
            self.free_members = Vec::new();
        }
    }

    /// Lists a new map entry slot under its map (complete tables only).
    fn add_member(&mut self, key: &[u8], map: u16, key_hash: u64) {
        if !self.complete || map == NO_MAP {
            return;
        }
        if self.member_hash.len() >= u32::MAX as usize - 1 {
            self.set_incomplete();
            return;
        }
        if self.member_hash.len() - self.free_members.len() > 2 * self.table.len() + 1024 {
            // Entries that left the table (cleared maps, written-back removals) pile up.
            self.rebuild_members();
        }
        let h = self.hash(&key[..map as usize]);
        let i = match self.free_members.pop() {
            Some(i) => i,
            None => {
                self.member_hash.push(0);
                self.member_next.push(NIL);
                self.member_hash.len() as u32 - 1
            }
        };
        let prev = self
            .members_head
            .insert(h, (i, key_hash))
            .map_or(NIL, |m| m.0);
        self.member_hash[i as usize] = key_hash;
        self.member_next[i as usize] = prev;
    }

    /// Takes a map entry slot that left a complete table off its map's chain, when it is among
    /// the chain's first [`UNLINK_REACH`] (a map whose entry is replaced by another at every
    /// event, as a session window's is, removes the one it added last). Otherwise it stays
    /// listed until the next rebuild: `map_entries` skips entries that left, at the cost of a
    /// probe each.
    fn unlink_member(&mut self, key: &[u8], map: u16, key_hash: u64) {
        if !self.complete || map == NO_MAP {
            return;
        }
        let h = self.hash(&key[..map as usize]);
        let Some(&(head, _)) = self.members_head.get(&h) else {
            return;
        };
        let (mut prev, mut at) = (NIL, head);
        for _ in 0..UNLINK_REACH {
            if at == NIL {
                return;
            }
            let i = at as usize;
            let next = self.member_next[i];
            if self.member_hash[i] == key_hash {
                if prev != NIL {
                    self.member_next[prev as usize] = next;
                } else if next != NIL {
                    self.members_head
                        .insert(h, (next, self.member_hash[next as usize]));
                } else {
                    self.members_head.remove(&h);
                }
                self.free_members.push(at);
                return;
            }
            (prev, at) = (at, next);
        }
    }

    /// Lists every map entry slot of the table again, and nothing else.
    fn rebuild_members(&mut self) {
        self.members_head.clear();
        self.member_hash.clear();
        self.member_next.clear();
        self.free_members.clear();
        for slot in self.table.iter() {
            if slot.map != NO_MAP {
                let key = slot.key.as_slice();
                let h = self.hasher.hash_one(&key[..slot.map as usize]);
                let i = self.member_hash.len() as u32;
                let key_hash = self.hasher.hash_one(key);
                let prev = self
                    .members_head
                    .insert(h, (i, key_hash))
                    .map_or(NIL, |m| m.0);
                self.member_hash.push(key_hash);
                self.member_next.push(prev);
            }
        }
    }

    /// The entries of the map `prefix` names (as given to [`HotTable::set_entry`]) that hold a
    /// value, into `out` in key order: the whole map, when the table is complete. Returns false
    /// (leaving `out` empty) when the table is not complete, when some value was written
    /// without its map's prefix, or when the map has more than `limit` entries listed.
    pub fn map_entries(
        &self,
        prefix: &[u8],
        limit: usize,
        out: &mut Vec<(IBytes, Option<IBytes>)>,
    ) -> bool {
        out.clear();
        if !self.complete || self.unmapped {
            return false;
        }
        let (head, head_hash) = self.members_of(prefix);
        if head == NIL {
            return true;
        }
        // The map's key hashes (its chain lies in a few cache lines; the head's hash comes with
        // the head, so its lookup need not wait for the chain), the buckets that may hold its
        // entries, then their slots, each in a pass of its own: the loads of one pass do not
        // depend on each other, so the CPU overlaps their cache misses instead of waiting for one
        // after another (a map's entries lie anywhere in a table of millions of slots). A slot
        // (56 bytes) mostly spans two cache lines: the slot pass reads its key's length (at its
        // start) and its flags (at its end), so the filter below finds both lines cached.
        let mut buckets: Vec<usize> = Vec::with_capacity(16);
        buckets.extend(self.table.iter_hash_buckets(head_hash));
        let mut hashes: Vec<u64> = Vec::with_capacity(16);
        let mut at = self.member_next[head as usize];
        let mut listed = 1;
        loop {
            if listed > limit {
                return false;
            }
            if at == NIL {
                break;
            }
            let i = at as usize;
            at = self.member_next[i];
            hashes.push(self.member_hash[i]);
            listed += 1;
        }
        for &hash in &hashes {
            buckets.extend(self.table.iter_hash_buckets(hash));
        }
        let touched = buckets
            .iter()
            .filter_map(|&b| self.table.get_bucket(b))
            .fold(0u8, |acc, slot| acc ^ slot.flags ^ slot.key.len() as u8);
        std::hint::black_box(touched);
        // An entry found under two hashes is listed once, after the sort.
        for slot in buckets.iter().filter_map(|&b| self.table.get_bucket(b)) {
            if slot.holds_entry_of(prefix) {
                out.push((slot.key.clone(), Some(slot.val.clone())));
            }
        }
        out.sort_unstable_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()));
        out.dedup_by(|a, b| a.0 == b.0);
        true
    }

    /// Whether the map `prefix` names (as given to [`HotTable::set_entry`]) holds no value,
    /// when the table alone can tell (as for [`HotTable::map_entries`]; None otherwise, or when
    /// more than `limit` entries are listed under the map). Stops at the map's first entry that
    /// holds a value, where a listing would look up every entry.
    pub fn map_is_empty(&self, prefix: &[u8], limit: usize) -> Option<bool> {
        if !self.complete || self.unmapped {
            return None;
        }
        let (mut at, mut hash) = self.members_of(prefix);
        for _ in 0..limit {
            if at == NIL {
                return Some(true);
            }
            // Asked for before the lookup, which does not wait for it.
            let next = self.member_next[at as usize];
            let mut slots = self.table.iter_hash_buckets(hash);
            if slots.any(|b| {
                self.table
                    .get_bucket(b)
                    .is_some_and(|s| s.holds_entry_of(prefix))
            }) {
                return Some(false);
            }
            at = next;
            if at != NIL {
                hash = self.member_hash[at as usize];
            }
        }
        (at == NIL).then_some(true)
    }

    /// The head of the chain of map entry slots listed under the map `prefix` (complete tables)
    /// and its key hash; [`NIL`] when none is listed.
    fn members_of(&self, prefix: &[u8]) -> Member {
        self.members_head
            .get(&self.hash(prefix))
            .copied()
            .unwrap_or((NIL, 0))
    }

    /// Drops `key` from the table without making it incomplete: the caller removes the key
    /// from RocksDB as well (or knows RocksDB never had it).
    pub fn discard(&mut self, key: &[u8]) {
        let hash = self.hash(key);
        if let Ok(entry) = self.table.find_entry(hash, |s| s.key.as_slice() == key) {
            let (slot, _) = entry.remove();
            self.heap_bytes -= slot.heap_bytes();
        }
    }

    /// Caps the table's storage: once full, it evicts clean slots rather than doubling past
    /// `bytes` (a doubled table would hold twice the budget until it emptied again).
    pub fn set_growth_limit(&mut self, bytes: usize) {
        self.growth_limit = bytes;
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Transient bytes a write-back's key sort may take (see [`keysort::sort_within`]): an
    /// eighth of what the table holds, about what the list of dirty slots alone takes when
    /// every slot of a table of short keys is dirty.
    fn sort_room(&self) -> usize {
        self.memory_bytes() / 8
    }

    /// Bytes this table holds, by its own accounting.
    pub fn memory_bytes(&self) -> usize {
        self.table.capacity() * SLOT_COST
            + self.heap_bytes
            + self.dirty.capacity() * std::mem::size_of::<IBytes>()
            + (self.dirty_prefix.capacity() + self.next_in_map.capacity()) * 4
            + self.by_prefix.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.member_hash.capacity() * 8
            + self.member_next.capacity() * 4
            + self.free_members.capacity() * 4
            + self.members_head.capacity() * (std::mem::size_of::<(u64, Member)>() + 1)
    }

    /// Number of slots in use.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Keys changed since the last flush: an upper bound of the entries the next write-back
    /// writes (a key changed twice is listed twice).
    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// True when some entry still has to reach RocksDB.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// What the hot tier holds for `key`, marking the slot as recently used.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<SlotRef<'_>> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |s| s.key.as_slice() == key)
            .map(|s| {
                s.flags |= REFERENCED;
                s.view()
            })
    }

    /// True when a read of `key` needs nothing but the table: the key is held (and not as a
    /// list's unread appended part), or the table knows every key of its state.
    #[inline]
    pub fn answers(&self, key: &[u8]) -> bool {
        match self.get_slot(key) {
            Some(slot) => !matches!(slot.view(), SlotRef::Appended(_)),
            None => self.complete,
        }
    }

    /// Sets the value of `key`. `dirty` says whether RocksDB must learn of it.
    #[inline]
    pub fn set(&mut self, key: &[u8], val: &[u8], dirty: bool) {
        self.unmapped = true;
        self.upsert(key, dirty, None, |slot| {
            slot.val.assign(val);
            slot.set_kind(PRESENT);
        });
    }

    /// Records that `key` holds no value.
    #[inline]
    pub fn set_absent(&mut self, key: &[u8], dirty: bool) {
        if dirty {
            self.remove(key, None);
        } else if !self.complete {
            // A read found nothing in RocksDB. (A complete table is never read past: a miss in
            // it says "absent" already, and a slot of it is newer than RocksDB.)
            self.upsert(key, false, None, |slot| {
                slot.val = IBytes::EMPTY;
                slot.set_kind(ABSENT);
                slot.flags |= UNSTORED;
            });
        }
    }

    /// Sets the value of the map entry `key`, whose first `prefix_len` bytes name its map.
    #[inline]
    pub fn set_entry(&mut self, key: &[u8], prefix_len: usize, val: &[u8]) {
        self.upsert(key, true, Some(prefix_len), |slot| {
            slot.val.assign(val);
            slot.set_kind(PRESENT);
        });
    }

    /// Removes the map entry `key`, whose first `prefix_len` bytes name its map.
    #[inline]
    pub fn remove_entry(&mut self, key: &[u8], prefix_len: usize) {
        self.remove(key, Some(prefix_len));
    }

    /// Brings the slots of a batch's keys into the CPU's caches before the batch is applied:
    /// the keys' hashes first, then one lookup each in a tight loop. A batch's keys sit in
    /// unrelated slots of a large table and each lookup misses the cache twice (control bytes,
    /// then slot). Looked up between the batch's writes, one lookup's misses wait for the
    /// previous write's work; looked up back to back, the CPU overlaps the misses of several
    /// lookups (engine alone, a table of 5 million map entries: a `putAll` of 10 overwrites took
    /// 3.9 us, 1.5 us warmed; probing candidate buckets and slots in separate passes, as
    /// [`HotTable::map_entries`] does, gained nothing more). Changes nothing.
    pub fn warm(&self, keys: &mut KeyBatch) {
        keys.hashes.clear();
        let mut at = 0;
        for &end in &keys.ends {
            keys.hashes.push(self.hash(&keys.bytes[at..end]));
            at = end;
        }
        // Every hash first, then the lookups, so the lookup loop does nothing else. One loop that
        // hashes and looks up each key in turn (as `Store::warm` does for keys of several
        // states) measured the same in the engine alone: either shape lets the CPU overlap the
        // lookups' misses, which a write between two lookups does not.
        let mut found = 0usize;
        let mut at = 0;
        for (&end, &hash) in keys.ends.iter().zip(&keys.hashes) {
            let key = &keys.bytes[at..end];
            found += self.table.find(hash, |s| s.key.as_slice() == key).is_some() as usize;
            at = end;
        }
        std::hint::black_box(found);
    }

    fn get_slot(&self, key: &[u8]) -> Option<&Slot> {
        self.table.find(self.hash(key), |s| s.key.as_slice() == key)
    }

    /// Records that `key` holds no value, which RocksDB must learn of unless it never held the
    /// key ([`UNSTORED`]): then a complete table forgets the slot (a miss says "absent"), and
    /// any other keeps it clean and absent.
    fn remove(&mut self, key: &[u8], prefix_len: Option<usize>) {
        let hash = self.hash(key);
        match self.table.find_entry(hash, |s| s.key.as_slice() == key) {
            Ok(entry) if entry.get().flags & UNSTORED != 0 => {
                if self.complete {
                    let (slot, _) = entry.remove();
                    self.heap_bytes -= slot.heap_bytes();
                    self.unlink_member(slot.key.as_slice(), slot.map, hash);
                } else {
                    let slot = entry.into_mut();
                    self.heap_bytes -= slot.val.heap_bytes();
                    slot.val = IBytes::EMPTY;
                    slot.set_kind(ABSENT);
                    slot.flags = (slot.flags & !DIRTY) | REFERENCED;
                }
                // Its key may stay listed dirty: write-backs skip clean and missing slots.
                return;
            }
            Ok(_) => {}
            // Neither here nor in RocksDB: nothing to delete, nothing to remember.
            Err(_) if self.complete => return,
            Err(_) => {}
        }
        self.upsert_hashed(hash, key, true, prefix_len, |slot| {
            slot.val = IBytes::EMPTY;
            slot.set_kind(ABSENT);
        });
    }

    /// True when the hot tier alone proves that the map `prefix` names holds an entry: one of
    /// its entries written since the last write-back holds a value. False says nothing.
    pub fn map_has_written_entry(&mut self, prefix: &[u8]) -> bool {
        self.index_dirty();
        let head = self.by_prefix.get(&self.hash(prefix)).copied();
        self.chain(head).any(|key| {
            key.as_slice().starts_with(prefix)
                && self
                    .table
                    .find(self.hasher.hash_one(key.as_slice()), |s| s.key == *key)
                    .is_some_and(|s| s.flags & DIRTY != 0 && s.kind() == PRESENT)
        })
    }

    /// Indexes the dirty entries listed since the index was last brought up to date.
    fn index_dirty(&mut self) {
        while self.indexed < self.dirty.len() {
            let i = self.indexed;
            let p = self.dirty_prefix[i];
            let next = if p == NO_PREFIX || i >= NIL as usize {
                self.unindexed = true;
                NIL
            } else {
                let h = self.hash(&self.dirty[i].as_slice()[..p as usize]);
                self.by_prefix.insert(h, i as u32).unwrap_or(NIL)
            };
            self.next_in_map.push(next);
            self.indexed += 1;
        }
    }

    /// The keys of the chain starting at `head` (see `by_prefix`).
    fn chain(&self, head: Option<u32>) -> impl Iterator<Item = &IBytes> + '_ {
        let mut at = head.unwrap_or(NIL);
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let i = at as usize;
            at = self.next_in_map[i];
            Some(&self.dirty[i])
        })
    }

    /// The entries of the map `prefix` names (as given to [`HotTable::set_entry`]) that changed
    /// since they were last written back, into `out` in key order without duplicates: the new
    /// value, or `None` for a removed entry. RocksDB holds every other entry of the map as it
    /// is. Returns false, leaving `out` empty, when the table cannot list them cheaply: some
    /// dirty entry was written without its map's prefix, or more than `limit` are listed.
    pub fn map_changes(
        &mut self,
        prefix: &[u8],
        limit: usize,
        out: &mut Vec<(IBytes, Option<IBytes>)>,
    ) -> bool {
        out.clear();
        self.index_dirty();
        if self.unindexed {
            return false;
        }
        let head = self.by_prefix.get(&self.hash(prefix)).copied();
        for (n, key) in self.chain(head).enumerate() {
            if n >= limit {
                out.clear();
                return false;
            }
            if !key.as_slice().starts_with(prefix) {
                continue;
            }
            let hash = self.hasher.hash_one(key.as_slice());
            if let Some(slot) = self.table.find(hash, |s| s.key == *key) {
                if slot.flags & DIRTY == 0 {
                    continue;
                }
                match slot.view() {
                    SlotRef::Present(v) => out.push((key.clone(), Some(IBytes::from_slice(v)))),
                    SlotRef::Absent => out.push((key.clone(), None)),
                    // A pending append is no map entry; the caller must write back instead.
                    SlotRef::Appended(_) => {
                        out.clear();
                        return false;
                    }
                }
            }
        }
        out.sort_unstable_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()));
        out.dedup_by(|a, b| a.0 == b.0);
        true
    }

    /// Records that `key` turned dirty (its slot was clean), under its map when known.
    fn note_dirty(&mut self, key: &IBytes, prefix_len: Option<usize>) {
        self.dirty.push(key.clone());
        self.dirty_prefix.push(match prefix_len {
            Some(p) if p <= key.len() && p < NO_PREFIX as usize => p as u32,
            _ => NO_PREFIX,
        });
    }

    /// Appends list elements (already in the store's list format) to `key`'s value without
    /// reading RocksDB: a known value grows in place, an unknown one becomes a pending merge,
    /// or, when `missing_is_empty` (nothing of the table's state is outside it), a known list.
    #[inline]
    pub fn append(&mut self, key: &[u8], elements: &[u8], missing_is_empty: bool) {
        self.unmapped = true;
        let hash = self.hash(key);
        match self.table.find_mut(hash, |s| s.key.as_slice() == key) {
            Some(slot) => {
                let before = slot.val.heap_bytes();
                if slot.kind() == ABSENT {
                    slot.val.assign(elements);
                    slot.set_kind(PRESENT);
                } else {
                    slot.val.extend_from_slice(elements);
                }
                self.heap_bytes = self.heap_bytes + slot.val.heap_bytes() - before;
                slot.flags |= REFERENCED;
                if slot.flags & DIRTY == 0 {
                    slot.flags |= DIRTY;
                    let k = slot.key.clone();
                    self.note_dirty(&k, None);
                }
            }
            None => {
                let kind = if missing_is_empty { PRESENT } else { APPENDED };
                let slot = Slot {
                    key: IBytes::from_slice(key),
                    val: IBytes::from_slice(elements),
                    flags: kind | DIRTY | REFERENCED,
                    map: NO_MAP,
                };
                self.insert_new(hash, slot, true, None);
            }
        }
    }

    fn upsert(
        &mut self,
        key: &[u8],
        dirty: bool,
        prefix_len: Option<usize>,
        f: impl FnOnce(&mut Slot),
    ) {
        self.upsert_hashed(self.hash(key), key, dirty, prefix_len, f);
    }

    /// [`HotTable::upsert`] of a key whose hash the caller has.
    fn upsert_hashed(
        &mut self,
        hash: u64,
        key: &[u8],
        dirty: bool,
        prefix_len: Option<usize>,
        f: impl FnOnce(&mut Slot),
    ) {
        let map = match prefix_len {
            Some(p) if p <= key.len() && p < NO_MAP as usize => p as u16,
            _ => NO_MAP,
        };
        match self.table.find_mut(hash, |s| s.key.as_slice() == key) {
            Some(slot) => {
                let before = slot.val.heap_bytes();
                f(slot);
                self.heap_bytes = self.heap_bytes + slot.val.heap_bytes() - before;
                slot.flags |= REFERENCED;
                let newly_in_map = map != NO_MAP && slot.map == NO_MAP;
                if newly_in_map {
                    slot.map = map;
                }
                if dirty && slot.flags & DIRTY == 0 {
                    slot.flags |= DIRTY;
                    let k = slot.key.clone();
                    self.note_dirty(&k, prefix_len);
                }
                if newly_in_map {
                    self.add_member(key, map, hash);
                }
            }
            None => {
                let mut slot = Slot {
                    key: IBytes::from_slice(key),
                    val: IBytes::EMPTY,
                    flags: REFERENCED | if dirty { DIRTY } else { 0 },
                    map,
                };
                f(&mut slot);
                self.insert_new(hash, slot, dirty, prefix_len);
            }
        }
    }

    fn insert_new(&mut self, hash: u64, mut slot: Slot, dirty: bool, prefix_len: Option<usize>) {
        if dirty && self.complete {
            slot.flags |= UNSTORED;
        }
        let full = self.full_cap;
        if full > 0
            && self.table.len() >= self.table.capacity()
            && 2 * full * SLOT_COST > self.growth_limit
        {
            // Removals leave tombstones, so room appears only once the table is at most half
            // full: then hashbrown rehashes in place instead of doubling.
            let excess = self
                .table
                .len()
                .saturating_sub((full / 2).saturating_sub(1));
            self.make_room(excess);
        }
        self.heap_bytes += slot.heap_bytes();
        if dirty {
            self.note_dirty(&slot.key, prefix_len);
        }
        if slot.map != NO_MAP && self.complete {
            let (key, map) = (slot.key.clone(), slot.map);
            self.add_member(key.as_slice(), map, hash);
        }
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, slot, |s| hasher.hash_one(s.key.as_slice()));
        self.full_cap = self.full_cap.max(self.table.capacity());
    }

    /// Forgets `key` entirely (RocksDB is then the only authority for it): the table is no
    /// longer complete.
    pub fn forget(&mut self, key: &[u8]) {
        let hash = self.hash(key);
        if let Ok(entry) = self.table.find_entry(hash, |s| s.key.as_slice() == key) {
            let (slot, _) = entry.remove();
            self.heap_bytes -= slot.heap_bytes();
            self.set_incomplete();
        }
    }

    /// Writes dirty entries back: hands each to `sink` (which stages it, e.g. in a write batch)
    /// and calls `commit` (which makes the staged writes durable) after every
    /// [`FLUSH_CHUNK`] bytes and at the end. Entries a `commit` made durable are marked clean,
    /// and pending appends dropped from the table (the hot tier never knew their whole value);
    /// when staging or committing fails, the entries not yet committed stay dirty, so nothing is
    /// lost and no append is written twice.
    pub fn flush<E>(
        &mut self,
        sink: impl FnMut(WriteBack<'_>) -> Result<(), E>,
        commit: impl FnMut() -> Result<(), E>,
    ) -> Result<(), E> {
        self.flush_in_chunks(FLUSH_CHUNK, sink, commit)
    }

    /// As [`HotTable::flush`], committing after every `chunk` bytes staged (`usize::MAX`: once,
    /// after the last entry, for a sink that makes nothing durable before the end, such as an
    /// SST file ingested whole).
    pub fn flush_in_chunks<E>(
        &mut self,
        chunk: usize,
        sink: impl FnMut(WriteBack<'_>) -> Result<(), E>,
        commit: impl FnMut() -> Result<(), E>,
    ) -> Result<(), E> {
        // In key order: RocksDB inserts a sorted batch into its memtable by extending the
        // previous insert's position (its "sequential splice") instead of searching the skip
        // list from the top for every key. The keys are sorted a word at a time while the
        // sort's arrays fit `sort_room` (see `keysort`): a comparison sort of map entries
        // compares long shared prefixes.
        if self.dirty.len() >= self.table.len() / SCAN_FLUSH_RATIO {
            // Many dirty entries (a checkpoint after a busy interval): one sequential pass over
            // the table finds them for less than a hash lookup of each listed key.
            let room = self.sort_room();
            let mut sorted: Vec<&Slot> =
                self.table.iter().filter(|s| s.flags & DIRTY != 0).collect();
            keysort::sort_within(&mut sorted, |s| s.key.as_slice(), room);
            if let Err((done, e)) = Self::write_back_slots(&sorted, chunk, sink, commit) {
                let keys = Self::keys_of(&sorted, done);
                self.after_failed_write_back(keys);
                return Err(e);
            }
            self.mark_all_clean();
        } else {
            let room = self.sort_room();
            let mut sorted: Vec<&IBytes> = self.dirty.iter().collect();
            keysort::sort_within(&mut sorted, |k| k.as_slice(), room);
            sorted.dedup_by(|a, b| a == b);
            let slots = Self::dirty_slots(&self.table, &self.hasher, sorted);
            if let Err((done, e)) = Self::write_back_slots(&slots, chunk, sink, commit) {
                let keys = Self::keys_of(&slots, done);
                self.after_failed_write_back(keys);
                return Err(e);
            }
            let listed = std::mem::take(&mut self.dirty);
            self.mark_clean(&listed);
            self.dirty = listed;
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        // Keep the list's allocation unless it grew far beyond what a flush usually sees.
        dirty.clear();
        if dirty.capacity() > 4096 && dirty.capacity() > 4 * self.table.len() {
            dirty.shrink_to(self.table.len());
        }
        self.dirty = dirty;
        let keep = self.dirty.capacity();
        for v in [&mut self.dirty_prefix, &mut self.next_in_map] {
            v.clear();
            v.shrink_to(keep);
        }
        self.by_prefix.clear();
        if self.by_prefix.capacity() > 4096 && self.by_prefix.capacity() > 4 * self.table.len() {
            self.by_prefix.shrink_to(self.table.len());
        }
        self.indexed = 0;
        self.unindexed = false;
        Ok(())
    }

    /// Writes back, as [`HotTable::flush`] does, at least every dirty entry whose key starts
    /// with `prefix`, the whole prefix of a map (as given to [`HotTable::set_entry`]): then
    /// RocksDB holds that map entirely. Falls back to a whole flush when some dirty entry was
    /// written without its map's prefix.
    pub fn flush_prefix<E>(
        &mut self,
        prefix: &[u8],
        sink: impl FnMut(WriteBack<'_>) -> Result<(), E>,
        commit: impl FnMut() -> Result<(), E>,
    ) -> Result<(), E> {
        self.index_dirty();
        if self.unindexed {
            return self.flush(sink, commit);
        }
        let h = self.hash(prefix);
        let Some(head) = self.by_prefix.remove(&h) else {
            return Ok(());
        };
        let keys: Vec<IBytes> = self.chain(Some(head)).cloned().collect();
        let slots = Self::dirty_slots(&self.table, &self.hasher, &keys);
        if let Err((done, e)) = Self::write_back_slots(&slots, FLUSH_CHUNK, sink, commit) {
            // What was committed is clean; the rest stays dirty and listed (a listed key that
            // is clean is skipped by the next write-back).
            let keys = Self::keys_of(&slots, done);
            self.after_failed_write_back(keys);
            self.by_prefix.insert(h, head);
            return Err(e);
        }
        self.mark_clean(&keys);
        Ok(())
    }

    /// The dirty slots of `keys`, in the order given.
    fn dirty_slots<'t, 'k>(
        table: &'t HashTable<Slot>,
        hasher: &Hasher,
        keys: impl IntoIterator<Item = &'k IBytes>,
    ) -> Vec<&'t Slot> {
        keys.into_iter()
            .filter_map(|key| {
                table
                    .find(hasher.hash_one(key.as_slice()), |s| s.key == *key)
                    .filter(|slot| slot.flags & DIRTY != 0)
            })
            .collect()
    }

    /// The keys of the first `done` slots (committed), and of the rest.
    fn keys_of(slots: &[&Slot], done: usize) -> (Vec<IBytes>, Vec<IBytes>) {
        let keys = |part: &[&Slot]| part.iter().map(|s| s.key.clone()).collect();
        (keys(&slots[..done]), keys(&slots[done..]))
    }

    /// After a write-back that committed the slots of `committed` and failed on `rest`: the
    /// first are clean; the others stay dirty, and RocksDB may hold their writes or not.
    fn after_failed_write_back(&mut self, (committed, rest): (Vec<IBytes>, Vec<IBytes>)) {
        self.mark_clean(&committed);
        self.maybe_stored(&rest);
    }

    /// Hands the dirty `slots` to `sink` in the order given, and calls `commit` after every
    /// `chunk` bytes staged and after the last slot. On an error, says how many slots (a
    /// prefix of `slots`) a successful `commit` made durable before it.
    fn write_back_slots<E>(
        slots: &[&Slot],
        chunk: usize,
        mut sink: impl FnMut(WriteBack<'_>) -> Result<(), E>,
        mut commit: impl FnMut() -> Result<(), E>,
    ) -> Result<(), (usize, E)> {
        let mut committed = 0;
        let mut staged = 0usize;
        for (i, slot) in slots.iter().enumerate() {
            let key = slot.key.as_slice();
            let w = match slot.view() {
                SlotRef::Present(v) => WriteBack::Put(key, v),
                SlotRef::Absent => WriteBack::Delete(key),
                SlotRef::Appended(v) => WriteBack::Merge(key, v),
            };
            staged += key.len() + slot.val.len();
            sink(w).map_err(|e| (committed, e))?;
            if staged >= chunk {
                commit().map_err(|e| (committed, e))?;
                committed = i + 1;
                staged = 0;
            }
        }
        if committed < slots.len() {
            commit().map_err(|e| (committed, e))?;
        }
        Ok(())
    }

    /// After a committed write-back of every dirty slot: as [`HotTable::mark_clean`] for all
    /// of them, in one pass over the table.
    fn mark_all_clean(&mut self) {
        let complete = self.complete;
        let mut freed = 0usize;
        self.table.retain(|slot| {
            if slot.flags & DIRTY == 0 {
                return true;
            }
            let kind = slot.kind();
            if kind == APPENDED || (kind == ABSENT && complete) {
                freed += slot.heap_bytes();
                false
            } else {
                slot.flags = written(slot.flags, kind);
                true
            }
        });
        self.heap_bytes -= freed;
    }

    /// After a committed write-back of `keys`: they are clean, and pending appends leave the
    /// table (the hot tier never knew their whole value). In a complete table, removals leave
    /// too: once RocksDB lost the key, a miss says "absent" as well as the slot did.
    fn mark_clean(&mut self, keys: &[IBytes]) {
        for key in keys {
            let hash = self.hasher.hash_one(key.as_slice());
            if let Ok(entry) = self.table.find_entry(hash, |s| s.key == *key) {
                let kind = entry.get().kind();
                if kind == APPENDED || (kind == ABSENT && self.complete) {
                    let (slot, _) = entry.remove();
                    self.heap_bytes -= slot.heap_bytes();
                } else {
                    let slot = entry.into_mut();
                    slot.flags = written(slot.flags, kind);
                }
            }
        }
    }

    /// After a failed write-back: RocksDB may hold the writes of `keys` or not.
    fn maybe_stored(&mut self, keys: &[IBytes]) {
        for key in keys {
            let hash = self.hasher.hash_one(key.as_slice());
            if let Some(slot) = self.table.find_mut(hash, |s| s.key == *key) {
                slot.flags &= !UNSTORED;
            }
        }
    }

    /// Evicts clean slots, giving slots used since the last sweep a second chance, until about
    /// `want` bytes are freed (counting each slot's heap bytes and its share of the table) or
    /// nothing evictable is left. Call [`HotTable::flush`] first: dirty slots are never
    /// evicted. The table's storage shrinks (a rehash) only once it is mostly empty, so steady
    /// eviction does not rehash. Returns the bytes freed by this table's own accounting.
    pub fn evict(&mut self, want: usize) -> usize {
        let before = self.memory_bytes();
        let mut freed = 0usize;
        let mut freed_heap = 0usize;
        for _pass in 0..2 {
            self.table.retain(|slot| {
                if freed >= want || slot.flags & DIRTY != 0 {
                    return true;
                }
                if slot.flags & REFERENCED != 0 {
                    slot.flags &= !REFERENCED;
                    return true;
                }
                let heap = slot.heap_bytes();
                freed_heap += heap;
                freed += heap + SLOT_COST;
                false
            });
            if freed >= want {
                break;
            }
        }
        self.heap_bytes -= freed_heap;
        if freed > 0 {
            self.set_incomplete();
        }
        if self.table.len() * 4 < self.full_cap {
            let hasher = &self.hasher;
            self.table
                .shrink_to(self.table.len() * 2, |s| hasher.hash_one(s.key.as_slice()));
            self.full_cap = self.table.capacity();
        }
        before.saturating_sub(self.memory_bytes())
    }

    /// Evicts up to `slots` clean slots (second chance for recently used ones) so a full table
    /// takes new entries without growing.
    fn make_room(&mut self, slots: usize) {
        let mut evicted = 0usize;
        let mut freed_heap = 0usize;
        for _pass in 0..2 {
            self.table.retain(|slot| {
                if evicted >= slots || slot.flags & DIRTY != 0 {
                    return true;
                }
                if slot.flags & REFERENCED != 0 {
                    slot.flags &= !REFERENCED;
                    return true;
                }
                freed_heap += slot.heap_bytes();
                evicted += 1;
                false
            });
            if evicted >= slots {
                break;
            }
        }
        self.heap_bytes -= freed_heap;
        if evicted > 0 {
            self.set_incomplete();
        }
    }

    /// Drops every slot for which `pred` says so (used when key groups leave this backend, and
    /// RocksDB loses them too: completeness stays).
    pub fn remove_where(&mut self, mut pred: impl FnMut(&[u8]) -> bool) {
        let mut freed = 0usize;
        self.table.retain(|slot| {
            if pred(slot.key.as_slice()) {
                freed += slot.heap_bytes();
                false
            } else {
                true
            }
        });
        self.heap_bytes -= freed;
    }

    /// Drops everything; RocksDB is then the only authority (the table is not complete).
    pub fn clear(&mut self) {
        self.set_incomplete();
        self.unmapped = false;
        self.full_cap = 0;
        self.table = HashTable::new();
        self.dirty = Vec::new();
        self.dirty_prefix = Vec::new();
        self.heap_bytes = 0;
        self.by_prefix = hashbrown::HashMap::with_hasher(Hasher::with_seed(0x5eed_f0e5));
        self.next_in_map = Vec::new();
        self.indexed = 0;
        self.unindexed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warming_a_batch_changes_nothing() {
        let mut t = HotTable::new();
        for i in 0..100u32 {
            t.set_entry(&[&[1u8, 2][..], &i.to_be_bytes()].concat(), 2, &[i as u8]);
        }
        let before = (t.len(), t.memory_bytes(), t.dirty_len());
        let mut keys = KeyBatch::default();
        assert!(keys.is_empty());
        t.warm(&mut keys);
        for i in (0..200u32).step_by(7) {
            keys.push(&[1, 2], &i.to_be_bytes());
        }
        keys.push(&[], &[]);
        assert_eq!(keys.len(), 30);
        assert_eq!(keys.key(0), &[1, 2, 0, 0, 0, 0][..]);
        assert_eq!(keys.key(1), &[1, 2, 0, 0, 0, 7][..]);
        assert_eq!(keys.key(29), &[][..]);
        t.warm(&mut keys);
        assert_eq!((t.len(), t.memory_bytes(), t.dirty_len()), before);
        for i in 0..100u32 {
            let k = [&[1u8, 2][..], &i.to_be_bytes()].concat();
            match t.get(&k) {
                Some(SlotRef::Present(v)) => assert_eq!(v, &[i as u8][..]),
                other => panic!("entry {i}: {:?}", other.is_some()),
            }
        }
        keys.clear();
        assert!(keys.is_empty());
        assert_eq!(keys.len(), 0);
    }

    fn flushed(t: &mut HotTable) -> Vec<String> {
        let mut out = Vec::new();
        t.flush::<()>(
            |w| {
                out.push(match w {
                    WriteBack::Put(k, v) => format!("put {:?}={:?}", k, v),
                    WriteBack::Delete(k) => format!("del {:?}", k),
                    WriteBack::Merge(k, v) => format!("merge {:?}+{:?}", k, v),
                });
                Ok(())
            },
            || Ok(()),
        )
        .unwrap();
        out.sort();
        out
    }

    fn flushed_prefix(t: &mut HotTable, prefix: &[u8], fail: bool) -> Vec<String> {
        let mut out = Vec::new();
        let r = t.flush_prefix::<&str>(
            prefix,
            |w| {
                out.push(describe(w));
                Ok(())
            },
            || if fail { Err("disk full") } else { Ok(()) },
        );
        assert_eq!(r.is_err(), fail);
        out.sort();
        out
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// One write-back as text, keys and values as UTF-8.
    fn describe(w: WriteBack<'_>) -> String {
        match w {
            WriteBack::Put(k, v) => format!("put {}={}", show(k), show(v)),
            WriteBack::Delete(k) => format!("del {}", show(k)),
            WriteBack::Merge(k, v) => format!("merge {}+{}", show(k), show(v)),
        }
    }

    #[test]
    fn iterating_one_map_writes_back_that_map_only() {
        let mut t = HotTable::new();
        // RocksDB may hold entries the table does not: removals must reach it.
        t.set_incomplete();
        t.set_entry(b"A1x", 2, b"1");
        t.set_entry(b"A1y", 2, b"2");
        t.remove_entry(b"A1z", 2);
        t.set_entry(b"B2x", 2, b"3");
        // A failed write-back changes nothing.
        assert_eq!(flushed_prefix(&mut t, b"A1", true).len(), 3);
        assert_eq!(
            flushed_prefix(&mut t, b"A1", false),
            vec!["del A1z", "put A1x=1", "put A1y=2"]
        );
        assert_eq!(flushed_prefix(&mut t, b"A1", false), Vec::<String>::new());
        assert_eq!(t.get(b"A1x"), Some(SlotRef::Present(b"1")));
        // Written again, the entry is listed again; the other map is still dirty.
        t.set_entry(b"A1x", 2, b"4");
        assert_eq!(flushed_prefix(&mut t, b"A1", false), vec!["put A1x=4"]);
        assert_eq!(flushed_prefix(&mut t, b"B2", false), vec!["put B2x=3"]);
        assert!(
            t.has_dirty(),
            "the stale keys of the whole-state list go at the next flush"
        );
        assert!(flushed(&mut t).is_empty());
    }

    #[test]
    fn a_written_entry_proves_its_map_is_not_empty() {
        let mut t = HotTable::new();
        assert!(!t.map_has_written_entry(b"A1"));
        t.set_entry(b"A1x", 2, b"1");
        t.remove_entry(b"B2x", 2);
        assert!(t.map_has_written_entry(b"A1"));
        assert!(!t.map_has_written_entry(b"B2"), "a removal proves nothing");
        assert!(
            !t.map_has_written_entry(b"A"),
            "only whole map prefixes count"
        );
        t.remove_entry(b"A1x", 2);
        assert!(!t.map_has_written_entry(b"A1"));
    }

    #[test]
    fn an_entry_written_without_its_map_makes_a_map_flush_whole() {
        let mut t = HotTable::new();
        t.set_entry(b"A1x", 2, b"1");
        t.set(b"B2x", b"2", true);
        assert_eq!(
            flushed_prefix(&mut t, b"A1", false),
            vec!["put A1x=1", "put B2x=2"]
        );
        t.set_entry(b"B2y", 2, b"3");
        assert_eq!(flushed_prefix(&mut t, b"A1", false), Vec::<String>::new());
        assert_eq!(flushed_prefix(&mut t, b"B2", false), vec!["put B2y=3"]);
    }

    #[test]
    fn a_complete_table_lists_whole_maps_until_an_entry_leaves_it() {
        let mut t = HotTable::new();
        t.set_entry(b"A1x", 2, b"1");
        t.set_entry(b"A1y", 2, b"2");
        t.set_entry(b"A2x", 2, b"3");
        t.remove_entry(b"A1q", 2);
        assert!(
            flushed(&mut t).len() == 3,
            "a removal of an unknown key is a no-op"
        );
        t.remove_entry(b"A1y", 2);
        let mut out = Vec::new();
        assert!(t.map_entries(b"A1", 10, &mut out));
        let keys: Vec<_> = out.iter().map(|(k, _)| show(k.as_slice())).collect();
        assert_eq!(keys, vec!["A1x"]);
        assert_eq!(t.map_is_empty(b"A1", 10), Some(false));
        assert_eq!(
            t.map_is_empty(b"A", 10),
            Some(true),
            "a prefix of a map's prefix"
        );
        assert_eq!(t.map_is_empty(b"A3", 10), Some(true), "a map never written");
        t.remove_entry(b"A2x", 2);
        assert_eq!(
            t.map_is_empty(b"A2", 10),
            Some(true),
            "its only entry removed"
        );
        t.set_entry(b"A2x", 2, b"3");
        assert_eq!(t.map_is_empty(b"A2", 10), Some(false));
        assert_eq!(
            flushed(&mut t),
            vec!["del [65, 49, 121]", "put [65, 50, 120]=[51]"]
        );
        assert!(
            t.get(b"A1y").is_none(),
            "a written-back removal leaves a complete table"
        );
        t.set_entry(b"A1y", 2, b"5");
        assert!(t.map_entries(b"A1", 10, &mut out));
        assert_eq!(out.len(), 2);
        assert!(!t.map_entries(b"A1", 1, &mut out), "over the limit");
        assert_eq!(t.map_is_empty(b"A1", 2), Some(false));
        t.remove_entry(b"A1x", 2);
        t.remove_entry(b"A1y", 2);
        assert_eq!(t.map_is_empty(b"A1", 1), None, "over the limit");
        t.set_entry(b"A1y", 2, b"5");
        // An eviction makes the table incomplete for good.
        flushed(&mut t);
        t.evict(usize::MAX);
        assert!(!t.is_complete());
        assert!(!t.map_entries(b"A1", 10, &mut out));
        assert_eq!(t.map_is_empty(b"A1", 10), None);
    }

    /// Every chain's head carries its entry's key hash.
    fn heads_agree(t: &HotTable) -> bool {
        t.members_head
            .values()
            .all(|&(i, h)| t.member_hash[i as usize] == h)
    }

    /// A map's chain may list an entry that left the table; a lookup under its hash may then
    /// find another map's slot with a matching tag, which is not the map's entry: a listing
    /// skips it, and an emptiness check (which stops at a map's first entry) says what the
    /// listing would.
    #[test]
    fn a_slot_found_under_a_listed_hash_belongs_to_the_map_only_when_its_key_says_so() {
        let mut t = HotTable::new();
        for i in 0u8..10 {
            t.set_entry(&[b"C1".as_slice(), &[i]].concat(), 2, &[i]);
        }
        // The oldest entry leaves from beyond the unlink reach (it stays listed, stale); the
        // others leave from the head of the chain.
        for i in [0u8, 9, 8, 7, 6, 5, 4, 3, 2, 1] {
            t.remove_entry(&[b"C1".as_slice(), &[i]].concat(), 2);
        }
        assert_eq!(t.member_hash.len() - t.free_members.len(), 1);
        // A key of another map whose hash matches the stale entry's in its low bits (its first
        // probe position) and its top seven bits (its tag).
        let stale = t.hash(b"C1\x00");
        let matches = |h: u64| h & 0xff == stale & 0xff && h >> 57 == stale >> 57;
        let other = (0u32..)
            .map(|n| [b"D1".as_slice(), &n.to_be_bytes()].concat())
            .find(|k| matches(t.hash(k)))
            .unwrap();
        t.set_entry(&other, 2, b"d");
        let found = t.table.iter_hash_buckets(stale).count();
        assert_eq!(
            found, 1,
            "the other map's slot is found under the stale hash"
        );
        let mut out = Vec::new();
        assert!(t.map_entries(b"C1", 10, &mut out));
        assert!(out.is_empty());
        assert_eq!(t.map_is_empty(b"C1", 10), Some(true));
        assert_eq!(t.map_is_empty(b"D1", 10), Some(false));
    }

    /// A map whose entry is replaced at every event (a session window's: remove the old window,
    /// put the merged one) keeps a chain as long as the map, and its indexes are used again: a
    /// whole listing never falls back for a chain of entries that left, and nothing piles up
    /// until a rebuild. An entry that left from deeper than the unlink reach stays listed, and
    /// is skipped.
    #[test]
    fn a_map_whose_entry_is_replaced_at_every_event_keeps_a_short_chain() {
        let mut t = HotTable::new();
        let mut out = Vec::new();
        t.set_entry(b"B1w", 2, b"other map");
        t.set_entry(b"A1\x00\x00", 2, b"0");
        for i in 1u16..5000 {
            let (old, new) = ((i - 1).to_be_bytes(), i.to_be_bytes());
            t.remove_entry(&[b"A1".as_slice(), &old].concat(), 2);
            t.set_entry(&[b"A1".as_slice(), &new].concat(), 2, &new);
            assert!(t.map_entries(b"A1", 1, &mut out), "event {i}");
            assert_eq!(out.len(), 1);
            assert!(heads_agree(&t), "event {i}");
            assert_eq!(out[0].1.as_ref().map(|v| v.as_slice()), Some(&new[..]));
        }
        assert_eq!(t.member_hash.len() - t.free_members.len(), 2);
        assert!(t.member_hash.len() <= 3);
        assert!(t.map_entries(b"B1", 1, &mut out));
        assert_eq!(show(out[0].0.as_slice()), "B1w");

        // Ten entries, the oldest removed: beyond the reach, it stays listed and is skipped.
        for i in 0u8..10 {
            t.set_entry(&[b"C1".as_slice(), &[i]].concat(), 2, &[i]);
        }
        t.remove_entry(b"C1\x00", 2);
        t.remove_entry(b"C1\x09", 2);
        assert!(t.map_entries(b"C1", 100, &mut out));
        assert!(heads_agree(&t));
        let values: Vec<u8> = out
            .iter()
            .map(|(_, v)| v.as_ref().unwrap().as_slice()[0])
            .collect();
        assert_eq!(values, (1u8..9).collect::<Vec<_>>());
        assert!(
            !t.map_entries(b"C1", 8, &mut out),
            "the oldest is still listed"
        );
        assert!(t.map_entries(b"C1", 9, &mut out));
    }

    #[test]
    fn a_failed_commit_keeps_everything_dirty() {
        let mut t = HotTable::new();
        t.set_incomplete();
        t.set(b"a", b"1", true);
        t.append(b"l", b"x", false);
        t.set_absent(b"d", true);
        let failed = t.flush(|_| Ok(()), || Err("disk full"));
        assert_eq!(failed, Err("disk full"));
        assert!(t.has_dirty());
        assert_eq!(
            flushed(&mut t),
            vec![
                "del [100]".to_string(),
                "merge [108]+[120]".to_string(),
                "put [97]=[49]".to_string()
            ]
        );
    }

    /// A write-back commits every FLUSH_CHUNK bytes. When a later commit fails, what earlier
    /// ones made durable is clean (its appends leave the table: written once, never again)
    /// and the rest stays dirty; on both flush paths and for one map.
    #[test]
    fn a_failed_later_commit_keeps_only_the_uncommitted_chunks_dirty() {
        let big = vec![7u8; FLUSH_CHUNK * 3 / 4];
        for path in ["table", "list", "map"] {
            let mut t = HotTable::new();
            t.set_incomplete();
            if path == "list" {
                for i in 0..1000 {
                    t.set(format!("c{i:04}").as_bytes(), b"v", false);
                }
            }
            for k in [b"Ma", b"Mb", b"Mc"] {
                if path == "map" {
                    t.set_entry(k, 1, &big);
                } else {
                    t.append(k, &big, false);
                }
            }
            let mut commits = 0;
            let mut fail_second = || {
                commits += 1;
                if commits == 2 {
                    Err("disk full")
                } else {
                    Ok(())
                }
            };
            let failed = if path == "map" {
                t.flush_prefix(b"M", |_| Ok(()), &mut fail_second)
            } else {
                t.flush(|_| Ok(()), &mut fail_second)
            };
            assert_eq!(failed, Err("disk full"), "{path}");
            assert_eq!(
                commits, 2,
                "{path}: one chunk of two entries, then the third"
            );
            let rest: Vec<String> = flushed_in_order(&mut t)
                .into_iter()
                .map(|w| w.split(['=', '+']).next().unwrap().to_string())
                .collect();
            if path == "map" {
                // A map's entries go in the order its chain lists them: any one is left.
                assert_eq!(rest.len(), 1, "{path}: {rest:?}");
                assert!(rest[0].starts_with("put M"), "{path}: {rest:?}");
            } else {
                assert_eq!(rest, vec!["merge Mc".to_string()], "{path}");
            }
            if path != "map" {
                assert_eq!(
                    t.get(b"Ma"),
                    None,
                    "{path}: a written append leaves the table"
                );
            }
        }
    }

    /// Flushes in the order the sink receives the writes (key order), not sorted afterwards.
    fn flushed_in_order(t: &mut HotTable) -> Vec<String> {
        let mut out = Vec::new();
        t.flush::<()>(
            |w| {
                out.push(describe(w));
                Ok(())
            },
            || Ok(()),
        )
        .unwrap();
        out
    }

    /// The same writes, flushed from the list of dirty keys (`clean` clean slots beside them)
    /// or by a pass over the table (few clean slots): the same batch in key order, the same
    /// table afterwards.
    fn flush_both_ways(clean: u32, complete: bool) {
        let mut t = HotTable::new();
        if !complete {
            t.set_incomplete();
        }
        for i in 0..clean {
            t.set(format!("c{i:05}").as_bytes(), b"v", false);
        }
        t.set(b"k2", b"two", true);
        t.set(b"k1", b"one", true);
        t.set(b"k2", b"TWO", true);
        t.append(b"l", b"x", complete);
        t.set(b"gone", b"soon", true);
        t.set_absent(b"gone", true);
        t.set_entry(b"m1a", 2, b"A");
        let uses_list = t.dirty.len() < t.table.len() / SCAN_FLUSH_RATIO;
        assert_eq!(uses_list, clean >= 1000, "the path this case means to take");
        assert_eq!(t.flush(|_| Ok(()), || Err("disk full")), Err("disk full"));
        let mut want = vec!["put k1=one".to_string(), "put k2=TWO".to_string()];
        if !complete {
            // RocksDB may hold the key: only a complete table knows it does not.
            want.insert(0, "del gone".to_string());
        }
        want.push(if complete { "put l=x" } else { "merge l+x" }.to_string());
        want.push("put m1a=A".to_string());
        assert_eq!(flushed_in_order(&mut t), want);
        assert!(!t.has_dirty());
        assert_eq!(flushed_in_order(&mut t), Vec::<String>::new());
        assert_eq!(t.get(b"k2"), Some(SlotRef::Present(b"TWO")));
        if complete {
            assert_eq!(t.get(b"l"), Some(SlotRef::Present(b"x")));
            assert_eq!(t.get(b"gone"), None, "a written-back removal leaves");
        } else {
            assert_eq!(t.get(b"l"), None, "a written-back append leaves");
            assert_eq!(t.get(b"gone"), Some(SlotRef::Absent));
        }
        assert_eq!(t.len() as u32, clean + 4);
    }

    #[test]
    fn a_flush_from_the_dirty_list_and_one_by_table_pass_write_the_same() {
        for complete in [true, false] {
            flush_both_ways(0, complete);
            flush_both_ways(1000, complete);
        }
    }

    /// The write-back sorts by words only while the sort's arrays fit an eighth of the table:
    /// a table of join rows (long keys and values on the heap) does with every slot dirty, a
    /// table of short keys and values (all inside their slots) does not.
    #[test]
    fn a_write_back_sorts_long_keys_by_words_and_short_ones_by_comparisons() {
        let words = |t: &HotTable| {
            let dirty = t.table.iter().filter(|s| s.flags & DIRTY != 0).count();
            assert_eq!(dirty, t.len());
            keysort::sorts_by_words::<&Slot>(dirty, t.sort_room())
        };
        let mut short = HotTable::new();
        let mut join = HotTable::new();
        for i in 0..20_000u32 {
            let mut k = vec![(i % 128) as u8];
            k.extend_from_slice(&i.to_be_bytes());
            short.set(&k, &i.to_le_bytes(), true);
            let mut row = vec![(i % 128) as u8, 0, 0, 0, 0, 16];
            row.extend_from_slice(&[0u8; 16]);
            let prefix = row.len();
            row.extend_from_slice(&[b'r'; 36]);
            row.extend_from_slice(&i.to_be_bytes());
            join.set_entry(&row, prefix, &[7u8; 100]);
        }
        assert!(!words(&short));
        assert!(words(&join));
    }

    #[test]
    fn set_get_absent() {
        let mut t = HotTable::new();
        assert_eq!(t.get(b"a"), None);
        t.set(b"a", b"1", true);
        assert_eq!(t.get(b"a"), Some(SlotRef::Present(b"1")));
        assert_eq!(flushed(&mut t), vec!["put [97]=[49]".to_string()]);
        t.set_absent(b"a", true);
        assert_eq!(t.get(b"a"), Some(SlotRef::Absent));
        assert_eq!(flushed(&mut t), vec!["del [97]".to_string()]);
        assert!(!t.has_dirty());
        assert_eq!(flushed(&mut t), Vec::<String>::new());
    }

    /// A key written and removed between two write-backs costs RocksDB nothing when RocksDB is
    /// known not to hold it: a complete table forgets the slot, another keeps it clean and
    /// absent. Known: a slot made in a complete table, a read miss, a written tombstone.
    #[test]
    fn a_key_rocksdb_never_held_is_removed_without_a_tombstone() {
        let none = Vec::<String>::new();
        let mut t = HotTable::new();
        t.set(b"v", b"1", true);
        t.set_absent(b"v", true);
        t.set_entry(b"m1a", 2, b"A");
        t.remove_entry(b"m1a", 2);
        t.append(b"l", b"x", true);
        t.set_absent(b"l", true);
        assert_eq!((t.len(), t.heap_bytes), (0, 0));
        assert_eq!(t.get(b"v"), None);
        assert!(t.is_complete());
        assert_eq!(flushed(&mut t), none);

        // Written back, a key is stored: its removal is written, and leaves a tombstone.
        t.set(b"v", b"1", true);
        assert_eq!(flushed(&mut t), vec!["put [118]=[49]".to_string()]);
        t.set(b"v", b"2", true);
        t.set_absent(b"v", true);
        assert_eq!(flushed(&mut t), vec!["del [118]".to_string()]);
        t.set(b"v", b"3", true);
        t.set_absent(b"v", true);
        assert_eq!(flushed(&mut t), none);

        // A failed write-back may have reached RocksDB.
        t.set(b"f", b"1", true);
        assert_eq!(t.flush(|_| Ok(()), || Err("disk full")), Err("disk full"));
        t.set_absent(b"f", true);
        assert_eq!(flushed(&mut t), vec!["del [102]".to_string()]);

        // Not complete: RocksDB may hold what the table has not seen.
        let mut t = HotTable::new();
        t.set_incomplete();
        t.set(b"k", b"1", true);
        t.set_absent(b"k", true);
        assert_eq!(flushed(&mut t), vec!["del [107]".to_string()]);
        // The tombstone is written: the key is known absent now.
        t.set(b"k", b"2", true);
        t.set_absent(b"k", true);
        t.set_absent(b"r", false); // a read found nothing in RocksDB
        t.set_entry(b"r", 0, b"1");
        t.remove_entry(b"r", 0);
        assert_eq!(t.get(b"k"), Some(SlotRef::Absent));
        assert_eq!(t.get(b"r"), Some(SlotRef::Absent));
        assert_eq!(flushed(&mut t), none);
        let mut entries = Vec::new();
        assert!(t.map_changes(b"r", usize::MAX, &mut entries));
        assert!(entries.is_empty());
    }

    #[test]
    fn clean_entries_are_not_written_back() {
        let mut t = HotTable::new();
        t.set(b"k", b"v", false);
        t.set_absent(b"m", false);
        assert_eq!(flushed(&mut t), Vec::<String>::new());
        t.set(b"k", b"w", true);
        assert_eq!(flushed(&mut t), vec!["put [107]=[119]".to_string()]);
    }

    #[test]
    fn append_to_unknown_becomes_merge_and_is_forgotten() {
        let mut t = HotTable::new();
        t.append(b"l", b"x", false);
        t.append(b"l", b"y", false);
        assert_eq!(t.get(b"l"), Some(SlotRef::Appended(b"xy")));
        assert_eq!(flushed(&mut t), vec!["merge [108]+[120, 121]".to_string()]);
        assert_eq!(t.get(b"l"), None);
        t.set(b"l", b"a", false);
        t.append(b"l", b"b", false);
        assert_eq!(flushed(&mut t), vec!["put [108]=[97, 98]".to_string()]);
    }

    #[test]
    fn eviction_spares_dirty_and_referenced() {
        let mut t = HotTable::new();
        for i in 0u32..1000 {
            t.set(&i.to_be_bytes(), &[0u8; 40], false);
        }
        t.set(b"dirty", b"d", true);
        let before = t.memory_bytes();
        // The first pass clears reference bits, the second evicts.
        let freed = t.evict(before);
        assert!(freed > 0);
        assert_eq!(t.get(b"dirty"), Some(SlotRef::Present(b"d")));
        assert!(t.len() < 1001);
        assert!(t.memory_bytes() < before);
    }

    #[test]
    fn a_full_table_evicts_instead_of_doubling_past_its_limit() {
        let mut t = HotTable::new();
        for i in 0u32..10_000 {
            t.set(&i.to_be_bytes(), b"v", false);
        }
        let cap = t.full_cap;
        t.set_growth_limit(cap * SLOT_COST);
        for i in 10_000u32..100_000 {
            t.set(&i.to_be_bytes(), b"v", false);
        }
        assert_eq!(t.full_cap, cap, "the table did not grow");
        assert!(t.len() > cap / 2);
        // Dirty slots are never dropped: with nothing clean left, the table grows.
        let mut d = HotTable::new();
        d.set_growth_limit(1);
        for i in 0u32..1000 {
            d.set(&i.to_be_bytes(), b"v", true);
        }
        assert_eq!(d.len(), 1000);
    }

    #[test]
    fn heap_accounting_returns_to_zero() {
        let mut t = HotTable::new();
        let big = vec![7u8; 100];
        t.set(&[1u8; 30], &big, true);
        t.set(&[1u8; 30], b"small", true);
        t.append(&[2u8; 30], &big, false);
        t.set_absent(&[3u8; 30], true);
        t.flush::<()>(|_| Ok(()), || Ok(())).unwrap();
        t.remove_where(|_| true);
        assert_eq!(t.heap_bytes, 0);
        assert!(t.is_empty());
    }
}
