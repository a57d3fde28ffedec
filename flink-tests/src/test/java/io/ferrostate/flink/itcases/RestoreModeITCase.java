package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 3, restore modes, as Flink documents them (ops/state/savepoints, "Restore mode"):
 *
 * <ul>
 *   <li>NO_CLAIM: Flink never deletes the snapshot and forces the first checkpoint after the
 *       restore to be a full one, so the new job depends on none of the snapshot's files.
 *   <li>CLAIM: Flink owns the snapshot like one of its checkpoints: later incremental checkpoints
 *       may reuse its files, and it is deleted once subsumed.
 * </ul>
 *
 * Both start from a retained incremental ferrostate checkpoint and must end with every key's state
 * exact.
 */
class RestoreModeITCase {
    private static final int KEYS = 300;
    private static final long PHASE = 1_500;

    private static TestCluster cluster;

    /** Removed by {@link #cleanUp()}: see {@link TestCluster#deleteEventually}. */
    @TempDir(cleanup = CleanupMode.NEVER)
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.checkpoints.num-retained", "1");
        cluster = new TestCluster(conf, 2);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    @AfterEach
    void cleanUp() throws Exception {
        TestCluster.deleteEventually(tmp);
    }

    @BeforeEach
    void reset() {
        PhasedJob.reset();
    }

    private static StreamExecutionEnvironment env(File checkpoints) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        TestCluster.manualCheckpoints(checkpoints));
        env.setParallelism(2);
        env.setMaxParallelism(128);
        env.setStateBackend(new FerroStateBackend(true));
        env.getCheckpointConfig()
                .setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toURI(), 0));
        PhasedJob.build(env, KEYS);
        return env;
    }

    /** A retained incremental checkpoint after the first phase of the input. */
    private String retainedCheckpoint(File checkpoints) throws Exception {
        JobID job = cluster.submit(env(checkpoints), SavepointRestoreSettings.none());
        cluster.awaitRunning(job);
        PhasedJob.emit(0, PHASE);
        PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
        String checkpoint = cluster.checkpoint(job);
        cluster.cancel(job);
        PhasedJob.reset();
        return checkpoint;
    }

    private void finishAndCheck(JobID job) throws Exception {
        PhasedJob.emit(2 * PHASE, 3 * PHASE);
        PhasedJob.finish();
        cluster.awaitSuccess(job);
        assertThat(PhasedJob.RESULTS).hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(PhasedJob.RESULTS.get(key))
                    .as("state of key %d", key)
                    .isEqualTo(PhasedJob.expected(key, 3 * PHASE, KEYS));
        }
    }

    @Test
    void noClaimForcesAFullCheckpointAndNeverTouchesTheSnapshot() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String restored = retainedCheckpoint(checkpoints);
        Path restoredJobDir = TestCluster.toPath(restored).getParent();
        List<Path> restoredFiles = TestCluster.allFiles(TestCluster.metadata(restored));
        Set<Path> before = new HashSet<>(TestCluster.filesUnder(restoredJobDir));

        JobID job =
                cluster.submit(
                        env(checkpoints),
                        SavepointRestoreSettings.forPath(restored, false, RestoreMode.NO_CLAIM));
        cluster.awaitRunning(job);
        PhasedJob.emit(PHASE, 2 * PHASE);
        PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
        String first = cluster.checkpoint(job);
        List<Path> firstFiles = TestCluster.allFiles(TestCluster.metadata(first));
        assertThat(firstFiles).isNotEmpty();
        assertThat(firstFiles)
                .as(
                        "the first checkpoint after a no-claim restore references nothing of the snapshot")
                .noneMatch(p -> p.startsWith(restoredJobDir));
        // A second checkpoint subsumes the first; the snapshot stays as it was.
        String second = cluster.checkpoint(job);
        assertThat(TestCluster.allFiles(TestCluster.metadata(second)))
                .noneMatch(p -> p.startsWith(restoredJobDir));
        finishAndCheck(job);
        assertThat(new HashSet<>(TestCluster.filesUnder(restoredJobDir)))
                .as("files of the no-claim snapshot")
                .isEqualTo(before);
        assertThat(restoredFiles).allMatch(Files::exists);
    }

    @Test
    void claimReusesTheSnapshotsFilesAndDeletesItOnceSubsumed() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String restored = retainedCheckpoint(checkpoints);
        Path restoredJobDir = TestCluster.toPath(restored).getParent();
        List<Path> restoredFiles = TestCluster.allFiles(TestCluster.metadata(restored));

        JobID job =
                cluster.submit(
                        env(checkpoints),
                        SavepointRestoreSettings.forPath(restored, false, RestoreMode.CLAIM));
        cluster.awaitRunning(job);
        PhasedJob.emit(PHASE, 2 * PHASE);
        PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
        String first = cluster.checkpoint(job);
        Set<Path> firstFiles = new HashSet<>(TestCluster.allFiles(TestCluster.metadata(first)));
        assertThat(firstFiles)
                .as("the first checkpoint after a claim restore reuses the snapshot's files")
                .anyMatch(p -> p.startsWith(restoredJobDir));

        // The claimed checkpoint is subsumed by the first one (one retained): Flink deletes it,
        // except the shared files the new checkpoint still references.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.exists(TestCluster.toPath(restored))
                || restoredFiles.stream()
                        .anyMatch(p -> !firstFiles.contains(p) && Files.exists(p))) {
            if (System.nanoTime() > deadline) {
                assertThat(TestCluster.toPath(restored))
                        .as("the claimed checkpoint's directory")
                        .doesNotExist();
                assertThat(restoredFiles)
                        .as("files of the claimed checkpoint the new one does not reference")
                        .noneMatch(p -> !firstFiles.contains(p) && Files.exists(p));
            }
            Thread.sleep(50);
        }
        assertThat(firstFiles).allMatch(Files::exists);
        finishAndCheck(job);
    }
}
