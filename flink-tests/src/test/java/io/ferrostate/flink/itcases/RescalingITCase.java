package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 4: a job restored at parallelism 2 -> 3 -> 1 (max parallelism 128), once from retained
 * incremental checkpoints and once from savepoints (canonical and native), keeps every key's state,
 * timers included: at the end every key's output equals the pure-Java expectation.
 */
class RescalingITCase {
    private static final int KEYS = 500;
    private static final long PHASE = 2_000;
    private static final int[] PARALLELISM = {2, 3, 1};

    private static TestCluster cluster;

    /** Removed by {@link #cleanUp()}: see {@link TestCluster#deleteEventually}. */
    @TempDir(cleanup = CleanupMode.NEVER)
    Path tmp;

    @AfterEach
    void cleanUp() throws Exception {
        TestCluster.deleteEventually(tmp);
    }

    @BeforeAll
    static void start() throws Exception {
        cluster = new TestCluster(new Configuration(), 3);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    @BeforeEach
    void reset() {
        PhasedJob.reset();
    }

    private StreamExecutionEnvironment env(File checkpoints, int parallelism) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        TestCluster.manualCheckpoints(checkpoints));
        env.setParallelism(parallelism);
        env.setMaxParallelism(128);
        env.setStateBackend(new FerroStateBackend(true));
        env.getCheckpointConfig()
                .setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toURI()));
        PhasedJob.build(env, KEYS);
        return env;
    }

    interface Snapshotter {
        String take(JobID job) throws Exception;
    }

    private void rescaleChain(Snapshotter snapshotter) throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String snapshot = null;
        for (int stage = 0; stage < PARALLELISM.length; stage++) {
            PhasedJob.reset();
            JobID job =
                    cluster.submit(
                            env(checkpoints, PARALLELISM[stage]),
                            snapshot == null
                                    ? SavepointRestoreSettings.none()
                                    : SavepointRestoreSettings.forPath(
                                            snapshot, false, RestoreMode.NO_CLAIM));
            cluster.awaitRunning(job);
            PhasedJob.emit(stage * PHASE, (stage + 1) * PHASE);
            if (stage < PARALLELISM.length - 1) {
                PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
                snapshot = snapshotter.take(job);
                cluster.cancel(job);
                assertThat(PhasedJob.RESULTS).isEmpty();
            } else {
                PhasedJob.finish();
                cluster.awaitSuccess(job);
            }
        }
        long events = PARALLELISM.length * PHASE;
        assertThat(PhasedJob.RESULTS).hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(PhasedJob.RESULTS.get(key))
                    .as("state of key %d after 2 -> 3 -> 1", key)
                    .isEqualTo(PhasedJob.expected(key, events, KEYS));
        }
    }

    @Test
    void fromRetainedIncrementalCheckpoints() throws Exception {
        rescaleChain(cluster::checkpoint);
    }

    @Test
    void fromCanonicalSavepoints() throws Exception {
        File savepoints = tmp.resolve("savepoints").toFile();
        rescaleChain(job -> cluster.savepoint(job, savepoints, SavepointFormatType.CANONICAL));
    }

    @Test
    void fromNativeSavepoints() throws Exception {
        File savepoints = tmp.resolve("savepoints").toFile();
        rescaleChain(job -> cluster.savepoint(job, savepoints, SavepointFormatType.NATIVE));
    }
}
