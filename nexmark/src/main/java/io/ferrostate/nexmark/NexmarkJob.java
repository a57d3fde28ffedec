package io.ferrostate.nexmark;

import io.ferrostate.nexmark.table.NexmarkTableFactory;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.util.HashMap;
import java.util.Map;

/**
 * Runs one Nexmark query as a Flink job into a check sink. The state backend, checkpointing and
 * parallelism come from the cluster's (or {@code flink run -D}) configuration, never from here.
 *
 * <pre>
 * flink run -d -c io.ferrostate.nexmark.NexmarkJob ferrostate-nexmark.jar \
 *     --query q5 --events 5000000 --check-path file:///tmp/q5 [--check-mode digest|lines] \
 *     [--event-rate 10000000] [--seed 0] [--throttle 0] [--splits 0] [--table.OPTION VALUE]...
 * </pre>
 *
 * <p>{@code --table.*} arguments set table options over the benchmark's own ({@link
 * NexmarkQuery#tableOptions()}: mini-batch, split distinct aggregates), which a {@code -D} option
 * of {@code flink run} cannot override.
 *
 * <p>The same jar runs on Flink 1.20 and 2.x: it uses no API that one of them lacks (its arguments
 * are parsed here, as {@code ParameterTool} lives in different packages on the two lines).
 */
public final class NexmarkJob {
    private NexmarkJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> params = parse(args);
        NexmarkQuery query = NexmarkQuery.load(required(params, "query"));
        Map<String, String> source =
                NexmarkQuery.events(Long.parseLong(required(params, "events")));
        copy(params, source, NexmarkTableFactory.EVENT_RATE.key());
        copy(params, source, NexmarkTableFactory.SEED.key());
        copy(params, source, NexmarkTableFactory.THROTTLE.key());
        copy(params, source, NexmarkTableFactory.SPLITS.key());
        copy(params, source, NexmarkTableFactory.BASE_TIME.key());

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.getConfig().addConfiguration(NexmarkQuery.tableOptions());
        // Table options of this run over the benchmark's (e.g. --table.exec.mini-batch.enabled).
        params.forEach(
                (key, value) -> {
                    if (key.startsWith("table.")) {
                        tEnv.getConfig().set(key, value);
                    }
                });
        tEnv.getConfig().set("pipeline.name", "nexmark-" + query.name());
        TableResult result =
                query.submit(
                        tEnv,
                        source,
                        required(params, "check-path"),
                        params.getOrDefault("check-mode", "digest"));
        result.getJobClient()
                .ifPresent(
                        c ->
                                System.out.println(
                                        "Nexmark " + query.name() + " job " + c.getJobID()));
        if (Boolean.parseBoolean(params.getOrDefault("await", "false"))) {
            result.await();
        }
    }

    /** {@code --key value} pairs (a key without a value, or before another key, is "true"). */
    static Map<String, String> parse(String[] args) {
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || args[i].length() == 2) {
                throw new IllegalArgumentException(
                        "expected --key [value], found '" + args[i] + "'");
            }
            String key = args[i].substring(2);
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                params.put(key, args[++i]);
            } else {
                params.put(key, "true");
            }
        }
        return params;
    }

    private static String required(Map<String, String> params, String key) {
        String value = params.get(key);
        if (value == null) {
            throw new IllegalArgumentException("missing --" + key);
        }
        return value;
    }

    private static void copy(Map<String, String> params, Map<String, String> source, String key) {
        if (params.containsKey(key)) {
            source.put(key, params.get(key));
        }
    }
}
