package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 6: a file of the latest retained incremental checkpoint is truncated, has a flipped byte or
 * is gone. Restoring from that checkpoint fails with an error that names the file and says what is
 * wrong (checksum mismatch, missing); the job then restores from the earlier retained checkpoint
 * and ends with every key's state exact. Nothing crashes the JVM.
 */
class DamagedCheckpointITCase {
    private static final int KEYS = 400;
    private static final long PHASE = 2_000;

    private static TestCluster cluster;

    /** Removed by {@link #cleanUp()}: see {@link TestCluster#deleteEventually}. */
    @TempDir(cleanup = CleanupMode.NEVER)
    Path tmp;

    @AfterEach
    void cleanUp() throws Exception {
        TestCluster.deleteEventually(tmp);
    }

    @BeforeAll
    static void startCluster() throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.checkpoints.num-retained", "3");
        cluster = new TestCluster(conf, 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        cluster.close();
    }

    @BeforeEach
    void reset() {
        PhasedJob.reset();
    }

    private StreamExecutionEnvironment env(File checkpoints) {
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

    /** Two retained checkpoints; returns {earlier, latest}. */
    private String[] twoCheckpoints(File checkpoints) throws Exception {
        JobID job = cluster.submit(env(checkpoints), SavepointRestoreSettings.none());
        cluster.awaitRunning(job);
        PhasedJob.emit(0, PHASE);
        PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
        String first = cluster.checkpoint(job);
        PhasedJob.emit(PHASE, 2 * PHASE);
        PhasedJob.awaitProcessed(2 * PHASE, TestCluster.TIMEOUT);
        String second = cluster.checkpoint(job);
        cluster.cancel(job);
        return new String[] {first, second};
    }

    /** The largest SST file the latest checkpoint uploaded itself (the earlier one lacks it). */
    private static Map.Entry<Path, String> newSstOf(String earlier, String latest)
            throws Exception {
        Map<Path, String> before = TestCluster.sharedFiles(TestCluster.metadata(earlier));
        Map<Path, String> after = TestCluster.sharedFiles(TestCluster.metadata(latest));
        return after.entrySet().stream()
                .filter(e -> !before.containsKey(e.getKey()))
                .max(Comparator.comparingLong(e -> e.getKey().toFile().length()))
                .orElseThrow(
                        () ->
                                new AssertionError(
                                        "the latest checkpoint uploaded no SST file of its own"));
    }

    /** Restores from {@code pointer} and returns the error the job failed with. */
    private Throwable restoreFails(File checkpoints, String pointer) throws Exception {
        PhasedJob.reset();
        JobID job =
                cluster.submit(
                        env(checkpoints),
                        SavepointRestoreSettings.forPath(pointer, false, RestoreMode.NO_CLAIM));
        JobResult result;
        try {
            result = cluster.miniCluster.requestJobResult(job).get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            cluster.cancel(job);
            throw new AssertionError("the job restored from a damaged checkpoint and ran", e);
        }
        assertThat(result.isSuccess()).as("restore from a damaged checkpoint must fail").isFalse();
        assertThat(PhasedJob.PROCESSED.get()).isZero();
        return result.getSerializedThrowable().get().deserializeError(getClass().getClassLoader());
    }

    /** Restores from {@code pointer}, runs the rest of the input and checks every key. */
    private void restoresExactly(File checkpoints, String pointer) throws Exception {
        PhasedJob.reset();
        JobID job =
                cluster.submit(
                        env(checkpoints),
                        SavepointRestoreSettings.forPath(pointer, false, RestoreMode.NO_CLAIM));
        cluster.awaitRunning(job);
        PhasedJob.emit(PHASE, 3 * PHASE);
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
    void truncatedFileFailsTheRestoreNamingItAndTheEarlierCheckpointRestores() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String[] cps = twoCheckpoints(checkpoints);
        Map.Entry<Path, String> victim = newSstOf(cps[0], cps[1]);
        try (RandomAccessFile f = new RandomAccessFile(victim.getKey().toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        Throwable error = restoreFails(checkpoints, cps[1]);
        assertThat(ExceptionUtils.stringifyException(error))
                .contains(victim.getValue())
                .contains(victim.getKey().getFileName().toString())
                .containsIgnoringCase("checksum mismatch");
        restoresExactly(checkpoints, cps[0]);
    }

    @Test
    void flippedByteFailsTheRestoreNamingItAndTheEarlierCheckpointRestores() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String[] cps = twoCheckpoints(checkpoints);
        Map.Entry<Path, String> victim = newSstOf(cps[0], cps[1]);
        flipByte(victim.getKey(), victim.getKey().toFile().length() / 2);
        Throwable error = restoreFails(checkpoints, cps[1]);
        assertThat(ExceptionUtils.stringifyException(error))
                .contains(victim.getValue())
                .contains(victim.getKey().getFileName().toString())
                .containsIgnoringCase("checksum mismatch");
        restoresExactly(checkpoints, cps[0]);
    }

    @Test
    void missingFileFailsTheRestoreNamingItAndTheEarlierCheckpointRestores() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String[] cps = twoCheckpoints(checkpoints);
        Map.Entry<Path, String> victim = newSstOf(cps[0], cps[1]);
        Files.delete(victim.getKey());
        Throwable error = restoreFails(checkpoints, cps[1]);
        assertThat(ExceptionUtils.stringifyException(error))
                .contains(victim.getValue())
                .contains(victim.getKey().getFileName().toString())
                .containsPattern("(?i)missing|no such file");
        restoresExactly(checkpoints, cps[0]);
    }

    @Test
    void flippedByteInTheMetaDataFailsTheRestore() throws Exception {
        File checkpoints = tmp.resolve("checkpoints").toFile();
        String[] cps = twoCheckpoints(checkpoints);
        // The meta data stream (states, serializers, timers) of one subtask of the latest
        // checkpoint; flip a byte near its end, among the timers.
        Set<Path> metas = new HashSet<>();
        for (KeyedStateHandle h : TestCluster.keyedHandles(TestCluster.metadata(cps[1]))) {
            metas.add(
                    TestCluster.filePath(
                            ((IncrementalRemoteKeyedStateHandle) h).getMetaDataStateHandle()));
        }
        Path meta = metas.iterator().next();
        flipByte(meta, meta.toFile().length() - 20);
        Throwable error = restoreFails(checkpoints, cps[1]);
        assertThat(ExceptionUtils.stringifyException(error))
                .contains(meta.getFileName().toString())
                .containsIgnoringCase("checksum mismatch");
        restoresExactly(checkpoints, cps[0]);
    }

    private static void flipByte(Path file, long position) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(position);
            int b = f.read();
            f.seek(position);
            f.write(b ^ 0x10);
        }
    }
}
