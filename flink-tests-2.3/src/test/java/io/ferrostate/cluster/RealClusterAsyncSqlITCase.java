package io.ferrostate.cluster;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SQL jobs with asynchronous state on the real Flink 2.3 cluster: Nexmark queries (the same job jar
 * as on Flink 1.20) with {@code table.exec.async-state.enabled}, so that Flink's planner chooses
 * its asynchronous-state SQL operators and they run on ferrostate's asynchronous keyed backend,
 * with one TaskManager killed with SIGKILL after the first completed checkpoint; the restored run
 * must end with exactly the result of HashMap with synchronous state ({@link NexmarkKillRuns}).
 * Mini-batch is off in both runs (see {@link #NO_MINI_BATCH}), and every query must have run
 * operators on ferrostate's asynchronous keyed backend.
 *
 * <p>The queries: window aggregation and window join over hopping windows (q5), group aggregation
 * with distinct aggregates (q15) and a regular join (q20).
 */
class RealClusterAsyncSqlITCase extends NexmarkClusterTestBase {

    private static final String ASYNC_STATE = "-Dtable.exec.async-state.enabled=true";

    /**
     * Without mini-batch (Nexmark's table options turn it on): Flink 2.3 plans its mini-batch group
     * aggregation and join operators with synchronous state only.
     */
    private static final List<String> NO_MINI_BATCH =
            List.of("--table.exec.mini-batch.enabled", "false");

    @ParameterizedTest(name = "{0} with async state")
    @ValueSource(strings = {"q5", "q15", "q20"})
    void asyncStateKilledTaskManagerAndStillHashMapsResult(String query) throws Exception {
        List<String> ferro = new ArrayList<>(NO_MINI_BATCH);
        ferro.add(ASYNC_STATE);
        String id =
                runs.killAndCompare(
                        query,
                        "ferrostate-async",
                        "NATIVE",
                        NO_MINI_BATCH,
                        ferro.toArray(new String[0]));
        assertThat(runs.logged(id, true, ", operator ([^,]+),"))
                .as("%s: operators of job %s on ferrostate's asynchronous backend", query, id)
                .isNotEmpty();
    }
}
