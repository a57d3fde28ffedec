//! Binary encodings of the structured results native methods return, decoded in Java by
//! `NativeResults` (one codec per side, no text parsing): big-endian, a 4-byte count of
//! records, strings as a 4-byte length and UTF-8, an absent key group as -1.
//!
//! - files of a snapshot manifest: `[name][u64 size][u32 crc32c]` each;
//! - statistics of a snapshot's states: `[name][u64 entries][u64 bytes][i32 min key group]
//!   [i32 max key group]` each.
//!
//! `tests/data/results.txt` holds encodings both sides' tests check.
//!
//! Counters travel as a `long[]` whose order is declared here ([`STORE_COUNTERS`],
//! [`STORE_MEMORY`], [`STORE_GAUGES`], [`BUDGET_USAGE`]) and in the `FIELDS` of `NativeResults`' classes; a test
//! here reads the Java source and fails when the two lists differ.

use ferrostate_engine::memory::SharedMemory;
use ferrostate_engine::snapshot::{FileEntry, StateStats};
use ferrostate_engine::{MemoryUsage, StoreGauges, StoreStats};
use jni::sys::jlong;

/// The order of `NativeStore.stats()`'s counters (Java: `NativeResults.StoreCounters`).
pub(crate) const STORE_COUNTERS: [&str; 5] = [
    "rocksdbReads",
    "rocksdbScans",
    "rocksdbWrites",
    "hotHits",
    "evictions",
];

/// A store's counters, in the order of [`STORE_COUNTERS`].
pub(crate) fn store_counters(s: &StoreStats) -> [jlong; STORE_COUNTERS.len()] {
    [
        s.rocksdb_reads,
        s.rocksdb_scans,
        s.rocksdb_writes,
        s.hot_hits,
        s.evictions,
    ]
    .map(|c| c as jlong)
}

/// The order of `NativeStore.memoryUsage()`'s values (Java: `NativeResults.StoreMemory`).
pub(crate) const STORE_MEMORY: [&str; 5] = [
    "hotBytes",
    "rocksdbBytes",
    "budget",
    "allocatorAllocatedBytes",
    "allocatorResidentBytes",
];

/// A store's memory, in the order of [`STORE_MEMORY`].
pub(crate) fn store_memory(u: &MemoryUsage) -> [jlong; STORE_MEMORY.len()] {
    [
        u.hot as u64,
        u.rocksdb as u64,
        u.budget as u64,
        u.allocator_allocated,
        u.allocator_resident,
    ]
    .map(|b| b as jlong)
}

/// The order of `NativeStore.gauges()`'s values (Java: `NativeResults.StoreGauges`).
pub(crate) const STORE_GAUGES: [&str; 6] = [
    "hotEntries",
    "hotDirtyEntries",
    "memtableBytes",
    "pendingCompactionBytes",
    "liveSstBytes",
    "estimatedKeys",
];

/// A store's gauges, in the order of [`STORE_GAUGES`].
pub(crate) fn store_gauges(g: &StoreGauges) -> [jlong; STORE_GAUGES.len()] {
    [
        g.hot_entries,
        g.hot_dirty_entries,
        g.memtable_bytes,
        g.pending_compaction_bytes,
        g.live_sst_bytes,
        g.estimated_keys,
    ]
    .map(|v| v as jlong)
}

/// The order of `NativeMemory.usage()`'s values (Java: `NativeResults.BudgetUsage`).
pub(crate) const BUDGET_USAGE: [&str; 4] = ["budget", "hotLimit", "hotUsed", "rocksdbUsed"];

/// A shared budget's use, in the order of [`BUDGET_USAGE`].
pub(crate) fn budget_usage(m: &SharedMemory) -> [jlong; BUDGET_USAGE.len()] {
    [m.budget(), m.hot_limit(), m.hot_used(), m.rocksdb_usage()].map(|b| b as jlong)
}

/// Appends the fields of one record.
#[derive(Default)]
struct Encoder(Vec<u8>);

impl Encoder {
    fn with_count(n: usize) -> Encoder {
        let mut e = Encoder::default();
        e.u32(n as u32);
        e
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn key_group(&mut self, kg: Option<u32>) {
        self.0
            .extend_from_slice(&kg.map_or(-1, |k| k as i32).to_be_bytes());
    }
}

/// The files of a manifest.
pub(crate) fn files(files: &[FileEntry]) -> Vec<u8> {
    let mut e = Encoder::with_count(files.len());
    for f in files {
        e.str(&f.name);
        e.u64(f.size);
        e.u32(f.crc32c);
    }
    e.0
}

/// Statistics per state of a snapshot.
pub(crate) fn stats(stats: &[StateStats]) -> Vec<u8> {
    let mut e = Encoder::with_count(stats.len());
    for s in stats {
        e.str(&s.name);
        e.u64(s.entries);
        e.u64(s.bytes);
        e.key_group(s.min_kg);
        e.key_group(s.max_kg);
    }
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hex encoding named `name` in `tests/data/results.txt`.
    fn shared_vector(name: &str) -> String {
        let text = include_str!("../tests/data/results.txt");
        let line = text
            .lines()
            .find(|l| l.split(' ').next() == Some(name))
            .unwrap();
        line.rsplit(' ').next().unwrap().to_string()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `FIELDS` list of the Java class `class` in `NativeResults.java`.
    fn java_fields(class: &str) -> Vec<String> {
        let java = include_str!(
            "../../../java/src/main/java/io/ferrostate/flink/nativ/NativeResults.java"
        );
        let at = java
            .find(&format!("class {class} "))
            .unwrap_or_else(|| panic!("no class {class} in NativeResults.java"));
        let fields = &java[at..];
        let open = fields.find("FIELDS = {").expect("no FIELDS") + "FIELDS = {".len();
        let close = fields[open..].find('}').unwrap() + open;
        fields[open..close]
            .split(',')
            .map(|f| f.trim().trim_matches('"').to_string())
            .filter(|f| !f.is_empty())
            .collect()
    }

    #[test]
    fn counters_are_in_the_order_java_reads_them() {
        assert_eq!(java_fields("StoreCounters"), STORE_COUNTERS);
        assert_eq!(java_fields("StoreMemory"), STORE_MEMORY);
        assert_eq!(java_fields("StoreGauges"), STORE_GAUGES);
        assert_eq!(java_fields("BudgetUsage"), BUDGET_USAGE);
    }

    #[test]
    fn counters_follow_their_declared_order() {
        let s = StoreStats {
            rocksdb_reads: 1,
            rocksdb_scans: 2,
            rocksdb_writes: 3,
            hot_hits: 4,
            evictions: 5,
        };
        assert_eq!(store_counters(&s), [1, 2, 3, 4, 5]);
        let u = MemoryUsage {
            hot: 10,
            rocksdb: 20,
            budget: 30,
            allocator_allocated: 40,
            allocator_resident: 50,
        };
        assert_eq!(store_memory(&u), [10, 20, 30, 40, 50]);
    }

    #[test]
    fn files_are_encoded_as_java_reads_them() {
        let entries = [
            FileEntry {
                name: "000012.sst".into(),
                size: 5_000_000_000,
                crc32c: 0xdead_beef,
            },
            FileEntry {
                name: "CURRENT".into(),
                size: 16,
                crc32c: 7,
            },
        ];
        assert_eq!(hex(&files(&entries)), shared_vector("files"));
        assert_eq!(hex(&files(&[])), "00000000");
    }

    #[test]
    fn stats_are_encoded_as_java_reads_them() {
        let s = [
            StateStats {
                name: "wörds".into(),
                entries: 3,
                bytes: 300,
                min_kg: Some(0),
                max_kg: Some(127),
            },
            StateStats {
                name: "empty".into(),
                entries: 0,
                bytes: 0,
                min_kg: None,
                max_kg: None,
            },
        ];
        assert_eq!(hex(&stats(&s)), shared_vector("stats"));
    }
}
