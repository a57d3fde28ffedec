package io.ferrostate.cluster;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

/**
 * SQL jobs on the real cluster: Nexmark queries run once on hashmap and once on the cluster's
 * ferrostate with one TaskManager killed with SIGKILL after the first completed checkpoint; the
 * ferrostate run must restore and end with exactly HashMap's result ({@link NexmarkKillRuns}).
 *
 * <p>The queries cover the SQL operators that keep keyed state: window aggregations with a window
 * join (q5), session windows (q11), group aggregation with distinct aggregates (q15), deduplication
 * (q18), Top-N (q19) and a regular join (q20).
 */
class RealClusterSqlITCase extends NexmarkClusterTestBase {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"q5", "q11", "q15", "q18", "q19", "q20"})
    void killedTaskManagerAndStillHashMapsResult(String query) throws Exception {
        runs.killAndCompare(query, "ferrostate", "NATIVE", List.of());
    }

    /**
     * The window queries again with ferrostate's timers in Flink's heap queues ({@code
     * timer-service.factory: HEAP}), snapshotted whole with every checkpoint: the other way its
     * timers restore after a kill.
     */
    @ParameterizedTest(name = "{0} with heap timers")
    @ValueSource(strings = {"q5", "q11"})
    void heapTimersToo(String query) throws Exception {
        runs.killAndCompare(
                query,
                "ferrostate-heap-timers",
                "HEAP",
                List.of(),
                "-Dstate.backend.ferrostate.timer-service.factory=HEAP");
    }
}
