package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 3: a savepoint of a job with all five state kinds, a TTL state and event-time timers moves
 * between ferrostate (incremental or full checkpoints) and Flink's HashMap and EmbeddedRocksDB
 * backends, both ways; ferrostate's native savepoints restore on ferrostate. The restored job
 * processes the rest of the input; the timers registered before the savepoint emit every key's
 * state at the end, which must equal the pure-Java expectation.
 */
class SavepointCompatibilityITCase {
    private static final int KEYS = 300;
    private static final long BEFORE = 1_500;
    private static final long AFTER = 3_000;

    enum Backend {
        FERRO_INCREMENTAL(() -> new FerroStateBackend(true), "io.ferrostate.flink.FerroValueState"),
        FERRO_FULL(() -> new FerroStateBackend(false), "io.ferrostate.flink.FerroValueState"),
        HASHMAP(HashMapStateBackend::new, "org.apache.flink.runtime.state.heap.HeapValueState"),
        ROCKSDB(
                () -> new EmbeddedRocksDBStateBackend(true),
                "org.apache.flink.contrib.streaming.state.RocksDBValueState");

        final Supplier<StateBackend> factory;
        final String valueStateClass;

        Backend(Supplier<StateBackend> factory, String valueStateClass) {
            this.factory = factory;
            this.valueStateClass = valueStateClass;
        }

        boolean ferro() {
            return this == FERRO_INCREMENTAL || this == FERRO_FULL;
        }
    }

    private static TestCluster cluster;
    private static File dir;
    private static final Map<Backend, String> CANONICAL = new EnumMap<>(Backend.class);
    private static final Map<Backend, String> NATIVE = new EnumMap<>(Backend.class);

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferro-savepoints").toFile();
        cluster = new TestCluster(new Configuration(), 2);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
        org.apache.flink.util.FileUtils.deleteDirectory(dir);
    }

    @BeforeEach
    void reset() {
        PhasedJob.reset();
    }

    /** Every pair with ferrostate on at least one side. */
    static Stream<Arguments> canonicalPairs() {
        List<Arguments> out = new ArrayList<>();
        for (Backend from : Backend.values()) {
            for (Backend to : Backend.values()) {
                if (from.ferro() || to.ferro()) {
                    out.add(Arguments.of(from, to));
                }
            }
        }
        return out.stream();
    }

    static Stream<Arguments> nativePairs() {
        return Stream.of(
                Arguments.of(Backend.FERRO_INCREMENTAL, Backend.FERRO_INCREMENTAL),
                Arguments.of(Backend.FERRO_INCREMENTAL, Backend.FERRO_FULL),
                Arguments.of(Backend.FERRO_FULL, Backend.FERRO_INCREMENTAL),
                Arguments.of(Backend.FERRO_FULL, Backend.FERRO_FULL));
    }

    @ParameterizedTest(name = "canonical savepoint {0} -> {1}")
    @MethodSource("canonicalPairs")
    void canonicalSavepointMovesBetweenBackends(Backend from, Backend to) throws Exception {
        String savepoint =
                CANONICAL.computeIfAbsent(from, b -> take(b, SavepointFormatType.CANONICAL));
        restoreAndCheck(savepoint, to);
    }

    @ParameterizedTest(name = "native savepoint {0} -> {1}")
    @MethodSource("nativePairs")
    void nativeSavepointRestoresOnFerrostate(Backend from, Backend to) throws Exception {
        String savepoint = NATIVE.computeIfAbsent(from, b -> take(b, SavepointFormatType.NATIVE));
        restoreAndCheck(savepoint, to);
    }

    private static StreamExecutionEnvironment env(Backend backend) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        TestCluster.manualCheckpoints(new File(dir, "checkpoints")));
        env.setParallelism(2);
        env.setMaxParallelism(128);
        env.setStateBackend(backend.factory.get());
        PhasedJob.build(env, KEYS);
        return env;
    }

    /** Runs the first part of the input on {@code backend} and takes a savepoint. */
    private static String take(Backend backend, SavepointFormatType format) {
        try {
            PhasedJob.reset();
            JobID job = cluster.submit(env(backend), SavepointRestoreSettings.none());
            cluster.awaitRunning(job);
            PhasedJob.emit(0, BEFORE);
            PhasedJob.awaitProcessed(BEFORE, TestCluster.TIMEOUT);
            String path = cluster.savepoint(job, new File(dir, "savepoints"), format);
            cluster.cancel(job);
            assertThat(PhasedJob.STATE_CLASSES).containsExactly(backend.valueStateClass);
            assertThat(PhasedJob.RESULTS).as("no timer fired before the savepoint").isEmpty();
            PhasedJob.reset();
            return path;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static void restoreAndCheck(String savepoint, Backend to) throws Exception {
        JobID job =
                cluster.submit(
                        env(to),
                        SavepointRestoreSettings.forPath(savepoint, false, RestoreMode.NO_CLAIM));
        cluster.awaitRunning(job);
        PhasedJob.emit(BEFORE, AFTER);
        PhasedJob.finish();
        cluster.awaitSuccess(job);
        assertThat(PhasedJob.STATE_CLASSES).containsExactly(to.valueStateClass);
        assertThat(PhasedJob.RESULTS).as("keys whose restored timer fired").hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(PhasedJob.RESULTS.get(key))
                    .as("state of key %d", key)
                    .isEqualTo(PhasedJob.expected(key, AFTER, KEYS));
        }
    }
}
