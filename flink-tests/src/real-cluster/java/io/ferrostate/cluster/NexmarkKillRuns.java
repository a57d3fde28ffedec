package io.ferrostate.cluster;

import io.ferrostate.nexmark.check.Check;
import io.ferrostate.nexmark.check.CheckFiles;

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
 * Nexmark queries on the shared real cluster (the {@code ferrostate-nexmark} job jar, Flink's own
 * planner from the distribution's {@code lib/}): run once on hashmap ({@code
 * -Dstate.backend.type=hashmap}) and once on the cluster's ferrostate with one TaskManager killed
 * with SIGKILL after the first completed checkpoint; the ferrostate run must restore and end with
 * exactly HashMap's result (the check sink's digest of the final rows, exactly once). Every run has
 * object reuse on. Used by the SQL tests of both Flink lines.
 */
final class NexmarkKillRuns {

    /** 300,000 events over 30 s of event time; throttled to ~30 s on ferrostate (2 readers). */
    private static final String[] SOURCE = {"--events", "300000", "--event-rate", "10000"};

    private static final String THROTTLE = "5000";

    private final FerroCluster env;
    private final FlinkCluster cluster;
    private final Path jar;

    NexmarkKillRuns(FerroCluster env) {
        this.env = env;
        this.cluster = env.cluster();
        this.jar = FlinkCluster.nexmarkJar(env.scratch("nexmark-jar"));
    }

    /**
     * Runs {@code query} on HashMap (with {@code referenceOptions}), then on the cluster's
     * ferrostate (with {@code ferroOptions}) killing a TaskManager after the first checkpoint; the
     * restored run must give HashMap's result, and every keyed backend of the job must have logged
     * {@code timers} as where its timers live. Returns the ferrostate run's job id.
     */
    String killAndCompare(
            String query,
            String label,
            String timers,
            List<String> referenceOptions,
            String... ferroOptions)
            throws Exception {
        Path reference = env.scratch(query + "-hashmap-for-" + label);
        List<String> refOptions = new ArrayList<>(referenceOptions);
        refOptions.add("-Dstate.backend.type=hashmap");
        String refJob = submit(query, reference, refOptions);
        assertFinished(refJob, Duration.ofMinutes(3));
        Check expected = CheckFiles.read(reference);
        assertThat(expected.rows()).as(query + " on HashMap has rows").isPositive();

        Path out = env.scratch(query + "-" + label);
        long t0 = System.currentTimeMillis();
        List<String> options = new ArrayList<>(Arrays.asList(ferroOptions));
        options.addAll(Arrays.asList("--throttle", THROTTLE));
        String id = submit(query, out, options);
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
        assertThat(logged(id, false, ",.*: timers (\\w+),"))
                .as("%s: where the ferrostate backends of job %s put their timers", query, id)
                .containsExactly(timers);
        return id;
    }

    /**
     * The first group of {@code pattern} (or the whole match) in the lines of every TaskManager log
     * (the killed one's too) that follow "ferrostate keyed backend of job {@code id}", or with
     * {@code async} "ferrostate asynchronous keyed backend of job {@code id}" (FerroStateBackend's
     * INFO lines when it builds a backend).
     */
    Set<String> logged(String id, boolean async, String pattern) throws IOException {
        Pattern line =
                Pattern.compile(
                        "ferrostate "
                                + (async ? "asynchronous " : "")
                                + "keyed backend of job "
                                + id
                                + pattern);
        Set<String> found = new TreeSet<>();
        for (Path log : cluster.taskManagerLogs()) {
            for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                Matcher m = line.matcher(l);
                if (m.find()) {
                    found.add(m.groupCount() > 0 ? m.group(1) : m.group());
                }
            }
        }
        return found;
    }

    private String submit(String query, Path checkDir, List<String> extra) {
        List<String> run =
                new ArrayList<>(
                        Arrays.asList(
                                "-p",
                                "2",
                                "-c",
                                "io.ferrostate.nexmark.NexmarkJob",
                                "-Dexecution.checkpointing.interval=1 s",
                                // As Flink's SQL tests run state backends: the operators then
                                // hand the backend objects they reuse.
                                "-Dpipeline.object-reuse=true"));
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

    private void assertFinished(String id, Duration timeout) throws InterruptedException {
        String state = cluster.waitForJob(id, timeout);
        assertThat(state)
                .as("job %s; root exception: %s", id, cluster.rootExceptionSummary(id))
                .isEqualTo("FINISHED");
    }
}
