package io.ferrostate.flink;

import io.ferrostate.flink.nativ.NativeResults;
import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.Serializable;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The Flink metrics of one keyed backend's native store, under the operator's metric group in a
 * group {@code ferrostate} with four subgroups (each can be turned off, see {@link
 * FerroStateOptions}):
 *
 * <ul>
 *   <li>{@code hot}: {@code entries}, {@code bytes}, {@code dirty-entries} (changes not yet written
 *       back), and since the store opened {@code hits}, {@code misses} (point reads that went to
 *       RocksDB), {@code evictions}, {@code write-backs} (batches and direct writes sent to
 *       RocksDB);
 *   <li>{@code memory}: {@code budget-bytes} (shared by the stores of the slot), {@code used-bytes}
 *       (this store's hot tier plus the block cache of the slot's RocksDB), {@code hot-bytes}, and
 *       the native library's allocator (jemalloc, process-wide for the library: the hot tiers'
 *       values and tables, not RocksDB's allocations): {@code allocator-allocated-bytes}, {@code
 *       allocator-resident-bytes} (also its metadata and freed pages not yet returned);
 *   <li>{@code rocksdb}: named as RocksDB's properties, summed over the store's column families:
 *       {@code block-cache-usage} (shared by the slot's stores; memtables are charged to it),
 *       {@code cur-size-all-mem-tables}, {@code estimate-pending-compaction-bytes}, {@code
 *       live-sst-files-size}, {@code estimate-num-keys}, and {@code scans};
 *   <li>{@code checkpoint}: {@code last-uploaded-bytes}, what the last native checkpoint or
 *       savepoint of this backend uploaded.
 * </ul>
 *
 * <p>Gauges are read on the metric reporter's thread, never on the task thread: a read takes the
 * store's lock for a few microseconds (the values of all gauges are read together and kept for
 * {@link #REFRESH_NANOS}, so one report costs three native calls, not one per gauge). Once the
 * backend is disposed the gauges keep their last values.
 */
@Internal
final class FerroMetrics implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(FerroMetrics.class);

    /** The name of the group under the operator's metric group. */
    static final String GROUP = "ferrostate";

    /** How long values read for one gauge serve the others. */
    static final long REFRESH_NANOS = 200_000_000L;

    /** Which groups of metrics to register. */
    static final class Groups implements Serializable {
        private static final long serialVersionUID = 1L;

        final boolean hot;
        final boolean memory;
        final boolean rocksdb;
        final boolean checkpoint;

        Groups(boolean hot, boolean memory, boolean rocksdb, boolean checkpoint) {
            this.hot = hot;
            this.memory = memory;
            this.rocksdb = rocksdb;
            this.checkpoint = checkpoint;
        }

        static Groups from(ReadableConfig config) {
            return new Groups(
                    config.get(FerroStateOptions.METRICS_HOT_TIER),
                    config.get(FerroStateOptions.METRICS_MEMORY),
                    config.get(FerroStateOptions.METRICS_ROCKSDB),
                    config.get(FerroStateOptions.METRICS_CHECKPOINT));
        }

        static Groups all() {
            return new Groups(true, true, true, true);
        }

        boolean any() {
            return hot || memory || rocksdb || checkpoint;
        }
    }

    private final NativeStore store;
    private final Object lock = new Object();

    /** Guarded by {@link #lock}. */
    private boolean closed;

    private long readAt;
    private NativeResults.StoreCounters counters;
    private NativeResults.StoreMemory memory;
    private NativeResults.StoreGauges gauges;

    FerroMetrics(
            MetricGroup operatorGroup,
            NativeStore store,
            LongSupplier lastUploadedBytes,
            Groups groups) {
        this.store = store;
        refresh(true);
        MetricGroup group = operatorGroup.addGroup(GROUP);
        if (groups.hot) {
            MetricGroup hot = group.addGroup("hot");
            gauge(hot, "entries", g -> g.hotEntries);
            counter(hot, "bytes", m -> m.hotBytes);
            gauge(hot, "dirty-entries", g -> g.hotDirtyEntries);
            count(hot, "hits", c -> c.hotHits);
            count(hot, "misses", c -> c.rocksdbReads);
            count(hot, "evictions", c -> c.evictions);
            count(hot, "write-backs", c -> c.rocksdbWrites);
        }
        if (groups.memory) {
            MetricGroup mem = group.addGroup("memory");
            counter(mem, "budget-bytes", m -> m.budget);
            counter(mem, "used-bytes", NativeResults.StoreMemory::usedBytes);
            counter(mem, "hot-bytes", m -> m.hotBytes);
            counter(mem, "allocator-allocated-bytes", m -> m.allocatorAllocatedBytes);
            counter(mem, "allocator-resident-bytes", m -> m.allocatorResidentBytes);
        }
        if (groups.rocksdb) {
            MetricGroup db = group.addGroup("rocksdb");
            counter(db, "block-cache-usage", m -> m.rocksdbBytes);
            gauge(db, "cur-size-all-mem-tables", g -> g.memtableBytes);
            gauge(db, "estimate-pending-compaction-bytes", g -> g.pendingCompactionBytes);
            gauge(db, "live-sst-files-size", g -> g.liveSstBytes);
            gauge(db, "estimate-num-keys", g -> g.estimatedKeys);
            count(db, "scans", c -> c.rocksdbScans);
        }
        if (groups.checkpoint) {
            group.addGroup("checkpoint")
                    .gauge("last-uploaded-bytes", (Gauge<Long>) lastUploadedBytes::getAsLong);
        }
    }

    private void gauge(
            MetricGroup group, String name, ToLongFunction<NativeResults.StoreGauges> value) {
        register(group, name, () -> value.applyAsLong(gauges));
    }

    private void counter(
            MetricGroup group, String name, ToLongFunction<NativeResults.StoreMemory> value) {
        register(group, name, () -> value.applyAsLong(memory));
    }

    private void count(
            MetricGroup group, String name, ToLongFunction<NativeResults.StoreCounters> value) {
        register(group, name, () -> value.applyAsLong(counters));
    }

    /** A gauge reading {@code value} from values at most {@link #REFRESH_NANOS} old. */
    private void register(MetricGroup group, String name, LongSupplier value) {
        group.gauge(
                name,
                (Gauge<Long>)
                        () -> {
                            synchronized (lock) {
                                refresh(false);
                                return value.getAsLong();
                            }
                        });
    }

    /** Reads every value from the store when the last read is older than the refresh period. */
    private void refresh(boolean now) {
        if (closed || (!now && System.nanoTime() - readAt < REFRESH_NANOS)) {
            return;
        }
        try {
            counters = store.stats();
            memory = store.memoryUsage();
            gauges = store.gauges();
        } catch (RuntimeException e) {
            // A metric must never fail the reporter; the last values stay.
            LOG.debug("Could not read ferrostate's store metrics.", e);
        }
        readAt = System.nanoTime();
    }

    /** Makes the next gauge read take fresh values from the store (tests). */
    @VisibleForTesting
    void expire() {
        synchronized (lock) {
            readAt = System.nanoTime() - REFRESH_NANOS;
        }
    }

    /**
     * Stops reading the store: called before the store is closed, so that no gauge read is inside
     * (or about to enter) a native call on a freed store.
     */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
        }
    }
}
