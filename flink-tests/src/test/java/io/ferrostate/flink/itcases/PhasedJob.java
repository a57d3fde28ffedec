package io.ferrostate.flink.itcases;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.AggregatingState;
import org.apache.flink.api.common.state.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.streaming.api.functions.source.RichSourceFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.util.Collector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A keyed job driven by the test, phase by phase, so that checkpoints and savepoints are taken at
 * known points of the input and jobs restored from them go on where the snapshot stopped.
 *
 * <p>Event {@code i} goes to key {@code i % keys} with value and event time {@code i}. The keyed
 * function keeps all five state kinds, a TTL value state (one day: nothing expires during a test)
 * and, from a key's first event, an event-time timer at {@code Long.MAX_VALUE - 1}. That timer
 * fires only when the input ends (the final watermark), so a job restored from a snapshot emits a
 * key's state only if the timer registered before the snapshot came through it. The output of every
 * key must then be {@link #expected}, computed without Flink.
 *
 * <p>The source reads commands from {@link #COMMANDS} (one JVM: MiniCluster): emit a range of
 * events, emit one poison event that fails the keyed task once, or end the input.
 */
final class PhasedJob {
    private PhasedJob() {}

    static final String SOURCE_UID = "phased-source";
    static final String KEYED_UID = "phased-keyed";
    static final String SINK_UID = "phased-sink";

    private static final long RANGE = 0;
    private static final long FAIL = 1;
    private static final long FINISH = 2;

    static final LinkedBlockingQueue<long[]> COMMANDS = new LinkedBlockingQueue<>();

    /** Events processed by the keyed function (poison events excluded). */
    static final AtomicLong PROCESSED = new AtomicLong();

    /** Final state per key, emitted when the key's timer fires. */
    static final Map<Long, String> RESULTS = new ConcurrentHashMap<>();

    /** Failures injected so far. */
    static final AtomicInteger FAILURES = new AtomicInteger();

    /** Names of the classes of the value state objects: which backend ran the keyed function. */
    static final Set<String> STATE_CLASSES = ConcurrentHashMap.newKeySet();

    /** The state descriptors, shared with readers and bootstrappers. */
    static ValueStateDescriptor<long[]> countAndSumDescriptor() {
        return new ValueStateDescriptor<>("countAndSum", long[].class);
    }

    static ListStateDescriptor<Long> lastDescriptor() {
        return new ListStateDescriptor<>("last", Types.LONG);
    }

    static MapStateDescriptor<Long, Long> bucketsDescriptor() {
        return new MapStateDescriptor<>("buckets", Types.LONG, Types.LONG);
    }

    static ReducingStateDescriptor<Long> reducedDescriptor() {
        return new ReducingStateDescriptor<>("reduced", Long::sum, Types.LONG);
    }

    static AggregatingStateDescriptor<Long, Tuple2<Long, Long>, Long> averageDescriptor() {
        return new AggregatingStateDescriptor<>(
                "average", new AllStateKindsJob.Average(), Types.TUPLE(Types.LONG, Types.LONG));
    }

    static ValueStateDescriptor<Long> ttlDescriptor() {
        ValueStateDescriptor<Long> d = new ValueStateDescriptor<>("ttlCount", Types.LONG);
        d.enableTimeToLive(
                StateTtlConfig.newBuilder(Duration.ofDays(1))
                        .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                        .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                        .build());
        return d;
    }

    static void reset() {
        COMMANDS.clear();
        PROCESSED.set(0);
        RESULTS.clear();
        FAILURES.set(0);
        STATE_CLASSES.clear();
    }

    /** Emits events {@code [from, to)}, then a watermark at {@code to - 1}. */
    static void emit(long from, long to) {
        COMMANDS.add(new long[] {RANGE, from, to});
    }

    /** Emits one poison event: the keyed function throws when it sees it. */
    static void failOnce() {
        COMMANDS.add(new long[] {FAIL});
    }

    /** Ends the input: the final watermark fires every timer. */
    static void finish() {
        COMMANDS.add(new long[] {FINISH});
    }

    static void awaitProcessed(long events, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (PROCESSED.get() < events) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "only "
                                + PROCESSED.get()
                                + " of "
                                + events
                                + " events were processed in "
                                + timeout);
            }
            Thread.sleep(5);
        }
    }

    /** Builds the job: source (parallelism 1) -> keyed function -> sink, with stable uids. */
    static void build(StreamExecutionEnvironment env, int keys) {
        env.addSource(new CommandSource(), "commands", Types.LONG)
                .uid(SOURCE_UID)
                .setParallelism(1)
                .keyBy(e -> e < 0 ? -1L : e % keys, Types.LONG)
                .process(new AllKindsWithTtl())
                .uid(KEYED_UID)
                .addSink(
                        new SinkFunction<String>() {
                            @Override
                            public void invoke(String value, Context context) {
                                String key = value.substring(0, value.indexOf(':'));
                                RESULTS.put(Long.parseLong(key), value);
                            }
                        })
                .uid(SINK_UID);
    }

    /** What the job must emit for {@code key} after events {@code [0, events)}. */
    static String expected(long key, long events, int keys) {
        long count = 0;
        for (long i = key; i < events; i += keys) {
            count++;
        }
        return AllStateKindsJob.expected(key, events, keys) + ",ttl=" + count;
    }

    /** The state of {@code key} after events {@code [0, events)}, as plain Java values. */
    static final class Model {
        long count;
        long sum;
        final List<Long> last = new ArrayList<>();
        final TreeMap<Long, Long> buckets = new TreeMap<>();

        static Model of(long key, long events, int keys) {
            Model m = new Model();
            for (long i = key; i < events; i += keys) {
                m.count++;
                m.sum += i;
                m.last.add(i);
                if (m.last.size() > 5) {
                    m.last.remove(0);
                }
                m.buckets.merge(i % 7, 1L, Long::sum);
            }
            return m;
        }
    }

    /** Emits what the test puts in {@link #COMMANDS}; stops at a finish command or cancel. */
    static final class CommandSource extends RichSourceFunction<Long> {
        private volatile boolean running = true;

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            while (running) {
                long[] c = COMMANDS.poll(20, TimeUnit.MILLISECONDS);
                if (c == null) {
                    continue;
                }
                if (c[0] == FINISH) {
                    return;
                }
                synchronized (ctx.getCheckpointLock()) {
                    if (c[0] == FAIL) {
                        ctx.collect(-1L);
                    } else {
                        for (long i = c[1]; i < c[2]; i++) {
                            ctx.collectWithTimestamp(i, i);
                        }
                        ctx.emitWatermark(new Watermark(c[2] - 1));
                    }
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    /** All five kinds, a TTL value state and one event-time timer per key. */
    static final class AllKindsWithTtl extends KeyedProcessFunction<Long, Long, String> {
        private transient ValueState<long[]> countAndSum;
        private transient ListState<Long> last;
        private transient MapState<Long, Long> buckets;
        private transient ReducingState<Long> reduced;
        private transient AggregatingState<Long, Long> average;
        private transient ValueState<Long> ttlCount;

        @Override
        public void open(OpenContext openContext) {
            countAndSum = getRuntimeContext().getState(countAndSumDescriptor());
            last = getRuntimeContext().getListState(lastDescriptor());
            buckets = getRuntimeContext().getMapState(bucketsDescriptor());
            reduced = getRuntimeContext().getReducingState(reducedDescriptor());
            average = getRuntimeContext().getAggregatingState(averageDescriptor());
            ttlCount = getRuntimeContext().getState(ttlDescriptor());
            STATE_CLASSES.add(countAndSum.getClass().getName());
        }

        @Override
        public void processElement(Long e, Context ctx, Collector<String> out) throws Exception {
            if (e < 0) {
                // The source is not replayed after a restart: each poison event comes once.
                FAILURES.incrementAndGet();
                throw new RuntimeException("Failure injected by the test");
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
            Long t = ttlCount.value();
            ttlCount.update(t == null ? 1 : t + 1);
            PROCESSED.incrementAndGet();
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
                    AllStateKindsJob.format(
                                    ctx.getCurrentKey(),
                                    cs[0],
                                    cs[1],
                                    l,
                                    m,
                                    reduced.get(),
                                    average.get())
                            + ",ttl="
                            + ttlCount.value());
        }
    }

    static TypeInformation<Long> keyType() {
        return Types.LONG;
    }
}
