package io.ferrostate.examples;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Per user: a session {@code ValueState} (with a 24 h TTL), the events since the last summary in a
 * {@code ListState}, and per-feature counts in a {@code MapState}. Every {@code summaryEvery}
 * events of a user it emits a {@link SessionSummary} and clears the event list.
 */
public class SessionTracker extends KeyedProcessFunction<Long, UserEvent, SessionSummary> {
    private static final long serialVersionUID = 1L;

    private final int summaryEvery;

    private transient ValueState<SessionState> session;
    private transient ListState<UserEvent> recentEvents;
    private transient MapState<String, Long> featureCounts;

    public SessionTracker(int summaryEvery) {
        this.summaryEvery = summaryEvery;
    }

    @Override
    public void open(OpenContext openContext) {
        StateTtlConfig ttl =
                StateTtlConfig.newBuilder(Duration.ofHours(24))
                        .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                        .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                        .cleanupInRocksdbCompactFilter(1000)
                        .build();
        ValueStateDescriptor<SessionState> sessionDescriptor =
                new ValueStateDescriptor<>("session", SessionState.class);
        sessionDescriptor.enableTimeToLive(ttl);
        session = getRuntimeContext().getState(sessionDescriptor);
        recentEvents =
                getRuntimeContext()
                        .getListState(new ListStateDescriptor<>("recent-events", UserEvent.class));
        featureCounts =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "feature-counts", Types.STRING, Types.LONG));
    }

    @Override
    public void processElement(UserEvent event, Context ctx, Collector<SessionSummary> out)
            throws Exception {
        SessionState s = session.value();
        if (s == null) {
            s = new SessionState(event.timestamp);
        }
        s.add(event.timestamp);
        session.update(s);

        recentEvents.add(event);
        Long count = featureCounts.get(event.feature);
        featureCounts.put(event.feature, count == null ? 1L : count + 1);

        if (s.eventCount % summaryEvery == 0) {
            long recent = 0;
            long first = Long.MAX_VALUE;
            long last = Long.MIN_VALUE;
            for (UserEvent e : recentEvents.get()) {
                recent++;
                first = Math.min(first, e.timestamp);
                last = Math.max(last, e.timestamp);
            }
            List<Map.Entry<String, Long>> counts = new ArrayList<>();
            for (Map.Entry<String, Long> e : featureCounts.entries()) {
                counts.add(Map.entry(e.getKey(), e.getValue()));
            }
            out.collect(
                    new SessionSummary(
                            ctx.getCurrentKey(),
                            s.startTime,
                            s.durationMs,
                            s.eventCount,
                            recent,
                            recent == 0 ? 0 : last - first,
                            SessionSummary.formatTop(counts)));
            recentEvents.clear();
        }
    }
}
