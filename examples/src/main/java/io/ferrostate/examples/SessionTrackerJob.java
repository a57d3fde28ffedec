package io.ferrostate.examples;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The user-session tracker: a generated stream of (user, feature, time) events keyed by user;
 * {@link SessionTracker} keeps a session ValueState (TTL 24 h), a ListState of recent events and a
 * MapState of feature counts, and emits a summary every 100 events of a user.
 *
 * <p>A plain job: nothing here names a state backend, the cluster configuration chooses it ({@code
 * state.backend.type: io.ferrostate.flink.FerroStateBackendFactory}). Run it with {@code flink run
 * ferrostate-examples.jar --events 1000000 --output file:///tmp/sessions}; see {@link
 * SessionTrackerParams#USAGE} for the options.
 *
 * <p>The source runs with parallelism 1 so each user's events reach the tracker in generation
 * order; the output then does not depend on the tracker's parallelism and {@link Reference} can
 * compute it exactly.
 */
public final class SessionTrackerJob {
    private SessionTrackerJob() {}

    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--help")) {
            System.out.println(SessionTrackerParams.USAGE);
            return;
        }
        run(args);
    }

    /** Parses {@code args}, builds the job on the context environment, runs it to the end. */
    public static JobExecutionResult run(String... args) throws Exception {
        SessionTrackerParams params = SessionTrackerParams.fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        configure(env, params);
        DataStream<String> lines =
                summaries(env, params)
                        .map(SessionSummary::toLine)
                        .returns(Types.STRING)
                        .name("summary-to-line")
                        .uid("summary-to-line");
        if (params.output != null) {
            lines.sinkTo(Sinks.lines(params.output, "sessions"))
                    .name("summary-file-sink")
                    .uid("summary-file-sink");
        } else {
            lines.print().name("summary-print").uid("summary-print");
        }
        return env.execute("ferrostate example: session tracker");
    }

    /** Checkpointing and parallelism from the parameters (0 / -1 leave the environment's). */
    public static void configure(StreamExecutionEnvironment env, JobParams params) {
        if (params.checkpointIntervalMs > 0) {
            env.enableCheckpointing(params.checkpointIntervalMs);
        }
        if (params.parallelism > 0) {
            env.setParallelism(params.parallelism);
        }
    }

    /** The source and the keyed tracker; callers attach their own sink. */
    public static DataStream<SessionSummary> summaries(
            StreamExecutionEnvironment env, SessionTrackerParams params) {
        SessionTrackerParams p = params.validate();
        DataGeneratorSource<UserEvent> source =
                new DataGeneratorSource<>(
                        new EventGenerator(p),
                        p.eventCount(),
                        p.rate > 0
                                ? RateLimiterStrategy.perSecond(p.rate)
                                : RateLimiterStrategy.noOp(),
                        TypeInformation.of(UserEvent.class));
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "user-events")
                .setParallelism(1)
                .uid("user-events")
                .keyBy(e -> e.userId, Types.LONG)
                .process(new SessionTracker(p.summaryEvery))
                .returns(SessionSummary.class)
                .name("session-tracker")
                .uid("session-tracker");
    }

    /** Event i of {@link SessionTrackerParams#event(long)}. */
    public static final class EventGenerator implements GeneratorFunction<Long, UserEvent> {
        private static final long serialVersionUID = 1L;
        private final SessionTrackerParams params;

        public EventGenerator(SessionTrackerParams params) {
            this.params = params;
        }

        @Override
        public UserEvent map(Long index) {
            return params.event(index);
        }
    }
}
