package io.ferrostate.cluster;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Savepoint round trip on the real cluster, all through Flink's CLI: a job on ferrostate (the
 * cluster's configured backend) is stopped with a savepoint ({@code flink stop --savepointPath});
 * then the same job is resumed from that savepoint ({@code flink run -s}) on ferrostate, on hashmap
 * and on rocksdb (chosen per job with {@code -Dstate.backend.type=...}), and each resumed run's
 * exactly-once output (the part committed before the stop plus what the resumed job adds) equals
 * {@code Reference}'s. Both example jobs: the session tracker (value with TTL, list, map state) and
 * the windowed job (aggregating and merging reducing state, event-time timers). And the other way:
 * the session tracker stopped with a savepoint on hashmap and on rocksdb, resumed on ferrostate.
 */
@ExtendWith(FerroCluster.Resolver.class)
class RealClusterSavepointITCase {

    /** Backends to resume on: null = the cluster's (ferrostate), else state.backend.type. */
    private static final String[] BACKENDS = {null, "hashmap", "rocksdb"};

    private static FerroCluster env;
    private static FlinkCluster cluster;

    @BeforeAll
    static void cluster(FerroCluster shared) {
        env = shared;
        cluster = shared.cluster();
    }

    @BeforeEach
    void twoTaskManagers() {
        cluster.ensureTaskManagers(FerroCluster.TASK_MANAGERS);
    }

    @Test
    void sessionTrackerResumesFromAFerrostateSavepointOnEveryBackend() throws Exception {
        // ~30 s of input at 5k events/s; the stop is asked for after ~6 s.
        roundTrip(null, BACKENDS, sessionJob("sp-session-out"));
    }

    /** The other way: savepoints of hashmap and rocksdb (canonical) resumed on ferrostate. */
    @Test
    void sessionTrackerResumesOnFerrostateFromHashMapAndRocksDbSavepoints() throws Exception {
        for (String from : new String[] {"hashmap", "rocksdb"}) {
            roundTrip(from, new String[] {null}, sessionJob("sp-session-from-" + from));
        }
    }

    /**
     * Events per second of the jobs stopped mid-run: 150,000 events then take ~30 s, and the stop
     * (asked for after a fifth of them) has ~24 s to arrive. At 10,000 a `flink stop` asked for
     * about 3 s into the input, beside `flink-tests-sql` on 2 cores, reached the JobManager only
     * after the job had finished at about 17 s.
     */
    private static final String RATE = "5000";

    private static ExampleJob sessionJob(String out) {
        return ExampleJob.session(
                env.scratch(out),
                "--events",
                "150000",
                "--users",
                "3000",
                "--summary-every",
                "10",
                "--rate",
                RATE,
                "--checkpoint-interval",
                "1000",
                "--parallelism",
                "4");
    }

    @Test
    void windowedJobResumesFromAFerrostateSavepointOnEveryBackend() throws Exception {
        roundTrip(
                null,
                BACKENDS,
                ExampleJob.windowed(
                        env.scratch("sp-windowed-out"),
                        "--events",
                        "150000",
                        "--rate",
                        RATE,
                        "--checkpoint-interval",
                        "1000",
                        "--parallelism",
                        "4"));
    }

    /** Records the job's source vertex emitted (REST job details). */
    private static long sourceRecordsOut(String job) {
        for (JsonNode v : cluster.rest("jobs/" + job).path("vertices")) {
            if (v.path("name").asText().startsWith("Source:")) {
                return v.path("metrics").path("write-records").asLong();
            }
        }
        throw new IllegalStateException("no source vertex in job " + job);
    }

    /**
     * Runs the job on {@code from} (null: the cluster's ferrostate, else a state.backend.type),
     * stops it with a savepoint mid-run and resumes it on each of {@code resumeOn}.
     */
    private void roundTrip(String from, String[] resumeOn, ExampleJob job) throws Exception {
        List<String> expected = job.expected();
        long t0 = System.nanoTime();
        String first =
                from == null
                        ? job.submit(cluster, env.examplesJar(), "-p", "4")
                        : job.submit(
                                cluster,
                                env.examplesJar(),
                                "-p",
                                "4",
                                "-Dstate.backend.type=" + from);
        cluster.waitForAllTasksRunning(first, Duration.ofMinutes(2));
        cluster.waitForCheckpointAfter(first, 0, Duration.ofMinutes(1));
        // Ask for the stop once a fifth of the input is in: `flink stop` (a JVM start, then the
        // savepoint) takes seconds on a loaded machine, and the job must not finish before.
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (sourceRecordsOut(first) < job.events() / 5 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        String savepoint = cluster.stopWithSavepoint(first, cluster.savepointDir(), false);
        assertThat(cluster.waitForJob(first, Duration.ofMinutes(1))).isEqualTo("FINISHED");
        assertThat(
                        cluster.rest("jobs/" + first + "/checkpoints/config")
                                .path("state_backend")
                                .asText())
                .containsIgnoringCase(from == null ? "ferrostate" : from);
        long emittedBefore = sourceRecordsOut(first);
        System.out.printf(
                "[savepoint] %s job %s on %s stopped with savepoint %s after %d ms,"
                        + " %d of %d events in%n",
                job.kind,
                first,
                from == null ? "ferrostate" : from,
                savepoint,
                (System.nanoTime() - t0) / 1_000_000,
                emittedBefore,
                job.events());
        assertThat(emittedBefore).as("the stop came mid-run").isPositive().isLessThan(job.events());

        // The output as the stopped job left it, in-progress part files included: each resumed
        // run continues from it.
        Path stopped = job.output.resolveSibling(job.output.getFileName() + "-at-savepoint");
        ExampleJob.copyTree(job.output, stopped);
        List<String> results = new ArrayList<>();
        for (String backend : resumeOn) {
            ExampleJob.deleteTree(job.output);
            ExampleJob.copyTree(stopped, job.output);
            long t1 = System.nanoTime();
            String resumed =
                    backend == null
                            ? job.submit(cluster, env.examplesJar(), "-p", "4", "-s", savepoint)
                            : job.submit(
                                    cluster,
                                    env.examplesJar(),
                                    "-p",
                                    "4",
                                    "-s",
                                    savepoint,
                                    "-Dstate.backend.type=" + backend);
            String state = cluster.waitForJob(resumed, Duration.ofMinutes(3));
            assertThat(state)
                    .as(
                            "resumed on %s; root exception: %s",
                            backend, cluster.rootExceptionSummary(resumed))
                    .isEqualTo("FINISHED");
            String used =
                    cluster.rest("jobs/" + resumed + "/checkpoints/config")
                            .path("state_backend")
                            .asText();
            assertThat(used.toLowerCase()).contains(backend == null ? "ferrostate" : backend);
            JsonNode restored = cluster.checkpoints(resumed).path("latest").path("restored");
            assertThat(restored.path("is_savepoint").asBoolean())
                    .as("restored from the savepoint")
                    .isTrue();
            assertThat(restored.path("external_path").asText()).isEqualTo(savepoint);
            assertThat(cluster.exceptionHistory(resumed))
                    .as("failures of the resumed job")
                    .isEmpty();
            // It went on from where the first run stopped: its source emitted only the rest.
            long emitted = sourceRecordsOut(resumed);
            assertThat(emitted)
                    .as("events the resumed source emitted")
                    .isPositive()
                    .isLessThan(job.events());
            job.assertOutputMatchesReference();
            results.add(
                    String.format(
                            "%s: %s in %d ms, %d events after the savepoint",
                            used, state, (System.nanoTime() - t1) / 1_000_000, emitted));
        }
        System.out.printf(
                "[result] %s savepoint round trip from %s, each resumed run's output equals Reference (%d lines): %s%n",
                job.kind, from == null ? "ferrostate" : from, expected.size(), results);
    }
}
