package io.ferrostate.flink23;

import io.ferrostate.flink.FerroStateBackendFactory;
import io.ferrostate.flink.async.FerroStateExecutor;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameter;
import org.apache.flink.testutils.junit.extensions.parameterized.ParameterizedTestExtension;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameters;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.TestTemplate;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SQL jobs on Flink 2.3, with checkpoints and object reuse (as Flink's own SQL tests run RocksDB):
 * a group aggregation, a regular join followed by an aggregation, and event-time tumbling windows
 * (window state and timers under keys the operators reuse), each with synchronous state and with
 * asynchronous state ({@code table.exec.async-state.enabled}: then on ferrostate's asynchronous
 * backend), on ferrostate and on HashMap. The final results (changelogs applied) must be equal.
 */
@ExtendWith(ParameterizedTestExtension.class)
class SqlJobsITCase {

    private static final long ORDERS = 30_000;

    @TempDir Path tmp;

    @Parameter public boolean asyncState;

    @Parameters(name = "asyncState={0}")
    public static List<Boolean> modes() {
        return List.of(false, true);
    }

    @TestTemplate
    void groupAggregationGivesHashMapsResult() throws Exception {
        String sql =
                "SELECT user_id, COUNT(*) AS n, SUM(amount) AS total, MAX(amount) AS top"
                        + " FROM orders GROUP BY user_id";
        compare(sql, 500, true);
    }

    @TestTemplate
    void regularJoinGivesHashMapsResult() throws Exception {
        String sql =
                "SELECT u.region, COUNT(*) AS n, SUM(o.amount) AS total"
                        + " FROM orders o JOIN users u ON o.user_id = u.id"
                        + " GROUP BY u.region";
        compare(sql, 7, true);
    }

    /** 1 s windows over 10 ms event-time steps: 300 windows of 10 buckets each. */
    @TestTemplate
    void tumblingWindowsGiveHashMapsResult() throws Exception {
        String sql =
                "SELECT window_start, user_id % 10 AS bucket, COUNT(*) AS n, SUM(amount) AS total"
                        + " FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' SECOND))"
                        + " GROUP BY window_start, window_end, user_id % 10";
        compare(sql, (int) (ORDERS / 100 * 10), false);
    }

    /**
     * Runs the query on ferrostate and on HashMap; with asynchronous state and {@code
     * viaAsyncBackend}, ferrostate's state executor must have answered the operators' requests.
     */
    private void compare(String sql, int expectedRows, boolean viaAsyncBackend) throws Exception {
        long before = FerroStateExecutor.executedRequests();
        long batchedBefore = FerroStateExecutor.batchedRequests();
        Map<String, Integer> ferro =
                run(FerroStateBackendFactory.class.getName(), sql, tmp.resolve("f"));
        long executed = FerroStateExecutor.executedRequests() - before;
        long batched = FerroStateExecutor.batchedRequests() - batchedBefore;
        Map<String, Integer> heap = run("hashmap", sql, tmp.resolve("h"));
        assertThat(heap).hasSize(expectedRows);
        assertThat(ferro).isEqualTo(heap);
        if (asyncState && viaAsyncBackend) {
            assertThat(executed).isGreaterThanOrEqualTo(ORDERS);
            // Many of them in runs that crossed to the native store in one call.
            assertThat(batched).isPositive();
        } else if (!asyncState) {
            assertThat(executed).isZero();
            assertThat(batched).isZero();
        }
    }

    /** The query's final result as a multiset of rows: its changelog applied. */
    private Map<String, Integer> run(String backend, String sql, Path dir) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
        conf.set(PipelineOptions.OBJECT_REUSE, true);
        conf.setString("table.exec.async-state.enabled", Boolean.toString(asyncState));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.enableCheckpointing(Duration.ofMillis(300).toMillis());
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.executeSql(
                "CREATE TABLE orders_raw (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 10, 3),"
                        + " WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)"
                        + " WITH ('connector' = 'datagen',"
                        + " 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',"
                        + " 'fields.id.end' = '"
                        + (ORDERS - 1)
                        + "', 'rows-per-second' = '20000')");
        tEnv.executeSql(
                "CREATE VIEW orders AS SELECT id, id % 500 AS user_id, (id * 7919) % 1000 AS amount,"
                        + " ts"
                        + " FROM orders_raw");
        tEnv.executeSql(
                "CREATE TABLE users_raw (id BIGINT) WITH ('connector' = 'datagen',"
                        + " 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',"
                        + " 'fields.id.end' = '499')");
        tEnv.executeSql(
                "CREATE VIEW users AS SELECT id, CONCAT('region-', CAST(id % 7 AS STRING)) AS region"
                        + " FROM users_raw");
        TableResult result = tEnv.executeSql(sql);
        Map<String, Integer> rows = new TreeMap<>();
        try (CloseableIterator<Row> it = result.collect()) {
            while (it.hasNext()) {
                Row row = it.next();
                RowKind kind = row.getKind();
                row.setKind(RowKind.INSERT);
                String key = row.toString();
                int delta = kind == RowKind.INSERT || kind == RowKind.UPDATE_AFTER ? 1 : -1;
                rows.merge(key, delta, Integer::sum);
            }
        }
        List<String> gone = new ArrayList<>();
        rows.forEach(
                (k, n) -> {
                    if (n == 0) {
                        gone.add(k);
                    }
                });
        gone.forEach(rows::remove);
        return rows;
    }
}
