package io.ferrostate.flink.itcases;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.AggregatingState;
import org.apache.flink.api.common.state.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A keyed job with all five state kinds and event-time timers, whose final state per key is a pure
 * function of the input, so a test can check every key after failures and restores. Event {@code i}
 * goes to key {@code i % keys} with value {@code i}.
 */
final class AllStateKindsJob {
    private AllStateKindsJob() {}

    /** Final state per key, collected by the sink (one JVM: MiniCluster). */
    static final Map<Long, String> RESULTS = new ConcurrentHashMap<>();

    /** Set to an event index to fail once there, after a checkpoint completed. */
    static final AtomicInteger FAILURES = new AtomicInteger();

    static volatile long failAt = -1;

    /** Classes of the value state objects the tasks got: proves which backend ran. */
    static final java.util.Set<String> STATE_CLASSES = ConcurrentHashMap.newKeySet();

    static void build(StreamExecutionEnvironment env, long events, int keys, long throttleEvery) {
        DataStream<Long> input =
                env.fromSource(
                                new NumberSequenceSource(0, events - 1),
                                WatermarkStrategy.<Long>forMonotonousTimestamps()
                                        .withTimestampAssigner((e, ts) -> e),
                                "numbers")
                        .setParallelism(1);
        input.keyBy(e -> e % keys, Types.LONG)
                .process(new AllKinds(throttleEvery))
                .addSink(
                        new SinkFunction<String>() {
                            @Override
                            public void invoke(String value, Context context) {
                                String key = value.substring(0, value.indexOf(':'));
                                RESULTS.put(Long.parseLong(key), value);
                            }
                        });
    }

    /** What the job must output for a key, computed without Flink. */
    static String expected(long key, long events, int keys) {
        long count = 0;
        long sum = 0;
        List<Long> last = new ArrayList<>();
        TreeMap<Long, Long> buckets = new TreeMap<>();
        for (long i = key; i < events; i += keys) {
            count++;
            sum += i;
            last.add(i);
            if (last.size() > 5) {
                last.remove(0);
            }
            buckets.merge(i % 7, 1L, Long::sum);
        }
        return format(key, count, sum, last, buckets, sum, count == 0 ? 0 : sum / count);
    }

    static String format(
            long key,
            long count,
            long sum,
            List<Long> last,
            Map<Long, Long> buckets,
            long reduced,
            long avg) {
        return key
                + ":count="
                + count
                + ",sum="
                + sum
                + ",last="
                + last
                + ",buckets="
                + new TreeMap<>(buckets)
                + ",reduced="
                + reduced
                + ",avg="
                + avg;
    }

    /** Keeps every state kind per key; emits the final state when the watermark reaches the end. */
    static final class AllKinds extends KeyedProcessFunction<Long, Long, String>
            implements CheckpointListener {
        private final long throttleEvery;
        private transient ValueState<long[]> countAndSum;
        private transient ListState<Long> last;
        private transient MapState<Long, Long> buckets;
        private transient ReducingState<Long> reduced;
        private transient AggregatingState<Long, Long> average;
        private transient volatile boolean checkpointDone;

        AllKinds(long throttleEvery) {
            this.throttleEvery = throttleEvery;
        }

        @Override
        public void open(OpenContext openContext) {
            countAndSum =
                    getRuntimeContext()
                            .getState(new ValueStateDescriptor<>("countAndSum", long[].class));
            last = getRuntimeContext().getListState(new ListStateDescriptor<>("last", Types.LONG));
            buckets =
                    getRuntimeContext()
                            .getMapState(
                                    new MapStateDescriptor<>("buckets", Types.LONG, Types.LONG));
            reduced =
                    getRuntimeContext()
                            .getReducingState(
                                    new ReducingStateDescriptor<>(
                                            "reduced", Long::sum, Types.LONG));
            average =
                    getRuntimeContext()
                            .getAggregatingState(
                                    new AggregatingStateDescriptor<>(
                                            "average",
                                            new Average(),
                                            Types.TUPLE(Types.LONG, Types.LONG)));
            STATE_CLASSES.add(countAndSum.getClass().getName());
        }

        @Override
        public void processElement(Long e, Context ctx, Collector<String> out) throws Exception {
            if (e == failAt && FAILURES.get() == 0) {
                while (!checkpointDone) {
                    Thread.sleep(10);
                }
                FAILURES.incrementAndGet();
                throw new RuntimeException("Failure injected by the test at event " + e);
            }
            if (throttleEvery > 0 && e % throttleEvery == 0) {
                Thread.sleep(1);
            }
            long[] cs = countAndSum.value();
            if (cs == null) {
                cs = new long[2];
                ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE - 1);
            }
            cs[0]++;
            cs[1] += e;
            countAndSum.update(cs);
            last.add(e);
            List<Long> kept = new ArrayList<>();
            for (Long l : last.get()) {
                kept.add(l);
            }
            if (kept.size() > 5) {
                last.update(kept.subList(kept.size() - 5, kept.size()));
            }
            Long b = buckets.get(e % 7);
            buckets.put(e % 7, b == null ? 1 : b + 1);
            reduced.add(e);
            average.add(e);
        }

        @Override
        public void onTimer(long timestamp, OnTimerContext ctx, Collector<String> out)
                throws Exception {
            long[] cs = countAndSum.value();
            List<Long> l = new ArrayList<>();
            for (Long x : last.get()) {
                l.add(x);
            }
            Map<Long, Long> m = new TreeMap<>();
            for (Map.Entry<Long, Long> en : buckets.entries()) {
                m.put(en.getKey(), en.getValue());
            }
            out.collect(
                    format(ctx.getCurrentKey(), cs[0], cs[1], l, m, reduced.get(), average.get()));
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            checkpointDone = true;
        }
    }

    /** Integer average. */
    static final class Average
            implements AggregateFunction<
                    Long, org.apache.flink.api.java.tuple.Tuple2<Long, Long>, Long> {
        @Override
        public org.apache.flink.api.java.tuple.Tuple2<Long, Long> createAccumulator() {
            return org.apache.flink.api.java.tuple.Tuple2.of(0L, 0L);
        }

        @Override
        public org.apache.flink.api.java.tuple.Tuple2<Long, Long> add(
                Long v, org.apache.flink.api.java.tuple.Tuple2<Long, Long> acc) {
            return org.apache.flink.api.java.tuple.Tuple2.of(acc.f0 + v, acc.f1 + 1);
        }

        @Override
        public Long getResult(org.apache.flink.api.java.tuple.Tuple2<Long, Long> acc) {
            return acc.f1 == 0 ? 0 : acc.f0 / acc.f1;
        }

        @Override
        public org.apache.flink.api.java.tuple.Tuple2<Long, Long> merge(
                org.apache.flink.api.java.tuple.Tuple2<Long, Long> a,
                org.apache.flink.api.java.tuple.Tuple2<Long, Long> b) {
            return org.apache.flink.api.java.tuple.Tuple2.of(a.f0 + b.f0, a.f1 + b.f1);
        }
    }
}
