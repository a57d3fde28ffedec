package io.ferrostate.examples;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Reference} and the generators against small cases computed by hand. */
class ReferenceTest {

    @Test
    void topFeaturesAreCountDescendingThenName() {
        Map<String, Long> counts = new HashMap<>();
        counts.put("b", 3L);
        counts.put("a", 3L);
        counts.put("c", 5L);
        counts.put("d", 1L);
        counts.put("g", 2L);
        counts.put("f", 2L);
        counts.put("e", 2L);
        assertThat(SessionSummary.formatTop(new ArrayList<>(counts.entrySet())))
                .isEqualTo("c:5,a:3,b:3,e:2,f:2");
        assertThat(SessionSummary.formatTop(List.of(Map.entry("x", 1L)))).isEqualTo("x:1");
        assertThat(SessionSummary.formatTop(List.of())).isEmpty();
    }

    @Test
    void sessionTrackerByHand() {
        List<UserEvent> events =
                Arrays.asList(
                        new UserEvent(1, "search", 0),
                        new UserEvent(2, "cart", 10),
                        new UserEvent(1, "cart", 20),
                        new UserEvent(1, "search", 50), // user 1: 3rd event -> summary
                        new UserEvent(2, "cart", 60),
                        new UserEvent(2, "help", 70), // user 2: 3rd event -> summary
                        new UserEvent(1, "help", 100),
                        new UserEvent(1, "help", 110),
                        new UserEvent(1, "help", 130), // user 1: 6th event -> summary
                        new UserEvent(1, "orders", 140)); // no summary: 7 is not a multiple of 3
        assertThat(Reference.sessionTracker(events, 3))
                .containsExactly(
                        "user=1 events=3 duration_ms=50 recent=3 recent_span_ms=50"
                                + " top=search:2,cart:1",
                        "user=2 events=3 duration_ms=60 recent=3 recent_span_ms=60"
                                + " top=cart:2,help:1",
                        // the recent events restart after a summary, the counts do not
                        "user=1 events=6 duration_ms=130 recent=3 recent_span_ms=30"
                                + " top=help:3,search:2,cart:1");
    }

    @Test
    void windowsByHand() {
        List<WindowEvent> events =
                Arrays.asList(
                        new WindowEvent(1, 1, 0),
                        new WindowEvent(1, 2, 2),
                        new WindowEvent(2, 10, 15),
                        new WindowEvent(1, 3, 4), // key 1: session [0, 4 + 3)
                        new WindowEvent(2, 20, 13), // out of order, merges with 15
                        new WindowEvent(1, 4, 9), // 9 > 4 + 3: a new session
                        new WindowEvent(1, 5, 11));
        List<String> lines = Reference.windowed(events, 10, 3);
        assertThat(lines)
                .containsExactlyInAnyOrder(
                        "tumble key=1 start=0 end=10 count=4 sum=10",
                        "tumble key=1 start=10 end=20 count=1 sum=5",
                        "tumble key=2 start=10 end=20 count=2 sum=30",
                        "session key=1 start=0 end=7 count=3 sum=6",
                        "session key=1 start=9 end=14 count=2 sum=9",
                        "session key=2 start=13 end=18 count=2 sum=30");
    }

    @Test
    void sessionsMergeWhenWithinTheGapAndRejectExactlyTheGap() {
        // 2 apart with a gap of 3: [0,3) and [2,5) intersect -> one session
        assertThat(
                        Reference.windowed(
                                List.of(new WindowEvent(7, 1, 0), new WindowEvent(7, 1, 2)),
                                100,
                                3))
                .contains("session key=7 start=0 end=5 count=2 sum=2");
        // exactly the gap apart: Flink's result depends on when the watermark arrives
        assertThatThrownBy(
                        () ->
                                Reference.windowed(
                                        List.of(new WindowEvent(7, 1, 0), new WindowEvent(7, 1, 3)),
                                        100,
                                        3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exactly one session gap apart");
    }

    @Test
    void generatedStreamsArePureFunctionsOfTheIndex() {
        SessionTrackerParams a = SessionTrackerParams.fromArgs("--users", "7", "--seed", "3");
        SessionTrackerParams b = SessionTrackerParams.fromArgs("--users", "7", "--seed", "3");
        for (long i = 0; i < 1000; i++) {
            UserEvent e = a.event(i);
            assertThat(e).isEqualTo(b.event(i));
            assertThat(e.userId).isBetween(0L, 6L);
            assertThat(e.timestamp).isEqualTo(SessionTrackerParams.START + i * a.stepMs);
            assertThat(Arrays.asList(SessionTrackerParams.FEATURE_NAMES)).contains(e.feature);
        }
        assertThat(SessionTrackerParams.fromArgs("--seed", "4").event(0))
                .isNotEqualTo(SessionTrackerParams.fromArgs("--seed", "3").event(0));
    }

    @Test
    void windowStreamIsOutOfOrderByAtMostTheJitter() {
        WindowedParams p = new WindowedParams();
        long max = WindowedParams.START;
        for (long i = 0; i < 20_000; i++) {
            WindowEvent e = p.event(i);
            assertThat(e.key).isBetween(0L, p.keys - 1L);
            assertThat(e.value).isBetween(1L, 100L);
            assertThat(e.timestamp).isGreaterThanOrEqualTo(max - p.jitterMs);
            max = Math.max(max, e.timestamp);
        }
    }

    @Test
    void defaultsGiveSummariesAndSessions() {
        SessionTrackerParams s =
                SessionTrackerParams.fromArgs("--events", "20000", "--users", "50");
        List<String> summaries = Reference.sessionTracker(s);
        Map<Long, Long> perUser = new HashMap<>();
        for (long i = 0; i < s.events; i++) {
            perUser.merge(s.event(i).userId, 1L, Long::sum);
        }
        long expected = perUser.values().stream().mapToLong(n -> n / s.summaryEvery).sum();
        assertThat(summaries).hasSize((int) expected);
        assertThat(summaries).allMatch(l -> l.contains(" recent=100 "));

        List<String> windows = Reference.windowed(new WindowedParams());
        long sessions = windows.stream().filter(l -> l.startsWith("session ")).count();
        long tumbles = windows.stream().filter(l -> l.startsWith("tumble ")).count();
        // 100k events 5 ms apart = 500 s: 50 tumbling windows per key at most, and sessions that
        // close when a key's group goes idle for a phase.
        assertThat(tumbles).isBetween(50L, 50L * 16);
        assertThat(sessions).isGreaterThan(16);
        long totalCount =
                windows.stream()
                        .filter(l -> l.startsWith("session "))
                        .mapToLong(l -> Long.parseLong(l.replaceAll(".* count=(\\d+) .*", "$1")))
                        .sum();
        assertThat(totalCount).isEqualTo(100_000);
    }

    @Test
    void argsParse() {
        Args a = Args.parse("--events", "5", "--unbounded", "--output=/tmp/x", "--rate", "2.5");
        assertThat(a.getLong("events", 0)).isEqualTo(5);
        assertThat(a.getFlag("unbounded")).isTrue();
        assertThat(a.get("output", null)).isEqualTo("/tmp/x");
        assertThat(a.get("rate", null)).isEqualTo("2.5");
        a.rejectUnknown("");
        assertThatThrownBy(() -> SessionTrackerParams.fromArgs("--evnets", "5"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("evnets");
    }
}
