package io.ferrostate.nexmark;

import io.ferrostate.nexmark.check.Check;
import io.ferrostate.nexmark.check.CheckFiles;
import io.ferrostate.nexmark.table.NexmarkTableFactory;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every query plans and runs to the end on a small stream, with a non-empty checked result. */
class NexmarkQueriesITCase {

    @RegisterExtension
    static final MiniClusterExtension CLUSTER =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    static List<String> queries() {
        return NexmarkQuery.ALL;
    }

    @ParameterizedTest
    @MethodSource("queries")
    void runs(String name, @TempDir Path dir) throws Exception {
        NexmarkQuery query = NexmarkQuery.load(name);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.getConfig().addConfiguration(NexmarkQuery.tableOptions());
        Map<String, String> source = NexmarkQuery.events(20_000);
        source.put(NexmarkTableFactory.EVENT_RATE.key(), "1000");
        query.submit(tEnv, source, dir.toUri().toString(), "lines").await();
        Check check = CheckFiles.read(dir);
        assertThat(check.lines().values()).as(name + " multiplicities").allMatch(n -> n > 0);
        if (query.comparable()) {
            assertThat(check.rows()).as(name + " rows").isPositive();
        }
    }
}
