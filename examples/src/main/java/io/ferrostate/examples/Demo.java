package io.ferrostate.examples;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.CheckpointStatsCounts;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code make demo}: runs {@link SessionTrackerJob} on a local MiniCluster whose configuration
 * selects ferrostate ({@code state.backend.type}), with a checkpoint every second; prints the
 * summaries the job emitted, checks them against {@link Reference}, and prints what each completed
 * checkpoint cost (from the job's archived execution graph).
 *
 * <p>It runs in a child JVM that this one starts and watches (see {@link ChildJvm}; {@code
 * --in-process} runs it in this JVM instead). Options: those of {@link SessionTrackerParams#USAGE}
 * (the defaults here: 200000 events, 1000 users, 25000 events/s), plus {@code --show N} (summaries
 * to print, default 20), {@code --backend NAME} (default
 * io.ferrostate.flink.FerroStateBackendFactory; "hashmap" to compare) and {@code --incremental
 * true|false} (incremental checkpoints, default true).
 */
public final class Demo {
    public static final String FERROSTATE = "io.ferrostate.flink.FerroStateBackendFactory";

    private Demo() {}

    public static void main(String[] args) throws Exception {
        boolean isChild = args.length > 0 && args[0].equals(ChildJvm.STATUS_FILE);
        if (!isChild && !Arrays.asList(args).contains(IN_PROCESS)) {
            // See ChildJvm: the demo runs in a JVM that this one can stop if its exit hangs.
            System.exit(ChildJvm.run(Demo.class.getName(), Arrays.asList(args), 10, 600));
        }
        List<String> options = new ArrayList<>(Arrays.asList(ChildJvm.childArgs(args)));
        options.remove(IN_PROCESS);
        int status;
        try {
            status = run(options.toArray(new String[0]));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            status = 2;
        }
        ChildJvm.exit(args, status);
    }

    /** Runs the demo in this JVM instead of a child JVM. */
    static final String IN_PROCESS = "--in-process";

    static int run(String[] args) throws Exception {
        Args a = Args.parse(args);
        int show = a.getInt("show", 20);
        String backend = a.get("backend", FERROSTATE);
        boolean incremental = !a.get("incremental", "true").equals("false");
        SessionTrackerParams defaults = new SessionTrackerParams();
        defaults.events = 200_000;
        defaults.users = 1000;
        defaults.rate = 25_000;
        SessionTrackerParams p = SessionTrackerParams.fromArgs(defaults, a);
        if (p.output != null || p.unbounded) {
            throw new IllegalArgumentException(
                    "the demo collects a bounded run; use SessionTrackerJob for --output/--unbounded");
        }
        int parallelism = p.parallelism > 0 ? p.parallelism : 2;

        Path checkpointDir = Files.createTempDirectory("ferrostate-demo-checkpoints-");
        Configuration conf = new Configuration();
        // The only line that picks the backend; the job itself does not know about ferrostate.
        conf.setString("state.backend.type", backend);
        conf.setString("execution.checkpointing.interval", p.checkpointIntervalMs + " ms");
        conf.setString("execution.checkpointing.dir", checkpointDir.toUri().toString());
        conf.setString("execution.checkpointing.incremental", Boolean.toString(incremental));
        conf.setString("web.checkpoints.history", "10000");
        conf.setString("rest.bind-port", "0");
        conf.setString("taskmanager.numberOfTaskSlots", Integer.toString(parallelism));

        System.out.println("ferrostate demo: the session tracker on a local MiniCluster");
        System.out.printf(
                "  state.backend.type: %s%n  execution.checkpointing.interval: %d ms%n"
                        + "  execution.checkpointing.incremental: %s%n"
                        + "  execution.checkpointing.dir: %s%n",
                backend, p.checkpointIntervalMs, incremental, checkpointDir.toUri());
        System.out.printf(
                "  %,d events, %,d users, %,d features, %,.0f events/s, a summary every %d events"
                        + " of a user, parallelism %d%n%n",
                p.events, p.users, p.features, p.rate, p.summaryEvery, parallelism);

        MiniClusterConfiguration clusterConf =
                new MiniClusterConfiguration.Builder()
                        .setConfiguration(conf)
                        .setNumTaskManagers(1)
                        .setNumSlotsPerTaskManager(parallelism)
                        .build();
        List<SessionSummary> summaries = new ArrayList<>();
        long started = System.nanoTime();
        JobID jobId;
        ArchivedExecutionGraph graph;
        try (MiniCluster cluster = new MiniCluster(clusterConf)) {
            cluster.start();
            URI rest = cluster.getRestAddress().get();
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.createRemoteEnvironment(
                            rest.getHost(), rest.getPort(), conf);
            env.setParallelism(parallelism);
            CloseableIterator<SessionSummary> results =
                    SessionTrackerJob.summaries(env, p).collectAsync();
            JobClient job = env.executeAsync("ferrostate demo: session tracker");
            jobId = job.getJobID();
            System.out.printf("Summaries (the first %d as they arrive):%n", show);
            try (CloseableIterator<SessionSummary> it = results) {
                while (it.hasNext()) {
                    SessionSummary s = it.next();
                    summaries.add(s);
                    if (summaries.size() <= show) {
                        System.out.println("  " + s.toLine());
                    }
                }
            }
            job.getJobExecutionResult().get();
            graph = cluster.getArchivedExecutionGraph(jobId).get();
        } finally {
            deleteRecursively(checkpointDir);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        if (summaries.size() > show) {
            System.out.printf("  ... and %,d more%n", summaries.size() - show);
        }
        System.out.printf(
                "%nJob %s %s in %.1f s: %,d events, %,d summaries.%n",
                jobId, graph.getState(), seconds, p.events, summaries.size());
        System.out.println(
                "State backend (as the JobManager loaded it): "
                        + graph.getStateBackendName().orElse("?")
                        + ", checkpoint storage: "
                        + graph.getCheckpointStorageName().orElse("?"));

        List<String> expected = Reference.sessionTracker(p);
        List<String> actual =
                summaries.stream().map(SessionSummary::toLine).collect(Collectors.toList());
        expected.sort(null);
        actual.sort(null);
        boolean match = expected.equals(actual);
        if (match) {
            System.out.printf(
                    "All %,d summaries equal the plain-Java Reference's, line by line.%n",
                    actual.size());
        } else {
            List<String> missing = new ArrayList<>(expected);
            actual.forEach(missing::remove);
            List<String> extra = new ArrayList<>(actual);
            expected.forEach(extra::remove);
            System.out.printf(
                    "MISMATCH with the Reference: %d expected lines missing, %d unexpected.%n",
                    missing.size(), extra.size());
            missing.stream().limit(5).forEach(l -> System.out.println("  missing: " + l));
            extra.stream().limit(5).forEach(l -> System.out.println("  extra:   " + l));
        }

        printCheckpoints(graph.getCheckpointStatsSnapshot());
        return match ? 0 : 1;
    }

    static void printCheckpoints(CheckpointStatsSnapshot stats) {
        System.out.println();
        if (stats == null) {
            System.out.println("No checkpoint statistics (checkpointing off?).");
            return;
        }
        CheckpointStatsCounts counts = stats.getCounts();
        System.out.printf(
                "Checkpoints: %d completed, %d failed, %d in progress.%n",
                counts.getNumberOfCompletedCheckpoints(),
                counts.getNumberOfFailedCheckpoints(),
                counts.getNumberOfInProgressCheckpoints());
        List<AbstractCheckpointStats> history =
                new ArrayList<>(stats.getHistory().getCheckpoints());
        history.sort(Comparator.comparingLong(AbstractCheckpointStats::getCheckpointId));
        long failedListed =
                history.stream().filter(c -> c.getStatus() == CheckpointStatsStatus.FAILED).count();
        System.out.printf(
                "  %4s  %-11s %12s %14s %10s%n",
                "id", "status", "state size", "checkpointed", "duration");
        for (AbstractCheckpointStats c : history) {
            System.out.printf(
                    "  %4d  %-11s %12s %14s %7d ms%n",
                    c.getCheckpointId(),
                    c.getStatus(),
                    bytes(c.getStateSize()),
                    bytes(c.getCheckpointedSize()),
                    c.getEndToEndDuration());
        }
        System.out.println(
                "  (state size: the full state a restore would read; checkpointed: what this"
                        + " checkpoint uploaded)");
        if (counts.getNumberOfFailedCheckpoints() > failedListed) {
            System.out.printf(
                    "  (%d could not be triggered, e.g. while tasks were still starting or"
                            + " already finishing; those have no entry)%n",
                    counts.getNumberOfFailedCheckpoints() - failedListed);
        }
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(path);
            }
        }
    }
}
