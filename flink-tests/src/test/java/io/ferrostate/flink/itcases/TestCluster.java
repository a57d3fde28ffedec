package io.ferrostate.flink.itcases;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.program.MiniClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecution;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FileUtils;

import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A MiniCluster (one TaskManager) and what the tests do with it: submit a job graph with restore
 * settings, trigger checkpoints and savepoints, cancel, read a snapshot's metadata.
 */
final class TestCluster implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    final MiniCluster miniCluster;
    final MiniClusterClient client;
    final Configuration configuration;

    TestCluster(Configuration configuration, int slots) throws Exception {
        this.configuration = configuration;
        miniCluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(configuration)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(slots)
                                .build());
        miniCluster.start();
        client = new MiniClusterClient(configuration, miniCluster);
    }

    /** A job configuration: checkpoints only when the test triggers them. */
    static Configuration manualCheckpoints(File checkpointDir) {
        Configuration conf = new Configuration();
        // Periodic checkpoints practically never (the first one comes after a random delay
        // up to the interval): the tests trigger every checkpoint themselves.
        conf.setString("execution.checkpointing.interval", "365 d");
        conf.setString("state.checkpoints.dir", checkpointDir.toURI().toString());
        conf.setString(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        conf.setString("restart-strategy.type", "none");
        return conf;
    }

    JobID submit(StreamExecutionEnvironment env, SavepointRestoreSettings restore)
            throws Exception {
        JobGraph graph = env.getStreamGraph().getJobGraph();
        graph.setSavepointRestoreSettings(restore);
        return client.submitJob(graph).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits until every task of the job runs (checkpoints can be triggered then). */
    void awaitRunning(JobID job) throws Exception {
        awaitRunning(job, 0);
    }

    /** Waits until every task runs in attempt {@code minAttempt} or later (after restarts). */
    void awaitRunning(JobID job, int minAttempt) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            AccessExecutionGraph graph = miniCluster.getExecutionGraph(job).get();
            if (graph.getState().isGloballyTerminalState()) {
                throw new AssertionError(
                        "job "
                                + job
                                + " ended as "
                                + graph.getState()
                                + ": "
                                + (graph.getFailureInfo() == null
                                        ? ""
                                        : graph.getFailureInfo().getExceptionAsString()));
            }
            boolean all = graph.getState() == JobStatus.RUNNING;
            StringBuilder states = new StringBuilder(graph.getState().toString());
            for (AccessExecutionJobVertex v : graph.getVerticesTopologically()) {
                for (AccessExecutionVertex t : v.getTaskVertices()) {
                    AccessExecution e = t.getCurrentExecutionAttempt();
                    all &=
                            e.getState() == ExecutionState.RUNNING
                                    && e.getAttemptNumber() >= minAttempt;
                    states.append(' ')
                            .append(t.getTaskNameWithSubtaskIndex())
                            .append('=')
                            .append(e.getState());
                }
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + job + " did not start running: " + states);
            }
            Thread.sleep(10);
        }
    }

    /** Triggers a checkpoint and waits for it; returns its external pointer (chk-N directory). */
    String checkpoint(JobID job) throws Exception {
        return miniCluster.triggerCheckpoint(job).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    String savepoint(JobID job, File dir, SavepointFormatType format) throws Exception {
        return miniCluster
                .triggerSavepoint(job, dir.toURI().toString(), false, format)
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    void cancel(JobID job) throws Exception {
        miniCluster.cancelJob(job).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        result(job);
    }

    JobResult result(JobID job) throws Exception {
        return miniCluster.requestJobResult(job).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Waits for the job to finish and fails with its error if it did not succeed. */
    void awaitSuccess(JobID job) throws Exception {
        JobResult r = result(job);
        if (!r.isSuccess()) {
            throw new AssertionError(
                    "job failed",
                    r.getSerializedThrowable().get().deserializeError(getClass().getClassLoader()));
        }
    }

    @Override
    public void close() throws Exception {
        client.close();
        miniCluster.close();
    }

    // ------------------------------------------------------------------------------------
    //  Snapshot metadata
    // ------------------------------------------------------------------------------------

    static CheckpointMetadata metadata(String pointer) throws IOException {
        Path dir = toPath(pointer);
        Path meta = Files.isDirectory(dir) ? dir.resolve("_metadata") : dir;
        try (InputStream in = Files.newInputStream(meta)) {
            return Checkpoints.loadCheckpointMetadata(
                    new DataInputStream(in), TestCluster.class.getClassLoader(), pointer);
        }
    }

    static Path toPath(String pointer) {
        return pointer.startsWith("file:")
                ? Paths.get(java.net.URI.create(pointer))
                : Paths.get(pointer);
    }

    /** Every keyed state handle of a snapshot. */
    static List<KeyedStateHandle> keyedHandles(CheckpointMetadata metadata) {
        List<KeyedStateHandle> out = new ArrayList<>();
        for (OperatorState op : metadata.getOperatorStates()) {
            for (OperatorSubtaskState s : op.getStates()) {
                out.addAll(s.getManagedKeyedState());
            }
        }
        return out;
    }

    /** Shared files of the snapshot's incremental handles: remote path to local file name. */
    static Map<Path, String> sharedFiles(CheckpointMetadata metadata) {
        Map<Path, String> out = new HashMap<>();
        for (KeyedStateHandle h : keyedHandles(metadata)) {
            if (h instanceof IncrementalRemoteKeyedStateHandle) {
                for (HandleAndLocalPath f :
                        ((IncrementalRemoteKeyedStateHandle) h).getSharedState()) {
                    Path p = filePath(f.getHandle());
                    if (p != null) {
                        out.put(p, f.getLocalPath());
                    }
                }
            }
        }
        return out;
    }

    /** Every file a snapshot's keyed handles point to (shared, private and meta data). */
    static List<Path> allFiles(CheckpointMetadata metadata) {
        List<Path> out = new ArrayList<>();
        for (KeyedStateHandle h : keyedHandles(metadata)) {
            if (h instanceof IncrementalRemoteKeyedStateHandle) {
                IncrementalRemoteKeyedStateHandle r = (IncrementalRemoteKeyedStateHandle) h;
                for (HandleAndLocalPath f : r.getSharedState()) {
                    addIfFile(out, f.getHandle());
                }
                for (HandleAndLocalPath f : r.getPrivateState()) {
                    addIfFile(out, f.getHandle());
                }
                addIfFile(out, r.getMetaDataStateHandle());
            } else if (h instanceof org.apache.flink.runtime.state.KeyGroupsStateHandle) {
                addIfFile(
                        out,
                        ((org.apache.flink.runtime.state.KeyGroupsStateHandle) h)
                                .getDelegateStateHandle());
            }
        }
        return out;
    }

    private static void addIfFile(List<Path> out, StreamStateHandle h) {
        Path p = filePath(h);
        if (p != null) {
            out.add(p);
        }
    }

    static Path filePath(StreamStateHandle h) {
        if (h instanceof FileStateHandle) {
            return toPath(((FileStateHandle) h).getFilePath().toUri().toString());
        }
        return null;
    }

    /**
     * Regular files under {@code dir}, recursively. Flink discards subsumed checkpoints in the
     * background, so a walk that meets a file vanishing under it starts over.
     */
    static List<Path> filesUnder(Path dir) throws IOException {
        for (int attempt = 0; ; attempt++) {
            if (!Files.exists(dir)) {
                return new ArrayList<>();
            }
            try (Stream<Path> s = Files.walk(dir)) {
                return s.filter(Files::isRegularFile).collect(Collectors.toList());
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof NoSuchFileException) || attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    /**
     * Deletes a test's directory that a cluster outliving the test may still be discarding
     * checkpoints in (the JobManager discards subsumed checkpoints in the background, also after
     * the job ended); JUnit's own {@code @TempDir} cleanup would race with it.
     */
    static void deleteEventually(Path dir) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                FileUtils.deleteDirectory(dir.toFile());
                return;
            } catch (IOException e) {
                if (attempt >= 50) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /** Waits until Flink has discarded the directory of a subsumed checkpoint. */
    static void awaitDiscarded(Path checkpointDir) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (Files.exists(checkpointDir)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("subsumed checkpoint not discarded: " + checkpointDir);
            }
            Thread.sleep(10);
        }
    }
}
