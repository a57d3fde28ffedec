package io.ferrostate.cluster;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The example jobs on a real Flink 1.20.5 cluster (Flink's released binaries, one JobManager and
 * two TaskManagers as separate JVMs started by Flink's scripts, jobs submitted with {@code
 * bin/flink run}), configured as a user would: ferrostate's jar in {@code lib/}, {@code
 * state.backend: io.ferrostate.flink.FerroStateBackendFactory}, a checkpoint directory, incremental
 * checkpoints. The session tracker (value state with TTL, list and map state) and the windowed job
 * (tumbling windows: aggregating state; session windows: merging namespaces and their timers) run
 * to the end with checkpoints, and their exactly-once file output equals {@code Reference}'s,
 * computed outside Flink.
 */
@ExtendWith(FerroCluster.Resolver.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealClusterSmokeITCase {

    private static FerroCluster env;
    private static FlinkCluster cluster;
    private static final List<String> jobs = new ArrayList<>();

    @BeforeAll
    static void cluster(FerroCluster shared) {
        env = shared;
        cluster = shared.cluster();
    }

    @Test
    @Order(1)
    void sessionTrackerJobWithCheckpointsMatchesReference() throws Exception {
        // 200k events at 40k/s: ~5 s, checkpoints every 500 ms, plus the final one.
        ExampleJob job =
                ExampleJob.session(
                        env.scratch("session-out"),
                        "--events",
                        "200000",
                        "--users",
                        "2000",
                        "--rate",
                        "40000",
                        "--checkpoint-interval",
                        "500",
                        "--parallelism",
                        "4");
        runToTheEnd(job);
    }

    @Test
    @Order(2)
    void windowedJobWithCheckpointsMatchesReference() throws Exception {
        ExampleJob job =
                ExampleJob.windowed(
                        env.scratch("windowed-out"),
                        "--events",
                        "300000",
                        "--rate",
                        "50000",
                        "--checkpoint-interval",
                        "500",
                        "--parallelism",
                        "4");
        List<String> expected = job.expected();
        assertThat(expected)
                .anyMatch(l -> l.startsWith("tumble "))
                .anyMatch(l -> l.startsWith("session "));
        runToTheEnd(job);
    }

    @Test
    @Order(3)
    void theClusterIsConfiguredAsUsersDoIt() throws Exception {
        Path configFile = cluster.configFile();
        List<String> conf = Files.readAllLines(configFile, StandardCharsets.UTF_8);
        assertThat(conf)
                .contains(
                        cluster.stateBackendKey()
                                + ": io.ferrostate.flink.FerroStateBackendFactory")
                .contains("execution.checkpointing.incremental: true")
                .contains("state.checkpoints.dir: file://" + cluster.checkpointDir());
        // The configuration came from our file (Flink 1.20: the legacy flink-conf.yaml; Flink 2:
        // config.yaml, the only one it reads), and the JobManager chose ferrostate through its
        // factory for every job.
        String parser = cluster.flinkMajorVersion() >= 2 ? "standard" : "legacy";
        assertThat(
                        FlinkCluster.grep(
                                cluster.jobManagerLogs(),
                                "Using "
                                        + parser
                                        + " YAML parser to load flink configuration file from "
                                        + configFile))
                .isNotEmpty();
        assertThat(
                        FlinkCluster.grep(
                                cluster.jobManagerLogs(),
                                "State backend loader loads the state backend as FerroStateBackend"))
                .hasSizeGreaterThanOrEqualTo(jobs.size());
        for (String job : jobs) {
            assertThat(
                            cluster.rest("jobs/" + job + "/checkpoints/config")
                                    .path("state_backend")
                                    .asText())
                    .isEqualTo("ferrostate");
        }
        // Every TaskManager that ran the jobs (all slots were used) loaded the native library and
        // gave ferrostate managed memory.
        for (int tm : cluster.liveTaskManagers().keySet()) {
            Path log = cluster.taskManagerLog(tm);
            assertThat(FlinkCluster.grep(List.of(log), "Loaded ferrostate native library"))
                    .as("native library loaded in %s", log)
                    .isNotEmpty();
            assertThat(FlinkCluster.grep(List.of(log), "bytes of managed memory"))
                    .as("managed memory in %s", log)
                    .anyMatch(l -> l.contains("ferrostate uses"));
        }
    }

    @Test
    @Order(4)
    void backendMetricsAreReadThroughTheRestApiWhileTheJobRuns() throws Exception {
        // A slow session job (about 80 s of events), read while it runs, then cancelled.
        ExampleJob job =
                ExampleJob.session(
                        env.scratch("metrics-out"),
                        "--events",
                        "400000",
                        "--users",
                        "2000",
                        "--rate",
                        "5000",
                        "--checkpoint-interval",
                        "1000",
                        "--parallelism",
                        "2");
        String id = job.submit(cluster, env.examplesJar(), "-p", "2");
        try {
            cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
            cluster.waitForCheckpointAfter(id, 0, Duration.ofMinutes(2));
            String[] wanted = {
                "ferrostate.hot.entries",
                "ferrostate.hot.hits",
                "ferrostate.memory.budget-bytes",
                "ferrostate.memory.used-bytes",
                "ferrostate.rocksdb.block-cache-usage",
                "ferrostate.checkpoint.last-uploaded-bytes"
            };
            // The JobManager fetches TaskManager metrics every 10 s
            // (metrics.fetcher.update-interval).
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            java.util.Map<String, Long> seen = new java.util.TreeMap<>();
            while (System.nanoTime() < deadline && !allPositive(seen, wanted)) {
                seen = backendMetrics(id, wanted);
                Thread.sleep(2_000);
            }
            System.out.printf("[metrics] %s: %s%n", id, seen);
            assertThat(seen)
                    .as("ferrostate's metrics of job %s through REST", id)
                    .containsKeys(wanted);
            for (String name : wanted) {
                assertThat(seen.get(name)).as(name).isPositive();
            }
        } finally {
            cluster.cancel(id);
            cluster.waitForJob(id, Duration.ofMinutes(1));
        }
    }

    private static boolean allPositive(java.util.Map<String, Long> seen, String[] names) {
        for (String n : names) {
            if (seen.getOrDefault(n, 0L) <= 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * ferrostate's metrics of a job through the REST API: per metric name (without the subtask and
     * operator scope), the largest value over the job's vertices and subtasks.
     */
    private static java.util.Map<String, Long> backendMetrics(String jobId, String[] names) {
        java.util.Map<String, Long> values = new java.util.TreeMap<>();
        for (JsonNode vertex : cluster.rest("jobs/" + jobId).path("vertices")) {
            String base = "jobs/" + jobId + "/vertices/" + vertex.path("id").asText() + "/metrics";
            List<String> ids = new ArrayList<>();
            for (JsonNode m : cluster.rest(base)) {
                String metric = m.path("id").asText();
                for (String n : names) {
                    if (metric.endsWith("." + n)) {
                        ids.add(metric);
                    }
                }
            }
            if (ids.isEmpty()) {
                continue;
            }
            // Metric ids hold operator names (spaces and all): encode them for the query.
            String get = java.net.URLEncoder.encode(String.join(",", ids), StandardCharsets.UTF_8);
            for (JsonNode m : cluster.rest(base + "?get=" + get)) {
                String metric = m.path("id").asText();
                for (String n : names) {
                    if (metric.endsWith("." + n)) {
                        values.merge(n, m.path("value").asLong(), Math::max);
                    }
                }
            }
        }
        return values;
    }

    /** Submits, waits for FINISHED, checks checkpoints (incremental ones) and the output. */
    private static void runToTheEnd(ExampleJob job) throws Exception {
        long t0 = System.nanoTime();
        String id = job.submit(cluster, env.examplesJar(), "-p", "4");
        jobs.add(id);
        String state = cluster.waitForJob(id, Duration.ofMinutes(4));
        System.out.printf(
                "[timing] %s job %s: %s after %d ms (REST duration %d ms)%n",
                job.kind,
                id,
                state,
                (System.nanoTime() - t0) / 1_000_000,
                cluster.rest("jobs/" + id).path("duration").asLong());
        assertThat(state)
                .as("job state; root exception: %s", cluster.rootExceptionSummary(id))
                .isEqualTo("FINISHED");
        assertThat(cluster.exceptionHistory(id))
                .as("failures of a job that should have none")
                .isEmpty();

        JsonNode cps = cluster.checkpoints(id);
        assertThat(cps.path("counts").path("completed").asInt())
                .as("completed checkpoints")
                .isGreaterThanOrEqualTo(2);
        // Checkpoints triggered while tasks deploy or finish fail for those reasons (Flink's
        // CheckpointFailureReason texts); none may fail in a task's snapshot.
        for (JsonNode h : cps.path("history")) {
            if (h.path("status").asText().equals("FAILED")) {
                assertThat(h.path("failure_message").asText(""))
                        .as(
                                "checkpoint %s failed for a reason other than tasks starting or finishing",
                                h.path("id"))
                        .satisfiesAnyOf(
                                m ->
                                        assertThat(m)
                                                .contains(
                                                        "Checkpoint was declined (task is closing)"),
                                m ->
                                        assertThat(m)
                                                .contains(
                                                        "Checkpoint was declined (tasks not ready)"),
                                m ->
                                        assertThat(m)
                                                .contains(
                                                        "Not all required tasks are currently running"),
                                m -> assertThat(m).contains("Checkpoint Coordinator is suspending"),
                                m -> assertThat(m).contains("CheckpointCoordinator shutdown"),
                                // a subtask of the bounded job finished and is gone
                                m ->
                                        assertThat(m)
                                                .contains(
                                                        "TaskManager received a checkpoint request for unknown task"));
            }
        }
        // Incremental: some checkpoint uploaded less than the whole state.
        boolean incremental = false;
        for (JsonNode h : cps.path("history")) {
            if (h.path("status").asText().equals("COMPLETED")
                    && h.path("checkpointed_size").asLong() < h.path("state_size").asLong()) {
                incremental = true;
            }
        }
        assertThat(incremental)
                .as("a checkpoint smaller than the state (incremental): %s", cps.path("history"))
                .isTrue();

        job.assertOutputMatchesReference();
        System.out.printf(
                "[result] %s job %s: %d lines equal Reference; %d checkpoints%n",
                job.kind, id, job.expected().size(), cps.path("counts").path("completed").asInt());
    }
}
