package io.ferrostate.nexmark;

import io.ferrostate.nexmark.table.NexmarkTableFactory;

import org.apache.flink.api.java.utils.ParameterTool;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.util.Map;

/**
 * Runs one Nexmark query as a Flink job into a check sink. The state backend, checkpointing and
 * parallelism come from the cluster's (or {@code flink run -D}) configuration, never from here.
 *
 * <pre>
 * flink run -d -c io.ferrostate.nexmark.NexmarkJob ferrostate-nexmark.jar \
 *     --query q5 --events 5000000 --check-path file:///tmp/q5 [--check-mode digest|lines] \
 *     [--event-rate 10000000] [--seed 0] [--throttle 0] [--splits 0]
 * </pre>
 */
public final class NexmarkJob {
    private NexmarkJob() {}

    public static void main(String[] args) throws Exception {
        ParameterTool params = ParameterTool.fromArgs(args);
        NexmarkQuery query = NexmarkQuery.load(params.getRequired("query"));
        Map<String, String> source = NexmarkQuery.events(params.getLong("events"));
        copy(params, source, NexmarkTableFactory.EVENT_RATE.key());
        copy(params, source, NexmarkTableFactory.SEED.key());
        copy(params, source, NexmarkTableFactory.THROTTLE.key());
        copy(params, source, NexmarkTableFactory.SPLITS.key());
        copy(params, source, NexmarkTableFactory.BASE_TIME.key());

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.getConfig().addConfiguration(NexmarkQuery.tableOptions());
        tEnv.getConfig().set("pipeline.name", "nexmark-" + query.name());
        TableResult result =
                query.submit(
                        tEnv,
                        source,
                        params.getRequired("check-path"),
                        params.get("check-mode", "digest"));
        result.getJobClient()
                .ifPresent(
                        c ->
                                System.out.println(
                                        "Nexmark " + query.name() + " job " + c.getJobID()));
        if (params.getBoolean("await", false)) {
            result.await();
        }
    }

    private static void copy(ParameterTool params, Map<String, String> source, String key) {
        if (params.has(key)) {
            source.put(key, params.get(key));
        }
    }
}
