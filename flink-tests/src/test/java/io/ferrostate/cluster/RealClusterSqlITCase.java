package io.ferrostate.cluster;

import io.ferrostate.nexmark.check.Check;
import io.ferrostate.nexmark.check.CheckFiles;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SQL jobs on the real cluster: Nexmark queries (the {@code ferrostate-nexmark} job jar, Flink's
 * own planner from the distribution's {@code lib/}) run once on hashmap ({@code
 * -Dstate.backend.type=hashmap}) and once on the cluster's ferrostate with one TaskManager killed
 * with SIGKILL after the first completed checkpoint; the ferrostate run must restore and end with
 * exactly HashMap's result (the check sink's digest of the final rows, exactly once).
 *
 * <p>The queries cover the SQL operators that keep keyed state: window aggregations with a window
 * join (q5), session windows (q11), group aggregation with distinct aggregates (q15), deduplication
 * (q18), Top-N (q19) and a regular join (q20).
 */
@ExtendWith(FerroCluster.Resolver.class)
class RealClusterSqlITCase {

    /** 300,000 events over 30 s of event time; throttled to ~30 s on ferrostate (2 readers). */
    private static final String[] SOURCE = {"--events", "300000", "--event-rate", "10000"};

    private static final String THROTTLE = "5000";

    private static FerroCluster env;
    private static FlinkCluster cluster;
    private static Path jar;

    @BeforeAll
    static void cluster(FerroCluster shared) {
        env = shared;
        cluster = shared.cluster();
        jar = FlinkCluster.nexmarkJar(shared.scratch("nexmark-jar"));
    }

    @BeforeEach
    void twoTaskManagers() {
        cluster.ensureTaskManagers(FerroCluster.TASK_MANAGERS);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"q5", "q11", "q15", "q18", "q19", "q20"})
    void killedTaskManagerAndStillHashMapsResult(String query) throws Exception {
        killAndCompare(query, "ferrostate", "NATIVE");
    }

    /**
     * The window queries again with ferrostate's timers in Flink's heap queues ({@code
     * timer-service.factory: HEAP}), snapshotted whole with every checkpoint: the other way its
     * timers restore after a kill.
     */
    @ParameterizedTest(name = "{0} with heap timers")
    @ValueSource(strings = {"q5", "q11"})
    void heapTimersToo(String query) throws Exception {
        killAndCompare(
                query,
                "ferrostate-heap-timers",
                "HEAP",
                "-Dstate.backend.ferrostate.timer-service.factory=HEAP");
    }

    /**
     * Runs {@code query} on HashMap, then on the cluster's ferrostate (with {@code ferroOptions})
     * killing a TaskManager after the first checkpoint; the restored run must give HashMap's
     * result, and every keyed backend of the job must have logged {@code timers} as where its
     * timers live.
     */
    private static void killAndCompare(
            String query, String label, String timers, String... ferroOptions) throws Exception {
        Path reference = env.scratch(query + "-hashmap-for-" + label);
        String refJob = submit(query, reference, "-Dstate.backend.type=hashmap");
        assertFinished(refJob, Duration.ofMinutes(3));
        Check expected = CheckFiles.read(reference);
        assertThat(expected.rows()).as(query + " on HashMap has rows").isPositive();

        Path out = env.scratch(query + "-" + label);
        long t0 = System.currentTimeMillis();
        List<String> options = new ArrayList<>(Arrays.asList(ferroOptions));
        options.addAll(Arrays.asList("--throttle", THROTTLE));
        String id = submit(query, out, options.toArray(new String[0]));
        cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
        long completed = cluster.waitForCheckpointAfter(id, 0, Duration.ofMinutes(1));
        // A TaskManager that runs tasks of this job (with 2 of 4 slots used, one may run none).
        int victim = cluster.taskManagersOf(id).first();
        long pid = cluster.killTaskManagerNow(victim);
        long killedAt = System.currentTimeMillis();
        assertThat(cluster.waitForFailureSince(id, killedAt - 1_000, Duration.ofMinutes(1)))
                .as("%s: the kill of TaskManager %d shows in the exception history", query, victim)
                .isTrue();
        cluster.startTaskManager();
        cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
        long restoredFrom =
                cluster.checkpoints(id).path("latest").path("restored").path("id").asLong(-1);
        assertFinished(id, Duration.ofMinutes(4));
        Check actual = CheckFiles.read(out);
        System.out.printf(
                "[sql] %s: TM %d (pid %d) killed %d ms into the run after checkpoint %d, restored from %d;"
                        + " %s %s, HashMap %s%n",
                query,
                victim,
                pid,
                killedAt - t0,
                completed,
                restoredFrom,
                label,
                actual.summary(),
                expected.summary());
        assertThat(restoredFrom)
                .as("%s restored from a checkpoint after the kill", query)
                .isGreaterThanOrEqualTo(completed);
        assertThat(actual.summary())
                .as("%s on %s (one TaskManager killed) vs HashMap", query, label)
                .isEqualTo(expected.summary());
        assertThat(timersLogged(id))
                .as("%s: where the ferrostate backends of job %s put their timers", query, id)
                .containsExactly(timers);
    }

    /**
     * The timer settings the ferrostate keyed backends of job {@code id} logged when they were
     * built (FerroStateBackend's INFO line), from every TaskManager log, the killed one's too.
     */
    private static Set<String> timersLogged(String id) throws IOException {
        Pattern line =
                Pattern.compile("ferrostate keyed backend of job " + id + ",.*: timers (\\w+),");
        Set<String> timers = new TreeSet<>();
        for (Path log : cluster.taskManagerLogs()) {
            for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                Matcher m = line.matcher(l);
                if (m.find()) {
                    timers.add(m.group(1));
                }
            }
        }
        return timers;
    }

    private static String submit(String query, Path checkDir, String... extra) {
        List<String> run =
                new ArrayList<>(
                        Arrays.asList(
                                "-p",
                                "2",
                                "-c",
                                "io.ferrostate.nexmark.NexmarkJob",
                                "-Dexecution.checkpointing.interval=1 s"));
        List<String> args =
                new ArrayList<>(
                        Arrays.asList(
                                "--query", query, "--check-path", checkDir.toUri().toString()));
        args.addAll(Arrays.asList(SOURCE));
        for (String e : extra) {
            if (e.startsWith("-D")) {
                run.add(e);
            } else {
                args.add(e);
            }
        }
        return cluster.submit(run, jar, args.toArray(new String[0]));
    }

    private static void assertFinished(String id, Duration timeout) throws InterruptedException {
        String state = cluster.waitForJob(id, timeout);
        assertThat(state)
                .as("job %s; root exception: %s", id, cluster.rootExceptionSummary(id))
                .isEqualTo("FINISHED");
    }
}
