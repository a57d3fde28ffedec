package io.ferrostate.sql;

import io.ferrostate.nexmark.NexmarkQuery;
import io.ferrostate.nexmark.check.Check;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every Nexmark query gives exactly HashMap's result on RocksDB and on ferrostate (incremental and
 * full checkpoints), and through a savepoint taken on ferrostate and resumed on each backend.
 *
 * <p>The queries that keep timers (windows, sessions) also run on ferrostate with heap timers, and
 * a native savepoint of ferrostate's default (timers in the store) resumes with heap timers.
 *
 * <p>Issue 13's regression: with heap timers and {@code isSafeToReuseKVState() == true}, the
 * planner's window buffer handed ferrostate a reused key object, the heap timers kept it, and every
 * window of a flush fired under the last key (q5, q8 and the other window queries were wrong, and
 * checkpoints failed with a timer in a foreign key group).
 */
class NexmarkBackendsAgreeITCase {

    @RegisterExtension
    static final MiniClusterExtension CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(NexmarkRun.PARALLELISM)
                            .build());

    /** 20,000 events over 20 s of event time: 10 s windows close twice, 2 s slides ten times. */
    private static final long EVENTS = 20_000;

    private static final long EVENT_RATE = 1_000;

    private static final Map<String, Check> HASHMAP = new ConcurrentHashMap<>();

    /** The queries with event-time timers: windows (q5, q7, q8) and sessions (q11). */
    private static final List<String> TIMER_QUERIES = List.of("q5", "q7", "q8", "q11");

    static Stream<Arguments> queriesAndBackends() {
        List<Arguments> cases = new ArrayList<>();
        for (String q : NexmarkQuery.ALL) {
            if (!NexmarkQuery.load(q).comparable()) {
                continue;
            }
            for (SqlBackend b :
                    new SqlBackend[] {
                        SqlBackend.ROCKSDB, SqlBackend.FERROSTATE, SqlBackend.FERROSTATE_FULL
                    }) {
                cases.add(Arguments.of(q, b));
            }
            if (TIMER_QUERIES.contains(q)) {
                cases.add(Arguments.of(q, SqlBackend.FERROSTATE_HEAP_TIMERS));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("queriesAndBackends")
    void sameResultAsHashMap(String query, SqlBackend backend) throws Exception {
        Path dir = NexmarkRun.newDirectory();
        try {
            Check expected = hashMapResult(query, dir.resolve("hashmap"));
            Check actual =
                    new NexmarkRun(query, EVENTS, EVENT_RATE, dir.resolve("run")).run(backend);
            NexmarkRun.assertSameResult(query + " on " + backend, expected, actual);
        } finally {
            NexmarkRun.deleteEventually(dir);
        }
    }

    static Stream<Arguments> savepointCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String q : new String[] {"q5", "q8", "q11", "q20"}) {
            for (SqlBackend to :
                    new SqlBackend[] {
                        SqlBackend.FERROSTATE, SqlBackend.HASHMAP, SqlBackend.ROCKSDB
                    }) {
                cases.add(Arguments.of(q, SavepointFormatType.CANONICAL, to));
            }
            cases.add(Arguments.of(q, SavepointFormatType.NATIVE, SqlBackend.FERROSTATE));
        }
        // Timers written to the store move into heap queues on restore.
        cases.add(
                Arguments.of("q5", SavepointFormatType.NATIVE, SqlBackend.FERROSTATE_HEAP_TIMERS));
        return cases.stream();
    }

    /**
     * A ferrostate job stopped with a savepoint mid-run and resumed (canonical: on every backend;
     * native: on ferrostate) ends with HashMap's uninterrupted result.
     */
    @ParameterizedTest(name = "{0}: {1} savepoint of ferrostate resumed on {2}")
    @MethodSource("savepointCases")
    void savepointMidRun(String query, SavepointFormatType format, SqlBackend to) throws Exception {
        Path dir = NexmarkRun.newDirectory();
        try {
            resumeFromSavepoint(query, format, to, dir);
        } finally {
            NexmarkRun.deleteEventually(dir);
        }
    }

    private static void resumeFromSavepoint(
            String query, SavepointFormatType format, SqlBackend to, Path dir) throws Exception {
        Check expected = hashMapResult(query, dir.resolve("hashmap"));
        // Two readers at 1,000 events/s each: the run would take 10 s; it is stopped after ~3.
        NexmarkRun first =
                new NexmarkRun(query, EVENTS, EVENT_RATE, dir.resolve("run")).throttle(1_000);
        JobClient job = first.start(SqlBackend.FERROSTATE);
        awaitRunning(job);
        Thread.sleep(3_000);
        String savepoint =
                job.stopWithSavepoint(false, dir.resolve("savepoints").toUri().toString(), format)
                        .get();
        assertThat(first.output()).as("the stopped run must not have finished").doesNotExist();

        Check resumed =
                new NexmarkRun(query, EVENTS, EVENT_RATE, dir.resolve("run"))
                        .restoreFrom(savepoint)
                        .run(to);
        NexmarkRun.assertSameResult(
                query + " resumed on " + to + " from a " + format + " savepoint of ferrostate",
                expected,
                resumed);
    }

    private static Check hashMapResult(String query, Path dir) throws Exception {
        Check c = HASHMAP.get(query);
        if (c == null) {
            c = new NexmarkRun(query, EVENTS, EVENT_RATE, dir).run(SqlBackend.HASHMAP);
            assertThat(c.rows()).as(query + " on HashMap has rows").isPositive();
            HASHMAP.put(query, c);
        }
        return c;
    }

    private static void awaitRunning(JobClient job) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (job.getJobStatus().get() != JobStatus.RUNNING) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Job did not start: " + job.getJobStatus().get());
            }
            Thread.sleep(50);
        }
    }
}
