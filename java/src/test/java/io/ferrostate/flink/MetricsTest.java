package io.ferrostate.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** The metrics a keyed backend registers, their values as state is used, and turning them off. */
class MetricsTest {

    private MockEnvironment env;

    @BeforeEach
    void setUp() {
        env = BackendTestUtils.env();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    @Test
    void everyGroupIsRegisteredAndFollowsTheStore() throws Exception {
        RecordingGroup metrics = new RecordingGroup("");
        FerroKeyedStateBackend<Integer> backend = create(new FerroStateBackend(true), metrics);
        try {
            assertThat(metrics.gauges.keySet())
                    .containsExactlyInAnyOrder(
                            "ferrostate.hot.entries",
                            "ferrostate.hot.bytes",
                            "ferrostate.hot.dirty-entries",
                            "ferrostate.hot.hits",
                            "ferrostate.hot.misses",
                            "ferrostate.hot.evictions",
                            "ferrostate.hot.write-backs",
                            "ferrostate.memory.budget-bytes",
                            "ferrostate.memory.used-bytes",
                            "ferrostate.memory.hot-bytes",
                            "ferrostate.memory.allocator-allocated-bytes",
                            "ferrostate.memory.allocator-resident-bytes",
                            "ferrostate.rocksdb.block-cache-usage",
                            "ferrostate.rocksdb.cur-size-all-mem-tables",
                            "ferrostate.rocksdb.estimate-pending-compaction-bytes",
                            "ferrostate.rocksdb.live-sst-files-size",
                            "ferrostate.rocksdb.estimate-num-keys",
                            "ferrostate.rocksdb.scans",
                            "ferrostate.checkpoint.last-uploaded-bytes");
            assertThat(metrics.value("ferrostate.hot.entries")).isZero();
            assertThat(metrics.value("ferrostate.memory.budget-bytes")).isPositive();

            ValueState<String> state =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ValueStateDescriptor<>("v", StringSerializer.INSTANCE));
            for (int k = 0; k < 10_000; k++) {
                backend.setCurrentKey(k);
                state.update("value-" + k);
            }
            for (int k = 0; k < 10_000; k++) {
                backend.setCurrentKey(k);
                assertThat(state.value()).isEqualTo("value-" + k);
            }
            backend.metrics().expire();
            assertThat(metrics.value("ferrostate.hot.entries")).isEqualTo(10_000);
            assertThat(metrics.value("ferrostate.hot.dirty-entries")).isEqualTo(10_000);
            assertThat(metrics.value("ferrostate.hot.hits")).isGreaterThanOrEqualTo(10_000);
            assertThat(metrics.value("ferrostate.hot.bytes")).isPositive();
            assertThat(metrics.value("ferrostate.memory.used-bytes"))
                    .isGreaterThanOrEqualTo(metrics.value("ferrostate.memory.hot-bytes"));
            // The library's allocator (jemalloc) holds at least the hot tier it counts, and
            // keeps physical memory for what it handed out.
            assertThat(metrics.value("ferrostate.memory.allocator-allocated-bytes"))
                    .isGreaterThanOrEqualTo(metrics.value("ferrostate.memory.hot-bytes"));
            assertThat(metrics.value("ferrostate.memory.allocator-resident-bytes"))
                    .isGreaterThanOrEqualTo(
                            metrics.value("ferrostate.memory.allocator-allocated-bytes"));
            assertThat(metrics.value("ferrostate.checkpoint.last-uploaded-bytes")).isZero();

            // A native checkpoint writes the hot tier back and uploads RocksDB's files.
            BackendTestUtils.snapshot(backend, 1);
            backend.metrics().expire();
            assertThat(metrics.value("ferrostate.hot.dirty-entries")).isZero();
            assertThat(metrics.value("ferrostate.hot.write-backs")).isPositive();
            assertThat(metrics.value("ferrostate.rocksdb.live-sst-files-size")).isPositive();
            assertThat(metrics.value("ferrostate.rocksdb.estimate-num-keys")).isPositive();
            assertThat(metrics.value("ferrostate.checkpoint.last-uploaded-bytes"))
                    .isGreaterThanOrEqualTo(
                            metrics.value("ferrostate.rocksdb.live-sst-files-size"));
        } finally {
            backend.dispose();
        }
        // Disposed: the gauges keep their last values and never touch the closed store.
        backend.metrics().expire();
        assertThat(metrics.value("ferrostate.hot.entries")).isEqualTo(10_000);
        assertThat(metrics.value("ferrostate.rocksdb.live-sst-files-size")).isPositive();
    }

    @Test
    void groupsCanBeTurnedOff() throws Exception {
        Configuration config = new Configuration();
        config.set(FerroStateOptions.METRICS_ROCKSDB, false);
        config.set(FerroStateOptions.METRICS_MEMORY, false);
        RecordingGroup metrics = new RecordingGroup("");
        FerroKeyedStateBackend<Integer> backend =
                create(
                        new FerroStateBackend(true).configure(config, getClass().getClassLoader()),
                        metrics);
        try {
            assertThat(metrics.gauges.keySet())
                    .allMatch(
                            n ->
                                    n.startsWith("ferrostate.hot.")
                                            || n.startsWith("ferrostate.checkpoint."))
                    .hasSize(8);
        } finally {
            backend.dispose();
        }

        config.set(FerroStateOptions.METRICS_HOT_TIER, false);
        config.set(FerroStateOptions.METRICS_CHECKPOINT, false);
        RecordingGroup none = new RecordingGroup("");
        backend =
                create(
                        new FerroStateBackend(true).configure(config, getClass().getClassLoader()),
                        none);
        try {
            assertThat(none.gauges).isEmpty();
            assertThat(backend.metrics()).isNull();
        } finally {
            backend.dispose();
        }
    }

    @SuppressWarnings("unchecked")
    private FerroKeyedStateBackend<Integer> create(StateBackend backend, MetricGroup group)
            throws Exception {
        return (FerroKeyedStateBackend<Integer>)
                backend.createKeyedStateBackend(
                        new KeyedStateBackendParametersImpl<>(
                                env,
                                new JobID(),
                                "metrics-op",
                                IntSerializer.INSTANCE,
                                128,
                                new KeyGroupRange(0, 127),
                                env.getTaskKvStateRegistry(),
                                TtlTimeProvider.DEFAULT,
                                group,
                                Collections.emptyList(),
                                new CloseableRegistry()));
    }

    /** A metric group that keeps the gauges registered under it and its subgroups by full name. */
    private static final class RecordingGroup extends UnregisteredMetricsGroup {
        private final String prefix;
        private final Map<String, Gauge<?>> gauges;

        RecordingGroup(String prefix) {
            this(prefix, new TreeMap<>());
        }

        private RecordingGroup(String prefix, Map<String, Gauge<?>> gauges) {
            this.prefix = prefix;
            this.gauges = gauges;
        }

        @Override
        public MetricGroup addGroup(String name) {
            return new RecordingGroup(prefix + name + ".", gauges);
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            gauges.put(prefix + name, gauge);
            return gauge;
        }

        long value(String name) {
            assertThat(gauges).containsKey(name);
            return ((Number) gauges.get(name).getValue()).longValue();
        }
    }
}
