package io.ferrostate.examples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The exact output of {@link SessionTrackerJob} and {@link WindowedJob} for given parameters,
 * computed in plain Java without Flink, so a run on any backend can be checked line by line
 * (order-independent: compare sorted lines or multisets).
 *
 * <p>From the command line (the job jar needs no Flink for this): {@code java -cp
 * ferrostate-examples.jar io.ferrostate.examples.Reference session|windowed [job options]} prints
 * the expected lines, sorted.
 */
public final class Reference {
    private Reference() {}

    public static void main(String[] args) {
        if (args.length == 0 || !(args[0].equals("session") || args[0].equals("windowed"))) {
            System.err.println(
                    "usage: Reference session|windowed [options of that job]\n\n"
                            + SessionTrackerParams.USAGE
                            + "\n\n"
                            + WindowedParams.USAGE);
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        List<String> lines =
                args[0].equals("session")
                        ? sessionTracker(SessionTrackerParams.fromArgs(rest))
                        : windowed(WindowedParams.fromArgs(rest));
        lines.sort(null);
        lines.forEach(System.out::println);
    }

    /** Per-user state of the tracker's simulation. */
    private static final class User {
        SessionState session;
        long recent;
        long recentFirst = Long.MAX_VALUE;
        long recentLast = Long.MIN_VALUE;
        final Map<String, Long> featureCounts = new HashMap<>();
    }

    /** The summaries the session tracker emits, as {@link SessionSummary#toLine()} lines. */
    public static List<String> sessionTracker(SessionTrackerParams p) {
        p.validate();
        if (p.unbounded) {
            throw new IllegalArgumentException("an unbounded stream has no reference output");
        }
        List<UserEvent> events = new ArrayList<>();
        for (long i = 0; i < p.events; i++) {
            events.add(p.event(i));
        }
        return sessionTracker(events, p.summaryEvery);
    }

    /**
     * The summaries for {@code events} in this order (the order each user's events reach the
     * tracker), with a summary every {@code summaryEvery} events of a user.
     */
    public static List<String> sessionTracker(List<UserEvent> events, int summaryEvery) {
        Map<Long, User> users = new HashMap<>();
        List<String> out = new ArrayList<>();
        for (UserEvent e : events) {
            User u = users.computeIfAbsent(e.userId, k -> new User());
            if (u.session == null) {
                u.session = new SessionState(e.timestamp);
            }
            u.session.add(e.timestamp);
            u.recent++;
            u.recentFirst = Math.min(u.recentFirst, e.timestamp);
            u.recentLast = Math.max(u.recentLast, e.timestamp);
            u.featureCounts.merge(e.feature, 1L, Long::sum);
            if (u.session.eventCount % summaryEvery == 0) {
                out.add(
                        new SessionSummary(
                                        e.userId,
                                        u.session.startTime,
                                        u.session.durationMs,
                                        u.session.eventCount,
                                        u.recent,
                                        u.recentLast - u.recentFirst,
                                        SessionSummary.formatTop(
                                                new ArrayList<>(u.featureCounts.entrySet())))
                                .toLine());
                u.recent = 0;
                u.recentFirst = Long.MAX_VALUE;
                u.recentLast = Long.MIN_VALUE;
            }
        }
        return out;
    }

    /** The tumbling and session window lines of the windowed job. */
    public static List<String> windowed(WindowedParams p) {
        p.validate();
        if (p.unbounded) {
            throw new IllegalArgumentException("an unbounded stream has no reference output");
        }
        List<WindowEvent> events = new ArrayList<>();
        for (long i = 0; i < p.events; i++) {
            events.add(p.event(i));
        }
        return windowed(events, p.tumbleMs, p.sessionGapMs);
    }

    /**
     * The window lines for {@code events}, assuming none is late (the job's watermarks guarantee
     * it): tumbling windows of {@code tumbleMs}, session windows with gap {@code sessionGapMs}.
     */
    public static List<String> windowed(
            List<WindowEvent> events, long tumbleMs, long sessionGapMs) {
        // key -> window start -> {count, sum}
        Map<Long, TreeMap<Long, long[]>> tumbling = new TreeMap<>();
        // key -> event time -> {count, sum} (events sorted by time, as the watermark sees them)
        Map<Long, TreeMap<Long, long[]>> byTime = new TreeMap<>();
        for (WindowEvent e : events) {
            long start = e.timestamp - Math.floorMod(e.timestamp, tumbleMs);
            add(tumbling.computeIfAbsent(e.key, k -> new TreeMap<>()), start, e.value);
            add(byTime.computeIfAbsent(e.key, k -> new TreeMap<>()), e.timestamp, e.value);
        }
        List<String> out = new ArrayList<>();
        tumbling.forEach(
                (key, windows) ->
                        windows.forEach(
                                (start, cs) ->
                                        out.add(
                                                CountSum.line(
                                                        "tumble",
                                                        key,
                                                        start,
                                                        start + tumbleMs,
                                                        cs[0],
                                                        cs[1]))));
        // Session windows: each event opens [t, t + gap); windows merge when they intersect,
        // and TimeWindow.intersects counts touching ends, so t joins a session iff t <= last + gap.
        byTime.forEach(
                (key, times) -> {
                    long start = 0;
                    long last = 0;
                    long count = 0;
                    long sum = 0;
                    for (Map.Entry<Long, long[]> e : times.entrySet()) {
                        long t = e.getKey();
                        if (count > 0 && t == last + sessionGapMs) {
                            // Flink may already have fired and purged the session ending at t
                            // (watermark t - 1) when this event arrives: it depends on timing.
                            throw new IllegalArgumentException(
                                    "key "
                                            + key
                                            + " has events exactly one session gap apart ("
                                            + last
                                            + ", "
                                            + t
                                            + "): the session result depends on timing; pick"
                                            + " other parameters");
                        }
                        if (count > 0 && t > last + sessionGapMs) {
                            out.add(
                                    CountSum.line(
                                            "session",
                                            key,
                                            start,
                                            last + sessionGapMs,
                                            count,
                                            sum));
                            count = 0;
                            sum = 0;
                        }
                        if (count == 0) {
                            start = t;
                        }
                        last = t;
                        count += e.getValue()[0];
                        sum += e.getValue()[1];
                    }
                    if (count > 0) {
                        out.add(
                                CountSum.line(
                                        "session", key, start, last + sessionGapMs, count, sum));
                    }
                });
        return out;
    }

    private static void add(TreeMap<Long, long[]> map, long at, long value) {
        long[] cs = map.computeIfAbsent(at, k -> new long[2]);
        cs[0]++;
        cs[1] += value;
    }
}
