package io.ferrostate.cluster.smoke;

import org.apache.flink.api.common.accumulators.IntCounter;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny bounded keyed-state job for the real-cluster smoke test, built by build-smoke-job.sh
 * with javac against the distribution's flink-dist jar.
 *
 * <p>The numbers 0..records-1 are keyed by {@code v % keys}; per key a ValueState (count), a
 * ValueState (sum), a MapState (residues mod 7) and a ListState (last 4 values) are kept. When a
 * key has seen all its values, its state is checked against the closed form and the key is
 * counted in the accumulators {@code keys-complete} / {@code keys-bad}, which the test reads
 * from the REST API. A throttle (records/s per source subtask) makes the job live through a few
 * checkpoints.
 *
 * <p>Arguments: --records N (200000) --keys K (1000) --rate R (50000, 0 = unthrottled)
 * --checkpoint-interval MS (1000, 0 = off).
 */
public final class KeyedStateSmokeJob {

    public static void main(String[] args) throws Exception {
        Map<String, String> p = parse(args);
        long records = Long.parseLong(p.getOrDefault("records", "200000"));
        int keys = Integer.parseInt(p.getOrDefault("keys", "1000"));
        long rate = Long.parseLong(p.getOrDefault("rate", "50000"));
        long interval = Long.parseLong(p.getOrDefault("checkpoint-interval", "1000"));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (interval > 0) {
            env.enableCheckpointing(interval);
        }
        env.fromSequence(0, records - 1)
                .name("sequence")
                .map(new Throttle(rate))
                .name("throttle")
                .keyBy(new ModKey(keys))
                .process(new CountPerKey(records, keys))
                .name("count-per-key")
                .addSink(new CheckSink())
                .name("check");
        env.execute("ferrostate keyed-state smoke job");
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        return m;
    }

    /** Limits each source subtask to {@code rate} records per second. */
    static final class Throttle extends RichMapFunction<Long, Long> {
        private final long rate;
        private transient long start;
        private transient long seen;

        Throttle(long rate) {
            this.rate = rate;
        }

        @Override
        public Long map(Long v) throws Exception {
            if (rate > 0) {
                if (seen++ == 0) {
                    start = System.nanoTime();
                }
                long due = start + seen * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 1_000_000L) {
                    Thread.sleep(wait / 1_000_000L);
                }
            }
            return v;
        }
    }

    static final class ModKey implements KeySelector<Long, Long> {
        private final int keys;

        ModKey(int keys) {
            this.keys = keys;
        }

        @Override
        public Long getKey(Long v) {
            return v % keys;
        }
    }

    static final class CountPerKey extends KeyedProcessFunction<Long, Long, Boolean> {
        private final long records;
        private final int keys;
        private transient ValueState<Long> count;
        private transient ValueState<Long> sum;
        private transient MapState<Integer, Long> residues;
        private transient ListState<Long> recent;

        CountPerKey(long records, int keys) {
            this.records = records;
            this.keys = keys;
        }

        @Override
        public void open(Configuration parameters) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
            residues =
                    getRuntimeContext()
                            .getMapState(new MapStateDescriptor<>("residues", Types.INT, Types.LONG));
            recent = getRuntimeContext().getListState(new ListStateDescriptor<>("recent", Types.LONG));
        }

        @Override
        public void processElement(Long v, Context ctx, Collector<Boolean> out) throws Exception {
            long c = (count.value() == null ? 0L : count.value()) + 1;
            long s = (sum.value() == null ? 0L : sum.value()) + v;
            count.update(c);
            sum.update(s);
            int r = (int) (v % 7);
            Long old = residues.get(r);
            residues.put(r, old == null ? 1L : old + 1);
            recent.add(v);
            List<Long> last = new ArrayList<>();
            for (Long x : recent.get()) {
                last.add(x);
            }
            if (last.size() > 4) {
                recent.update(new ArrayList<>(last.subList(last.size() - 4, last.size())));
            }

            long k = ctx.getCurrentKey();
            long n = records / keys + (k < records % keys ? 1 : 0);
            if (c == n) {
                long expectedSum = n * k + (long) keys * n * (n - 1) / 2;
                long residueTotal = 0;
                for (Long x : residues.values()) {
                    residueTotal += x;
                }
                int listSize = 0;
                for (Long x : recent.get()) {
                    listSize++;
                }
                out.collect(s == expectedSum && residueTotal == n && listSize == Math.min(4, n));
            }
        }
    }

    static final class CheckSink extends RichSinkFunction<Boolean> {
        private transient IntCounter complete;
        private transient IntCounter bad;

        @Override
        public void invoke(Boolean ok, Context context) {
            if (complete == null) {
                complete = getRuntimeContext().getIntCounter("keys-complete");
                bad = getRuntimeContext().getIntCounter("keys-bad");
            }
            complete.add(1);
            if (!ok) {
                bad.add(1);
            }
        }
    }
}
