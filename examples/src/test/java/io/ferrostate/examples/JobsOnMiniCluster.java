package io.ferrostate.examples;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.CheckpointStatsCounts;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.util.TestStreamEnvironment;

import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;

/**
 * Runs one example job, through its own {@code run(args)}, on a MiniCluster whose configuration
 * holds {@code state.backend.type} and a checkpoint directory, nothing else; writes what the
 * JobManager saw (final state, backend name, checkpoint counts) to a properties file.
 *
 * <p>Arguments: {@code [--status-file F] session|windowed BACKEND STATS_FILE CHECKPOINT_DIR
 * job-args...}. {@link ExamplesOnFerroStateITCase} starts it in a child JVM ({@link ChildJvm}).
 */
public final class JobsOnMiniCluster {
    private JobsOnMiniCluster() {}

    public static void main(String[] rawArgs) throws Exception {
        String[] args = ChildJvm.childArgs(rawArgs);
        int status = 1;
        try {
            run(args);
            status = 0;
        } catch (Throwable t) {
            t.printStackTrace();
        }
        ChildJvm.exit(rawArgs, status);
    }

    static void run(String[] args) throws Exception {
        String job = args[0];
        String backend = args[1];
        Path statsFile = Path.of(args[2]);
        String checkpointDir = args[3];
        String[] jobArgs = Arrays.copyOfRange(args, 4, args.length);

        Configuration conf = new Configuration();
        conf.setString("state.backend.type", backend);
        conf.setString("execution.checkpointing.dir", checkpointDir);
        conf.setString("web.checkpoints.history", "1000");
        conf.setString("rest.bind-port", "0");
        try (MiniCluster cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(conf)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(2)
                                .build())) {
            cluster.start();
            TestStreamEnvironment.setAsContext(cluster, 2);
            JobExecutionResult result;
            try {
                result =
                        job.equals("session")
                                ? SessionTrackerJob.run(jobArgs)
                                : WindowedJob.run(jobArgs);
            } finally {
                TestStreamEnvironment.unsetAsContext();
            }
            ArchivedExecutionGraph graph =
                    cluster.getArchivedExecutionGraph(result.getJobID()).get();
            CheckpointStatsCounts counts = graph.getCheckpointStatsSnapshot().getCounts();
            Properties stats = new Properties();
            stats.setProperty("state", graph.getState().name());
            stats.setProperty("backend", graph.getStateBackendName().orElse(""));
            stats.setProperty(
                    "completedCheckpoints",
                    Long.toString(counts.getNumberOfCompletedCheckpoints()));
            stats.setProperty(
                    "failedCheckpoints", Long.toString(counts.getNumberOfFailedCheckpoints()));
            try (Writer w = Files.newBufferedWriter(statsFile, StandardCharsets.UTF_8)) {
                stats.store(w, null);
            }
        }
    }
}
