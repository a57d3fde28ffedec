package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 5: with {@code state.backend.local-recovery: true}, every incremental checkpoint keeps a
 * copy of the store in the TaskManager's local state directory. After a task failure the job
 * restores from that copy: the test hides the remote checkpoint files before the failure, so a
 * restore that read them could not succeed. When the local copy is gone instead, the restore falls
 * back to the remote checkpoint. Both end with every key's state exact.
 */
class LocalRecoveryITCase {
    private static final int KEYS = 400;
    private static final long PHASE = 2_000;

    @TempDir Path tmp;

    @BeforeEach
    void reset() {
        PhasedJob.reset();
    }

    private Configuration configuration() {
        Configuration conf = TestCluster.manualCheckpoints(tmp.resolve("checkpoints").toFile());
        conf.setString("state.backend.local-recovery", "true");
        conf.setString("taskmanager.state.local.root-dirs", tmp.resolve("local").toString());
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "2");
        conf.setString("restart-strategy.fixed-delay.delay", "10 ms");
        return conf;
    }

    private StreamExecutionEnvironment env(Configuration conf) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.setMaxParallelism(128);
        env.setStateBackend(new FerroStateBackend(true));
        env.getCheckpointConfig()
                .setCheckpointStorage(
                        new FileSystemCheckpointStorage(tmp.resolve("checkpoints").toUri(), 0));
        PhasedJob.build(env, KEYS);
        return env;
    }

    /**
     * Snapshot directories ferrostate left in the local state root. The TaskManager discards local
     * copies of subsumed checkpoints in the background: a walk that meets one vanishing starts
     * over.
     */
    private List<Path> localCopies() throws Exception {
        Path root = tmp.resolve("local");
        for (int attempt = 0; ; attempt++) {
            if (!Files.exists(root)) {
                return new ArrayList<>();
            }
            try (Stream<Path> s = Files.walk(root)) {
                return s.filter(
                                p ->
                                        Files.isDirectory(p)
                                                && p.getFileName()
                                                        .toString()
                                                        .startsWith("ferrostate-"))
                        .collect(Collectors.toList());
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof NoSuchFileException) || attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    /** Deletes every local copy (some may be going away on their own meanwhile). */
    private void deleteLocalCopies() throws Exception {
        for (Path p : localCopies()) {
            TestCluster.deleteEventually(p);
        }
    }

    private void failAndRecover(TestCluster cluster, JobID job, int failures) throws Exception {
        PhasedJob.failOnce();
        cluster.awaitRunning(job, failures);
        assertThat(PhasedJob.FAILURES.get()).isEqualTo(failures);
    }

    private void finishAndCheck(TestCluster cluster, JobID job) throws Exception {
        PhasedJob.emit(PHASE, 2 * PHASE);
        PhasedJob.finish();
        cluster.awaitSuccess(job);
        assertThat(PhasedJob.RESULTS).hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(PhasedJob.RESULTS.get(key))
                    .as("state of key %d", key)
                    .isEqualTo(PhasedJob.expected(key, 2 * PHASE, KEYS));
        }
    }

    @Test
    void restoresFromTheLocalCopyWhenTheRemoteFilesAreUnreachable() throws Exception {
        Configuration conf = configuration();
        try (TestCluster cluster = new TestCluster(conf, 2)) {
            JobID job = cluster.submit(env(conf), SavepointRestoreSettings.none());
            cluster.awaitRunning(job);
            // Two checkpoints: the second references files of the first.
            PhasedJob.emit(0, PHASE / 2);
            PhasedJob.awaitProcessed(PHASE / 2, TestCluster.TIMEOUT);
            cluster.checkpoint(job);
            PhasedJob.emit(PHASE / 2, PHASE);
            PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
            String checkpoint = cluster.checkpoint(job);
            // Copies of the first checkpoint go once its subsumption reaches the TaskManagers.
            String chkDir =
                    "chk_" + TestCluster.toPath(checkpoint).getFileName().toString().substring(4);
            assertThat(localCopies())
                    .filteredOn(p -> p.getParent().getFileName().toString().equals(chkDir))
                    .as("local copies of the checkpoint, one per subtask")
                    .hasSize(2);
            Map<Path, String> restoredFiles =
                    TestCluster.sharedFiles(TestCluster.metadata(checkpoint));

            // Hide every remote file of the checkpoint but Flink's own _metadata, once Flink is
            // done discarding the first one.
            Path jobDir = TestCluster.toPath(checkpoint).getParent();
            TestCluster.awaitDiscarded(
                    jobDir.resolve("chk-" + (Long.parseLong(chkDir.substring(4)) - 1)));
            Path hidden = Files.createDirectories(tmp.resolve("hidden"));
            List<Path> moved = new ArrayList<>();
            for (Path f : TestCluster.filesUnder(jobDir)) {
                if (!f.getFileName().toString().equals("_metadata")) {
                    Path to = hidden.resolve(jobDir.relativize(f).toString().replace('/', '_'));
                    Files.move(f, to);
                    moved.add(f);
                }
            }
            assertThat(moved).as("remote files hidden").isNotEmpty();

            failAndRecover(cluster, job, 1);
            for (Path f : moved) {
                Files.move(hidden.resolve(jobDir.relativize(f).toString().replace('/', '_')), f);
            }
            // Restored from the local copy, the backend still knows which files the checkpoint
            // uploaded: the next checkpoint references them instead of uploading them again.
            String next = cluster.checkpoint(job);
            Map<Path, String> nextFiles = TestCluster.sharedFiles(TestCluster.metadata(next));
            assertThat(nextFiles.keySet())
                    .as("files of the next checkpoint reused from the one restored locally")
                    .containsAll(restoredFiles.keySet());

            // That checkpoint is complete remotely: without local copies the job restores from it.
            deleteLocalCopies();
            failAndRecover(cluster, job, 2);
            finishAndCheck(cluster, job);
        }
    }

    @Test
    void fallsBackToTheRemoteCheckpointWhenTheLocalCopyIsGone() throws Exception {
        Configuration conf = configuration();
        try (TestCluster cluster = new TestCluster(conf, 2)) {
            JobID job = cluster.submit(env(conf), SavepointRestoreSettings.none());
            cluster.awaitRunning(job);
            PhasedJob.emit(0, PHASE);
            PhasedJob.awaitProcessed(PHASE, TestCluster.TIMEOUT);
            cluster.checkpoint(job);
            assertThat(localCopies()).hasSize(2);
            deleteLocalCopies();
            failAndRecover(cluster, job, 1);
            finishAndCheck(cluster, job);
        }
    }
}
