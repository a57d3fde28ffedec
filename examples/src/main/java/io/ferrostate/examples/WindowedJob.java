package io.ferrostate.examples;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

import java.time.Duration;

/**
 * An event-time job with two keyed windows over one generated stream: a tumbling window (count and
 * sum per key and 10 s, an {@link AggregateFunction}: AggregatingState) and a session window (gap 3
 * s, a {@link ReduceFunction}: ReducingState, merging namespaces and their timers). Both emit one
 * line per window:
 *
 * <pre>
 * tumble key=3 start=1700000010000 end=1700000020000 count=512 sum=25871
 * session key=3 start=1700000005012 end=1700000013187 count=403 sum=20170
 * </pre>
 *
 * <p>A plain job, the cluster configuration chooses the state backend. Run it with {@code flink run
 * -c io.ferrostate.examples.WindowedJob ferrostate-examples.jar --events 1000000 --output
 * file:///tmp/windows}; see {@link WindowedParams#USAGE}. The source runs with parallelism 1 (one
 * split, so one watermark generator that no event can fall behind); the results depend on neither
 * the window parallelism nor the timing, and {@link Reference} computes them exactly.
 */
public final class WindowedJob {
    private WindowedJob() {}

    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--help")) {
            System.out.println(WindowedParams.USAGE);
            return;
        }
        run(args);
    }

    public static JobExecutionResult run(String... args) throws Exception {
        WindowedParams params = WindowedParams.fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        SessionTrackerJob.configure(env, params);
        DataStream<String> lines = windows(env, params);
        if (params.output != null) {
            lines.sinkTo(Sinks.lines(params.output, "windows"))
                    .name("window-file-sink")
                    .uid("window-file-sink");
        } else {
            lines.print().name("window-print").uid("window-print");
        }
        return env.execute("ferrostate example: windows");
    }

    /** Source, watermarks and both windows; the result lines of both windows, unioned. */
    public static DataStream<String> windows(
            StreamExecutionEnvironment env, WindowedParams params) {
        WindowedParams p = params.validate();
        DataGeneratorSource<WindowEvent> source =
                new DataGeneratorSource<>(
                        new EventGenerator(p),
                        p.eventCount(),
                        p.rate > 0
                                ? RateLimiterStrategy.perSecond(p.rate)
                                : RateLimiterStrategy.noOp(),
                        TypeInformation.of(WindowEvent.class));
        WatermarkStrategy<WindowEvent> watermarks =
                WatermarkStrategy.<WindowEvent>forBoundedOutOfOrderness(
                                Duration.ofMillis(p.jitterMs))
                        .withTimestampAssigner((e, previous) -> e.timestamp);
        KeyedStream<WindowEvent, Long> byKey =
                env.fromSource(source, watermarks, "window-events")
                        .setParallelism(1)
                        .uid("window-events")
                        .keyBy(e -> e.key, Types.LONG);

        DataStream<String> tumbling =
                byKey.window(TumblingEventTimeWindows.of(Duration.ofMillis(p.tumbleMs)))
                        .aggregate(new CountSumAggregate(), new Label("tumble"))
                        .name("tumbling-window")
                        .uid("tumbling-window");

        DataStream<String> sessions =
                byKey.map(e -> new CountSum(e.key, 1, e.value))
                        .returns(CountSum.class)
                        .name("to-count-sum")
                        .uid("to-count-sum")
                        .keyBy(c -> c.key, Types.LONG)
                        .window(EventTimeSessionWindows.withGap(Duration.ofMillis(p.sessionGapMs)))
                        .reduce(new SumCounts(), new Label("session"))
                        .name("session-window")
                        .uid("session-window");
        return tumbling.union(sessions);
    }

    /** Event i of {@link WindowedParams#event(long)}. */
    public static final class EventGenerator implements GeneratorFunction<Long, WindowEvent> {
        private static final long serialVersionUID = 1L;
        private final WindowedParams params;

        public EventGenerator(WindowedParams params) {
            this.params = params;
        }

        @Override
        public WindowEvent map(Long index) {
            return params.event(index);
        }
    }

    /** Count and sum of the values in a window (AggregatingState). */
    public static final class CountSumAggregate
            implements AggregateFunction<WindowEvent, CountSum, CountSum> {
        private static final long serialVersionUID = 1L;

        @Override
        public CountSum createAccumulator() {
            return new CountSum(0, 0, 0);
        }

        @Override
        public CountSum add(WindowEvent e, CountSum acc) {
            acc.key = e.key;
            acc.count++;
            acc.sum += e.value;
            return acc;
        }

        @Override
        public CountSum getResult(CountSum acc) {
            return acc;
        }

        @Override
        public CountSum merge(CountSum a, CountSum b) {
            return new CountSum(a.key, a.count + b.count, a.sum + b.sum);
        }
    }

    /** Adds counts and sums (ReducingState); the session window merges these on every merge. */
    public static final class SumCounts implements ReduceFunction<CountSum> {
        private static final long serialVersionUID = 1L;

        @Override
        public CountSum reduce(CountSum a, CountSum b) {
            return new CountSum(a.key, a.count + b.count, a.sum + b.sum);
        }
    }

    /** Turns a window's result into its output line. */
    public static final class Label
            extends ProcessWindowFunction<CountSum, String, Long, TimeWindow> {
        private static final long serialVersionUID = 1L;
        private final String kind;

        public Label(String kind) {
            this.kind = kind;
        }

        @Override
        public void process(
                Long key, Context ctx, Iterable<CountSum> results, Collector<String> out) {
            for (CountSum r : results) {
                out.collect(
                        CountSum.line(
                                kind,
                                key,
                                ctx.window().getStart(),
                                ctx.window().getEnd(),
                                r.count,
                                r.sum));
            }
        }
    }
}
