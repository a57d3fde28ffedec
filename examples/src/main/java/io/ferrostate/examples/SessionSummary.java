package io.ferrostate.examples;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** What the tracker emits every N events of a user (a Flink POJO). */
public class SessionSummary {
    public long userId;
    public long sessionStart;
    public long durationMs;
    public long eventCount;

    /** Events since the previous summary (the size of the event ListState when it was read). */
    public long recentEvents;

    /** Event-time span of those recent events. */
    public long recentSpanMs;

    /** The top features of the session, "name:count" joined by ',', count descending then name. */
    public String topFeatures;

    /** How many features a summary names. */
    public static final int TOP_N = 5;

    /** Count descending, then name ascending: the order of the top features. */
    public static final Comparator<Map.Entry<String, Long>> TOP_ORDER =
            Comparator.<Map.Entry<String, Long>>comparingLong(e -> -e.getValue())
                    .thenComparing(Map.Entry::getKey);

    public SessionSummary() {}

    public SessionSummary(
            long userId,
            long sessionStart,
            long durationMs,
            long eventCount,
            long recentEvents,
            long recentSpanMs,
            String topFeatures) {
        this.userId = userId;
        this.sessionStart = sessionStart;
        this.durationMs = durationMs;
        this.eventCount = eventCount;
        this.recentEvents = recentEvents;
        this.recentSpanMs = recentSpanMs;
        this.topFeatures = topFeatures;
    }

    /** The output line, one per summary; {@link Reference} produces the same lines. */
    public String toLine() {
        return "user="
                + userId
                + " events="
                + eventCount
                + " duration_ms="
                + durationMs
                + " recent="
                + recentEvents
                + " recent_span_ms="
                + recentSpanMs
                + " top="
                + topFeatures;
    }

    @Override
    public String toString() {
        return toLine();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionSummary && toLine().equals(((SessionSummary) o).toLine());
    }

    @Override
    public int hashCode() {
        return Objects.hash(toLine());
    }

    /** The top {@link #TOP_N} entries as "name:count,...", count descending, ties by name. */
    public static String formatTop(List<Map.Entry<String, Long>> counts) {
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(counts);
        sorted.sort(TOP_ORDER);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(TOP_N, sorted.size()); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(sorted.get(i).getKey()).append(':').append(sorted.get(i).getValue());
        }
        return sb.toString();
    }
}
