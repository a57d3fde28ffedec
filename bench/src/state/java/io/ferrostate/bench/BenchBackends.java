package io.ferrostate.bench;

import io.ferrostate.flink.FerroKeyedStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FileUtils;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Collections;

/**
 * Builds the keyed state backends of the micro-benchmarks, the role Flink's {@code
 * StateBackendBenchmarkUtils} plays for flink-benchmarks, but through each backend's public {@link
 * StateBackend#createKeyedStateBackend} on a task environment, as a TaskManager builds it:
 *
 * <ul>
 *   <li>a {@link MockEnvironment} whose {@code MemoryManager} holds the regime's budget as managed
 *       memory, and a managed-memory fraction of 1.0 for the operator, so RocksDB (which uses the
 *       slot's managed memory by default: {@code state.backend.rocksdb.memory.managed: true}) and
 *       ferrostate ({@code state.backend.ferrostate.memory.managed: true}) get the same budget;
 *   <li>every backend configured from an otherwise empty Flink {@link Configuration}, i.e. its
 *       defaults; only the working directory is set;
 *   <li>{@code Long} keys, 2 key groups and key-group range [0, 1], as flink-benchmarks does.
 * </ul>
 */
public final class BenchBackends {
    static final int NUMBER_OF_KEY_GROUPS = 2;
    static final KeyGroupRange KEY_GROUP_RANGE = new KeyGroupRange(0, 1);

    /** One keyed backend, its task environment and its working directory. */
    public static final class Built<K> implements AutoCloseable {
        public final BackendType type;
        public final Regime regime;
        public final CheckpointableKeyedStateBackend<K> backend;
        public final File dir;
        private final MockEnvironment env;
        private final AutoCloseable metricGroup;

        Built(
                BackendType type,
                Regime regime,
                CheckpointableKeyedStateBackend<K> backend,
                File dir,
                MockEnvironment env,
                AutoCloseable metricGroup) {
            this.type = type;
            this.regime = regime;
            this.backend = backend;
            this.dir = dir;
            this.env = env;
            this.metricGroup = metricGroup;
        }

        /** The ferrostate backend, or null. */
        public FerroKeyedStateBackend<K> ferro() {
            return backend instanceof FerroKeyedStateBackend
                    ? (FerroKeyedStateBackend<K>) backend
                    : null;
        }

        /** Stops the metric reader first; a trial without metric reads fails after the cleanup. */
        @Override
        public void close() throws Exception {
            // Whatever stopping the metric reader throws (unread gauges, an interrupt), the
            // backend is disposed first and the failure rethrown after.
            Exception unread = null;
            try {
                metricGroup.close();
            } catch (Exception e) {
                unread = e;
            }
            try {
                backend.dispose();
                if (backend instanceof AutoCloseable) {
                    ((AutoCloseable) backend).close();
                }
            } finally {
                env.close();
                FileUtils.deleteDirectoryQuietly(dir);
            }
            if (unread != null) {
                throw unread;
            }
        }
    }

    /** The backends under comparison (FORST: Flink 2's ForSt, local, on the 2.3 line only). */
    public enum BackendType {
        HEAP,
        ROCKSDB,
        /**
         * EmbeddedRocksDB as Flink's documentation advises for state larger than memory: index and
         * filter blocks partitioned ({@link #TUNED_ROCKSDB_OPTION}), so a read that misses the
         * block cache loads one small index partition, not a whole index block; the same managed
         * memory as the others.
         */
        ROCKSDB_TUNED,
        FORST,
        FERROSTATE,
        /**
         * ferrostate with its metrics (all groups, the default) read every {@link
         * #METRICS_PERIOD_MS} by a reporter thread: one side of the metrics-overhead pair. The
         * suite's plain {@code FERROSTATE} registers them under a group nobody reads.
         */
        FERROSTATE_METRICS_ON,
        /** ferrostate with every metric group turned off: the other side of the pair. */
        FERROSTATE_METRICS_OFF
    }

    /** How often {@link BackendType#FERROSTATE_METRICS_ON}'s reporter thread reads the gauges. */
    static final long METRICS_PERIOD_MS = 100;

    /** The option {@link BackendType#ROCKSDB_TUNED} sets to true. */
    static final String TUNED_ROCKSDB_OPTION =
            "state.backend.rocksdb.memory.partitioned-index-filters";

    private BenchBackends() {}

    /** Where working directories go: {@code -Dferrostate.bench.workdir}, else java.io.tmpdir. */
    static File workRoot() throws IOException {
        String dir = System.getProperty("ferrostate.bench.workdir");
        File root = new File(dir != null ? dir : System.getProperty("java.io.tmpdir"));
        Files.createDirectories(root.toPath());
        return root;
    }

    public static Built<Long> create(BackendType type, Regime regime) throws Exception {
        return create(type, regime, LongSerializer.INSTANCE);
    }

    /** A backend for keys of {@code keySerializer} (SQL operators: {@code RowData} keys). */
    public static <K> Built<K> create(
            BackendType type, Regime regime, TypeSerializer<K> keySerializer) throws Exception {
        File dir =
                Files.createTempDirectory(
                                workRoot().toPath(), "bench-" + type.name().toLowerCase() + "-")
                        .toFile();
        MockEnvironment env =
                MockEnvironment.builder().setManagedMemorySize(regime.budgetBytes()).build();
        PollingMetricGroup polled =
                type == BackendType.FERROSTATE_METRICS_ON
                        ? new PollingMetricGroup(METRICS_PERIOD_MS)
                        : null;
        AutoCloseable metricGroup = polled != null ? polled : () -> {};
        try {
            // As a TaskManager gives every task (ForSt asks for it when it builds a backend).
            env.setCheckpointStorageAccess(
                    new JobManagerCheckpointStorage().createCheckpointStorage(new JobID()));
            StateBackend backend = stateBackend(type, dir);
            CheckpointableKeyedStateBackend<K> keyed =
                    backend.createKeyedStateBackend(
                            new KeyedStateBackendParametersImpl<>(
                                    env,
                                    new JobID(),
                                    "bench-op",
                                    keySerializer,
                                    NUMBER_OF_KEY_GROUPS,
                                    KEY_GROUP_RANGE,
                                    env.getTaskKvStateRegistry(),
                                    TtlTimeProvider.DEFAULT,
                                    polled != null ? polled : new UnregisteredMetricsGroup(),
                                    (name, value) -> {},
                                    Collections.emptyList(),
                                    new CloseableRegistry(),
                                    1.0));
            if (polled != null && polled.gauges() == 0) {
                throw new IllegalStateException("ferrostate registered no metrics to read");
            }
            return new Built<>(type, regime, keyed, dir, env, metricGroup);
        } catch (Throwable t) {
            // A backend that failed half-built may keep managed memory; closing the environment
            // then fails too, and must not hide why the backend failed.
            try {
                metricGroup.close();
                env.close();
            } catch (Throwable closing) {
                t.addSuppressed(closing);
            }
            FileUtils.deleteDirectoryQuietly(dir);
            throw t;
        }
    }

    /** The backend as a job configures it: defaults, plus a working directory. */
    static StateBackend stateBackend(BackendType type, File dir) {
        Configuration config = new Configuration();
        // Extra Flink options for experiments: -Dferrostate.bench.flink.<key>=<value>, e.g.
        // -Dferrostate.bench.flink.state.backend.rocksdb.memory.partitioned-index-filters=true
        String prefix = "ferrostate.bench.flink.";
        for (String k : System.getProperties().stringPropertyNames()) {
            if (k.startsWith(prefix)) {
                config.setString(k.substring(prefix.length()), System.getProperty(k));
            }
        }
        if (type == BackendType.ROCKSDB_TUNED) {
            config.setString(TUNED_ROCKSDB_OPTION, "true");
            type = BackendType.ROCKSDB;
        } else if (type == BackendType.FERROSTATE_METRICS_OFF) {
            for (String group : new String[] {"hot-tier", "memory", "rocksdb", "checkpoint"}) {
                config.setString("state.backend.ferrostate.metrics." + group, "false");
            }
            type = BackendType.FERROSTATE;
        } else if (type == BackendType.FERROSTATE_METRICS_ON) {
            type = BackendType.FERROSTATE;
        }
        return BenchFlink.stateBackend(type, dir, config, BenchBackends.class.getClassLoader());
    }

    /**
     * Full compaction where the backend has one (RocksDB, ferrostate), as flink-benchmarks' list
     * benchmark does for RocksDB after loading its data.
     */
    static void compact(
            KeyedStateBackend<Long> backend,
            org.apache.flink.api.common.state.StateDescriptor<?, ?> desc)
            throws Exception {
        if (backend instanceof FerroKeyedStateBackend) {
            ((FerroKeyedStateBackend<Long>) backend).compactState(desc);
        } else {
            BenchFlink.compact(backend, desc);
        }
    }

    /** Bytes of the files under {@code dir}. */
    static long diskBytes(File dir) {
        if (dir == null || !dir.exists()) {
            return 0;
        }
        try (java.util.stream.Stream<java.nio.file.Path> s = Files.walk(dir.toPath())) {
            return s.filter(Files::isRegularFile)
                    .mapToLong(
                            p -> {
                                try {
                                    return Files.size(p);
                                } catch (IOException e) {
                                    return 0;
                                }
                            })
                    .sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }
}
