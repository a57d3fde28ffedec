package io.ferrostate.cluster;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults on the real cluster, with nothing lost and nothing counted twice: while the session
 * tracker writes its exactly-once file output, TaskManagers are killed with SIGKILL, (a) during
 * processing and (b) while the asynchronous part of a checkpoint (ferrostate's upload of its files)
 * runs in a keyed task, and a replacement is started each time; the job must restore from the last
 * completed checkpoint each time and its final output must equal {@code Reference}'s exactly. Then
 * the store's fault-injection switch (a file, see {@code
 * state.backend.ferrostate.debug.fail-writes-file}) makes every write fail as if the disk were
 * full: the task must fail with that clear error, and the job must recover once it is off.
 */
@ExtendWith(FerroCluster.Resolver.class)
class RealClusterFaultsITCase {

    private static final int KILLS = 3;
    private static final int MAX_KILLS = 6;
    private static final Duration RECOVERY_TIMEOUT = Duration.ofMinutes(2);

    /** The DEBUG lines of Flink's AsyncCheckpointRunnable for a keyed subtask of the tracker. */
    private static final Pattern ASYNC =
            Pattern.compile(
                    "^(\\S+ \\S+) DEBUG .*AsyncCheckpointRunnable.* - (session-tracker.*\\(\\d+/\\d+\\)#\\d+)"
                            + " - (started executing|finished) asynchronous part of checkpoint (\\d+)\\..*");

    private static final DateTimeFormatter LOG_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS");

    private static FerroCluster env;
    private static FlinkCluster cluster;

    @BeforeAll
    static void cluster(FerroCluster shared) {
        env = shared;
        cluster = shared.cluster();
    }

    /** What one kill did. */
    private static final class Kill {
        final int number;
        final String kind;
        int taskManager;
        long pid;
        long atMsOfJob;
        long lastCompletedBefore;
        long inFlightCheckpoint = -1;
        String subtask;
        long detectionLagMs = -1;
        boolean uploadConfirmed;
        long restoredFrom = -1;
        long downtimeMs;

        Kill(int number, String kind) {
            this.number = number;
            this.kind = kind;
        }

        @Override
        public String toString() {
            return String.format(
                    "kill %d (%s): TM %d pid %d at %d ms of the job; last completed checkpoint %d;"
                            + " in-flight checkpoint %s%s%s; restored from %d; back to RUNNING after %d ms",
                    number,
                    kind,
                    taskManager,
                    pid,
                    atMsOfJob,
                    lastCompletedBefore,
                    inFlightCheckpoint < 0 ? "-" : Long.toString(inFlightCheckpoint),
                    subtask == null
                            ? ""
                            : " (async part of "
                                    + subtask
                                    + " started, SIGKILL sent "
                                    + detectionLagMs
                                    + " ms after its log line)",
                    kind.equals("upload")
                            ? (uploadConfirmed
                                    ? ", upload had not finished"
                                    : ", MISSED: upload finished first")
                            : "",
                    restoredFrom,
                    downtimeMs);
        }
    }

    @BeforeEach
    void twoTaskManagers() {
        cluster.ensureTaskManagers(FerroCluster.TASK_MANAGERS);
    }

    @Test
    void threeTaskManagerKillsLoseNothingAndCountNothingTwice() throws Exception {
        // ~35 s of input at 4k events/s; 10k users, a summary every 10 events of a user; the
        // tracker's state (TTL'd session value, list, map) in ferrostate, checkpoints every 1 s.
        ExampleJob job =
                ExampleJob.session(
                        env.scratch("faults-out"),
                        "--events",
                        "140000",
                        "--users",
                        "10000",
                        "--summary-every",
                        "10",
                        "--rate",
                        "4000",
                        "--checkpoint-interval",
                        "1000",
                        "--parallelism",
                        "4");
        job.expected();
        long t0 = System.currentTimeMillis();
        String id = job.submit(cluster, env.examplesJar(), "-p", "4");
        cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
        cluster.waitForCheckpointAfter(id, 1, Duration.ofMinutes(1));

        List<Kill> kills = new ArrayList<>();
        // (a) during processing: half-way between two checkpoints.
        kills.add(killDuringProcessing(id, 1, t0));
        // (b) while a keyed task's asynchronous checkpoint part (the upload) runs; if a kill
        // misses its window (the upload ended first), it still counts as a kill, and we try again.
        while (kills.size() < MAX_KILLS
                && (kills.size() < KILLS || kills.stream().noneMatch(k -> k.uploadConfirmed))) {
            kills.add(killDuringUpload(id, kills.size() + 1, t0));
        }

        String state = cluster.waitForJob(id, Duration.ofMinutes(4));
        System.out.printf(
                "[timing] fault job %s: %s after %d ms%n",
                id, state, System.currentTimeMillis() - t0);
        assertThat(state)
                .as("job state; root exception: %s", cluster.rootExceptionSummary(id))
                .isEqualTo("FINISHED");
        assertThat(kills).hasSizeGreaterThanOrEqualTo(KILLS);
        assertThat(kills).as("a kill during an upload").anyMatch(k -> k.uploadConfirmed);
        for (Kill k : kills) {
            assertThat(k.restoredFrom)
                    .as("%s restored from the last completed checkpoint", k)
                    .isEqualTo(k.lastCompletedBefore);
        }
        job.assertOutputMatchesReference();
        System.out.printf(
                "[result] fault job %s: %d kills, %d lines equal Reference%n",
                id, kills.size(), job.expected().size());
    }

    @Test
    void aFullDiskFailsTheTaskWithAClearErrorAndTheJobRecovers() throws Exception {
        Path fail = env.failWritesFile();
        Files.deleteIfExists(fail);
        // The windowed job: tumbling (aggregating) and session (merging) windows with timers.
        ExampleJob job =
                ExampleJob.windowed(
                        env.scratch("full-disk-out"),
                        "--events",
                        "200000",
                        "--rate",
                        "10000",
                        "--checkpoint-interval",
                        "500",
                        "--parallelism",
                        "4");
        job.expected();
        String id = job.submit(cluster, env.examplesJar(), "-p", "4");
        cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
        long before = cluster.waitForCheckpointAfter(id, 0, Duration.ofMinutes(1));

        long on = System.currentTimeMillis();
        Files.createFile(fail);
        JsonNode failure = null;
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            while (failure == null && System.currentTimeMillis() < deadline) {
                for (JsonNode e : cluster.exceptionHistory(id)) {
                    if (e.path("stacktrace")
                            .asText()
                            .contains(
                                    "no space left on device (ferrostate fault injection is on)")) {
                        failure = e;
                        break;
                    }
                }
                Thread.sleep(200);
            }
            assertThat(failure)
                    .as("a task failure with the injected error in the exception history of %s", id)
                    .isNotNull();
            System.out.printf(
                    "[fault] full disk: %s failed %d ms after the switch went on: %s%n",
                    failure.path("taskName").asText(),
                    failure.path("timestamp").asLong() - on,
                    firstLineAndCauses(failure.path("stacktrace").asText()));
            // Let it fail a few times more while the disk stays full.
            Thread.sleep(2_000);
        } finally {
            Files.deleteIfExists(fail);
        }
        long off = System.currentTimeMillis();
        int failures = cluster.exceptionHistory(id).size();
        cluster.waitForAllTasksRunning(id, RECOVERY_TIMEOUT);
        long after =
                cluster.waitForCheckpointAfter(
                        id, cluster.latestCompletedCheckpoint(id), RECOVERY_TIMEOUT);
        System.out.printf(
                "[fault] full disk: %d task failures while on; running again and checkpoint %d completed"
                        + " %d ms after the switch went off (last before: %d)%n",
                failures, after, System.currentTimeMillis() - off, before);

        String state = cluster.waitForJob(id, Duration.ofMinutes(3));
        assertThat(state)
                .as("job state; root exception: %s", cluster.rootExceptionSummary(id))
                .isEqualTo("FINISHED");
        assertThat(failure.path("taskName").asText()).contains("window");
        job.assertOutputMatchesReference();
        System.out.printf(
                "[result] full-disk job %s: %d lines equal Reference%n", id, job.expected().size());
    }

    // --------------------------------------------------------------------------------------------

    private Kill killDuringProcessing(String id, int number, long t0) throws Exception {
        Kill k = new Kill(number, "processing");
        long done =
                cluster.waitForCheckpointAfter(
                        id, cluster.latestCompletedCheckpoint(id), Duration.ofMinutes(1));
        Thread.sleep(400); // mid-interval: the next checkpoint starts ~600 ms later
        k.taskManager = cluster.liveTaskManagers().keySet().iterator().next();
        k.atMsOfJob = System.currentTimeMillis() - t0;
        k.pid = cluster.killTaskManagerNow(k.taskManager);
        assertThat(done).isGreaterThan(0);
        recover(id, k, t0 + k.atMsOfJob);
        return k;
    }

    private Kill killDuringUpload(String id, int number, long t0) throws Exception {
        Kill k = new Kill(number, "upload");
        // Looked up before: the kill must follow the log line within a millisecond or two (the
        // asynchronous part of these small incremental checkpoints takes ~25 ms, often less).
        Map<Integer, ProcessHandle> tms = cluster.taskManagerHandles();
        Map<Integer, LogTail> tails = new HashMap<>();
        for (int tm : tms.keySet()) {
            tails.put(tm, new LogTail(cluster.taskManagerLog(tm)));
        }
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            // subtask -> checkpoint whose async part started and has not finished
            Map<String, Long> running = new HashMap<>();
            Map<String, Integer> subtaskTm = new HashMap<>();
            Map<String, String> startedAt = new HashMap<>();
            int victim = -1;
            while (victim < 0) {
                assertThat(System.currentTimeMillis())
                        .as("no asynchronous checkpoint part seen in time")
                        .isLessThan(deadline);
                for (Map.Entry<Integer, LogTail> t : tails.entrySet()) {
                    for (String line : t.getValue().newLines()) {
                        Matcher m = ASYNC.matcher(line);
                        if (!m.matches()) {
                            continue;
                        }
                        long cp = Long.parseLong(m.group(4));
                        if (m.group(3).startsWith("started")) {
                            running.put(m.group(2), cp);
                            subtaskTm.put(m.group(2), t.getKey());
                            startedAt.put(m.group(2), m.group(1));
                        } else {
                            running.remove(m.group(2), cp);
                        }
                    }
                }
                // A started, unfinished asynchronous part: its checkpoint cannot have completed.
                for (Map.Entry<String, Long> r : running.entrySet()) {
                    victim = subtaskTm.get(r.getKey());
                    k.subtask = r.getKey();
                    k.inFlightCheckpoint = r.getValue();
                    break;
                }
                if (victim < 0) {
                    Thread.sleep(1);
                }
            }
            k.taskManager = victim;
            ProcessHandle process = tms.get(victim);
            long now = FlinkCluster.killNow(process);
            k.pid = process.pid();
            k.atMsOfJob = now - t0;
            k.detectionLagMs =
                    now
                            - LocalDateTime.parse(startedAt.get(k.subtask), LOG_TIME)
                                    .atZone(ZoneId.systemDefault())
                                    .toInstant()
                                    .toEpochMilli();
            // The process is gone, its log complete: did the upload finish before the kill?
            boolean finished = false;
            for (String line : tails.get(victim).newLines()) {
                Matcher m = ASYNC.matcher(line);
                finished |=
                        m.matches()
                                && m.group(2).equals(k.subtask)
                                && m.group(3).equals("finished")
                                && Long.parseLong(m.group(4)) == k.inFlightCheckpoint;
            }
            k.uploadConfirmed = !finished;
        } finally {
            for (LogTail t : tails.values()) {
                t.close();
            }
        }
        recover(id, k, t0 + k.atMsOfJob);
        // The checkpoint whose upload was cut must not have completed.
        if (k.uploadConfirmed) {
            for (JsonNode h : cluster.checkpoints(id).path("history")) {
                if (h.path("id").asLong() == k.inFlightCheckpoint) {
                    assertThat(h.path("status").asText())
                            .as("checkpoint %d cut by %s", k.inFlightCheckpoint, k)
                            .isNotEqualTo("COMPLETED");
                }
            }
        }
        return k;
    }

    /**
     * After a kill at {@code killedAt} (the kill's own time: the failure it causes can be in the
     * exception history before this method runs, when reading the victim's log took a while):
     * starts a replacement TaskManager, waits until the job runs again and has completed a
     * checkpoint after its restore, and records which checkpoint it restored.
     */
    private void recover(String id, Kill k, long killedAt) throws Exception {
        // Once the failure is in the exception history, the job is failing over and no checkpoint
        // can complete any more: the latest completed one is the one to restore.
        boolean failed = cluster.waitForFailureSince(id, killedAt - 1_000, Duration.ofMinutes(1));
        assertThat(failed).as("a failure in the exception history after %s", k).isTrue();
        k.lastCompletedBefore = cluster.latestCompletedCheckpoint(id);
        if (k.uploadConfirmed) {
            assertThat(k.inFlightCheckpoint)
                    .as("the checkpoint cut by %s", k)
                    .isGreaterThan(k.lastCompletedBefore);
        }
        cluster.startTaskManager();
        cluster.waitForAllTasksRunning(id, RECOVERY_TIMEOUT);
        k.downtimeMs = System.currentTimeMillis() - killedAt;
        JsonNode restored = cluster.checkpoints(id).path("latest").path("restored");
        assertThat(restored.path("restore_timestamp").asLong())
                .as("a restore after %s", k)
                .isGreaterThanOrEqualTo(killedAt);
        k.restoredFrom = restored.path("id").asLong();
        assertThat(restored.path("is_savepoint").asBoolean()).isFalse();
        cluster.waitForCheckpointAfter(id, k.restoredFrom, RECOVERY_TIMEOUT);
        System.out.println("[fault] " + k);
    }

    private static String firstLineAndCauses(String trace) {
        StringBuilder b = new StringBuilder();
        Set<String> seen = new HashSet<>();
        for (String l : trace.split("\n")) {
            if ((b.length() == 0 || l.startsWith("Caused by")) && seen.add(l)) {
                b.append(b.length() == 0 ? "" : " / ").append(l.trim());
            }
        }
        return b.toString();
    }
}
