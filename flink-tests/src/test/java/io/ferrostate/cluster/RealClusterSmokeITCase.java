package io.ferrostate.cluster;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Smoke test of the real-cluster harness: a Flink 1.20.5 distribution assembled from Flink's
 * released binaries, one JobManager and two TaskManagers as separate JVMs, ferrostate's jar in
 * lib/ and {@code state.backend: io.ferrostate.flink.FerroStateBackendFactory} in flink-conf.yaml,
 * as a user would set it up. A bounded keyed-state job is submitted with Flink's CLI and must
 * finish with every key's state correct.
 *
 * <p>The first run downloads ~235 MB from PyPI into ~/.cache/ferrostate/flink-dist (about 15 s
 * here); later runs reuse it. The ferrostate jar is the one on the test classpath (installed with
 * {@code mvn install -DskipTests -pl java -am}) or {@code -Dferrostate.jar=...}.
 *
 * <p>TODO(issue 7): submit the examples module's jar (SessionTrackerJob, WindowedJob) instead of
 * the stand-in built from cluster/smoke-job once that module is part of the build.
 */
class RealClusterSmokeITCase {

    private static final int KEYS = 1000;

    private static FlinkCluster cluster;
    private static Path jobJar;

    @BeforeAll
    static void startCluster() {
        Path base = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")));
        Path work =
                base.resolve("target/real-cluster")
                        .resolve("smoke-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")))
                        .toAbsolutePath();
        long t0 = System.nanoTime();
        Path flinkHome = FlinkCluster.flinkHome(FlinkCluster.DEFAULT_FLINK_VERSION);
        long t1 = System.nanoTime();
        jobJar = FlinkCluster.buildSmokeJobJar(flinkHome, work.resolve("jobs/keyed-state-smoke-job.jar"));
        long t2 = System.nanoTime();
        cluster =
                FlinkCluster.builder()
                        .flinkHome(flinkHome)
                        .workDir(work.resolve("cluster"))
                        .libJar(FlinkCluster.ferrostateJar(work))
                        .ferrostateBackend(true)
                        // Fail fast instead of restarting forever, so a failure surfaces as FAILED.
                        .conf("restart-strategy.type", "none")
                        .start();
        System.out.printf(
                "[timing] flink-dist %d ms, job jar %d ms, cluster start %d ms%n",
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (System.nanoTime() - t2) / 1_000_000);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.stop();
            assertThat(cluster.livePids()).as("JVMs of the cluster left after stop").isEmpty();
        }
    }

    @Test
    void keyedStateJobFinishesOnFerrostate() throws Exception {
        assertThat(cluster.registeredTaskManagers()).isEqualTo(2);

        // -p 4: all four slots, so both TaskManagers run keyed tasks.
        String job =
                cluster.submit(List.of("-p", "4"), jobJar,
                        "--records", "200000", "--keys", Integer.toString(KEYS),
                        "--rate", "0", "--checkpoint-interval", "0");
        long t0 = System.nanoTime();
        String state = cluster.waitForJob(job, Duration.ofMinutes(5));
        System.out.printf("[timing] job %s: %s after %d ms (REST duration %d ms)%n", job, state,
                (System.nanoTime() - t0) / 1_000_000, cluster.rest("jobs/" + job).path("duration").asLong());
        assertThat(state).as("job state; root exception: %s", rootException(job)).isEqualTo("FINISHED");

        Map<String, String> acc = cluster.userAccumulators(job);
        assertThat(acc).containsEntry("keys-complete", Integer.toString(KEYS)).containsEntry("keys-bad", "0");

        // The configuration came from our legacy flink-conf.yaml, and it chose ferrostate.
        assertThat(FlinkCluster.grep(cluster.jobManagerLogs(), "Using legacy YAML parser to load flink configuration file from "
                        + cluster.workDir().resolve("conf/flink-conf.yaml")))
                .isNotEmpty();
        assertThat(FlinkCluster.grep(cluster.jobManagerLogs(),
                        "State backend loader loads the state backend as FerroStateBackend"))
                .isNotEmpty();
        // Both TaskManagers ran keyed state in ferrostate.
        for (Path tmLog : cluster.taskManagerLogs()) {
            assertThat(FlinkCluster.grep(List.of(tmLog), "Loaded ferrostate native library"))
                    .as("native library loaded in %s", tmLog)
                    .isNotEmpty();
            assertThat(FlinkCluster.grep(List.of(tmLog), "bytes of managed memory"))
                    .as("managed memory in %s", tmLog)
                    .anyMatch(l -> l.contains("ferrostate uses"));
        }
    }

    @Test
    @Disabled(
            "ferrostate declines every checkpoint on a real cluster: FerroKeyedStateBackend hands the"
                    + " restore-time CloseableRegistry (KeyedStateBackendParameters#getCancelStreamRegistry,"
                    + " which StreamTaskStateInitializerImpl closes once restore is done) to"
                    + " SnapshotStrategyRunner -> 'Cannot register Closeable, registry is already closed'."
                    + " Flink's Heap/RocksDB builders give the backend a new CloseableRegistry. Enable when fixed.")
    void keyedStateJobWithCheckpointsFinishes() throws Exception {
        // ~2.5 s of input at 20k records/s per source subtask, checkpoints every 500 ms, and the
        // final checkpoint Flink takes before a bounded job finishes.
        String job =
                cluster.submit(List.of("-p", "2"), jobJar,
                        "--records", "100000", "--keys", Integer.toString(KEYS),
                        "--rate", "20000", "--checkpoint-interval", "500");
        String state = cluster.waitForJob(job, Duration.ofMinutes(5));
        assertThat(state).as("job state; root exception: %s", rootException(job)).isEqualTo("FINISHED");
        assertThat(cluster.userAccumulators(job))
                .containsEntry("keys-complete", Integer.toString(KEYS))
                .containsEntry("keys-bad", "0");
        assertThat(cluster.checkpointCounts(job).path("completed").asInt()).isGreaterThanOrEqualTo(1);
    }

    /** First line and "Caused by" lines of the job's root exception. */
    private static String rootException(String job) {
        String[] lines = cluster.rootException(job).split("\n");
        return lines[0] + "\n" + java.util.Arrays.stream(lines)
                .filter(l -> l.startsWith("Caused by"))
                .collect(Collectors.joining("\n"));
    }
}
