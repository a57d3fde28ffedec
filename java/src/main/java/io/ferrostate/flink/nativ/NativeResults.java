package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Decodes the structured results native methods return, the one reader of what {@code
 * rust/jni/src/results.rs} encodes: big-endian, a 4-byte record count, strings as a 4-byte length
 * and UTF-8, an absent key group as -1.
 */
@Internal
public final class NativeResults {

    private NativeResults() {}

    /** A file of a snapshot directory, as its manifest describes it. */
    public static final class SnapshotFile {
        public final String name;
        public final long size;
        public final int crc32c;

        public SnapshotFile(String name, long size, int crc32c) {
            this.name = name;
            this.size = size;
            this.crc32c = crc32c;
        }

        @Override
        public String toString() {
            return name + " (" + size + " bytes, crc32c " + Integer.toHexString(crc32c) + ")";
        }
    }

    /** What a snapshot holds of one state. */
    public static final class StateStats {
        public final String name;
        public final long entries;
        public final long bytes;

        /** The lowest key group with an entry, or -1 when the state has none. */
        public final int minKeyGroup;

        /** The highest key group with an entry, or -1 when the state has none. */
        public final int maxKeyGroup;

        StateStats(String name, long entries, long bytes, int minKeyGroup, int maxKeyGroup) {
            this.name = name;
            this.entries = entries;
            this.bytes = bytes;
            this.minKeyGroup = minKeyGroup;
            this.maxKeyGroup = maxKeyGroup;
        }
    }

    /**
     * Counters of one store since it opened ({@link NativeStore#stats()}). The native side sends
     * them as a {@code long[]} in the order of {@code FIELDS}, which {@code
     * rust/jni/src/results.rs} declares too (its test fails when the two lists differ).
     */
    public static final class StoreCounters {
        static final String[] FIELDS = {
            "rocksdbReads", "rocksdbScans", "rocksdbWrites", "hotHits", "evictions"
        };

        /** Point reads that went to RocksDB (hot-tier misses). */
        public final long rocksdbReads;

        /**
         * Scans that read RocksDB: map scans the hot tier could not list whole, and prefix scans.
         */
        public final long rocksdbScans;

        /** Write batches (write-backs) and direct writes sent to RocksDB. */
        public final long rocksdbWrites;

        /** Reads the hot tier answered. */
        public final long hotHits;

        /** Evictions from the hot tier. */
        public final long evictions;

        StoreCounters(long[] values) {
            rocksdbReads = field(values, FIELDS, "rocksdbReads");
            rocksdbScans = field(values, FIELDS, "rocksdbScans");
            rocksdbWrites = field(values, FIELDS, "rocksdbWrites");
            hotHits = field(values, FIELDS, "hotHits");
            evictions = field(values, FIELDS, "evictions");
        }
    }

    /**
     * What the hot tier and RocksDB of one store hold now ({@link NativeStore#gauges()}), sent as a
     * {@code long[]} in the order of {@code FIELDS} (declared in {@code rust/jni/src/results.rs}
     * too). RocksDB's values are sums over the store's column families.
     */
    public static final class StoreGauges {
        static final String[] FIELDS = {
            "hotEntries",
            "hotDirtyEntries",
            "memtableBytes",
            "pendingCompactionBytes",
            "liveSstBytes",
            "estimatedKeys"
        };

        /** Entries the hot tier holds. */
        public final long hotEntries;

        /** Changes not yet written back to RocksDB (an upper bound). */
        public final long hotDirtyEntries;

        /** Bytes of RocksDB's memtables ({@code rocksdb.cur-size-all-mem-tables}). */
        public final long memtableBytes;

        /**
         * Bytes compactions still have to rewrite ({@code
         * rocksdb.estimate-pending-compaction-bytes}).
         */
        public final long pendingCompactionBytes;

        /** Bytes of the SST files in use ({@code rocksdb.live-sst-files-size}). */
        public final long liveSstBytes;

        /** Entries RocksDB estimates it holds ({@code rocksdb.estimate-num-keys}). */
        public final long estimatedKeys;

        StoreGauges(long[] values) {
            hotEntries = field(values, FIELDS, "hotEntries");
            hotDirtyEntries = field(values, FIELDS, "hotDirtyEntries");
            memtableBytes = field(values, FIELDS, "memtableBytes");
            pendingCompactionBytes = field(values, FIELDS, "pendingCompactionBytes");
            liveSstBytes = field(values, FIELDS, "liveSstBytes");
            estimatedKeys = field(values, FIELDS, "estimatedKeys");
        }
    }

    /**
     * The memory of one store ({@link NativeStore#memoryUsage()}), sent as a {@code long[]} in the
     * order of {@code FIELDS} (declared in {@code rust/jni/src/results.rs} too).
     */
    public static final class StoreMemory {
        static final String[] FIELDS = {
            "hotBytes",
            "rocksdbBytes",
            "budget",
            "allocatorAllocatedBytes",
            "allocatorResidentBytes"
        };

        /** Bytes of this store's hot tier. */
        public final long hotBytes;

        /**
         * Bytes RocksDB's block cache holds (data, index and filter blocks and memtables) for every
         * store sharing the budget.
         */
        public final long rocksdbBytes;

        /** The budget this store shares with the other stores of its slot. */
        public final long budget;

        /**
         * Bytes the native library's allocator (jemalloc: the hot tiers' values and tables, not
         * RocksDB's allocations) has handed out, for every store of this copy of the library; 0
         * when unknown.
         */
        public final long allocatorAllocatedBytes;

        /**
         * Physical memory that allocator holds (handed out, its metadata, freed pages not yet
         * returned), for every store of this copy of the library; 0 when unknown.
         */
        public final long allocatorResidentBytes;

        StoreMemory(long[] values) {
            hotBytes = field(values, FIELDS, "hotBytes");
            rocksdbBytes = field(values, FIELDS, "rocksdbBytes");
            budget = field(values, FIELDS, "budget");
            allocatorAllocatedBytes = field(values, FIELDS, "allocatorAllocatedBytes");
            allocatorResidentBytes = field(values, FIELDS, "allocatorResidentBytes");
        }

        /** Hot tier plus RocksDB. */
        public long usedBytes() {
            return hotBytes + rocksdbBytes;
        }
    }

    /**
     * A shared memory budget ({@link NativeMemory#usage()}), sent as a {@code long[]} in the order
     * of {@code FIELDS} (declared in {@code rust/jni/src/results.rs} too).
     */
    public static final class BudgetUsage {
        static final String[] FIELDS = {"budget", "hotLimit", "hotUsed", "rocksdbUsed"};

        /** The whole budget, in bytes. */
        public final long budget;

        /** The part the hot tiers may hold. */
        public final long hotLimit;

        /** What the hot tiers of every store sharing the budget hold. */
        public final long hotUsed;

        /** What RocksDB's block cache and memtables hold. */
        public final long rocksdbUsed;

        BudgetUsage(long[] values) {
            budget = field(values, FIELDS, "budget");
            hotLimit = field(values, FIELDS, "hotLimit");
            hotUsed = field(values, FIELDS, "hotUsed");
            rocksdbUsed = field(values, FIELDS, "rocksdbUsed");
        }
    }

    private static long field(long[] values, String[] fields, String name) {
        if (values.length != fields.length) {
            throw new IllegalStateException(
                    values.length
                            + " counters from the native library where "
                            + fields.length
                            + " were expected: the library and the classes disagree");
        }
        for (int i = 0; i < fields.length; i++) {
            if (fields[i].equals(name)) {
                return values[i];
            }
        }
        throw new IllegalArgumentException("no field " + name);
    }

    /** The files of a manifest. */
    static List<SnapshotFile> files(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        int n = in.getInt();
        List<SnapshotFile> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new SnapshotFile(string(in), in.getLong(), in.getInt()));
        }
        return done(in, out);
    }

    /** Statistics per state. */
    static List<StateStats> stats(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        int n = in.getInt();
        List<StateStats> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(
                    new StateStats(
                            string(in), in.getLong(), in.getLong(), in.getInt(), in.getInt()));
        }
        return done(in, out);
    }

    private static String string(ByteBuffer in) {
        byte[] b = new byte[in.getInt()];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static <T> List<T> done(ByteBuffer in, List<T> out) {
        if (in.hasRemaining()) {
            throw new IllegalStateException(
                    in.remaining()
                            + " bytes left after a native result: the library and the classes disagree");
        }
        return Collections.unmodifiableList(out);
    }
}
