package io.ferrostate.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The Nexmark report's summary cells and rows, from hand-made runs. */
class NexmarkBenchmarkTest {

    private static NexmarkBenchmark.Run run(String backend, int round, double rate) {
        NexmarkBenchmark.Run r = new NexmarkBenchmark.Run();
        r.query = "q8";
        r.events = 5_000_000;
        r.backend = backend;
        r.round = round;
        r.eventsPerSecond = rate;
        r.check = "abc";
        return r;
    }

    private static NexmarkBenchmark.Run failed(String backend, int round) {
        NexmarkBenchmark.Run r = run(backend, round, 0);
        r.status = "FAILED";
        r.cause = "TaskManager lost\n  at its heartbeat | twice";
        r.check = null;
        return r;
    }

    @Test
    void oneRunIsItsRate() {
        assertThat(NexmarkBenchmark.cell(Collections.singletonList(run("hashmap", 1, 1234.4))))
                .isEqualTo("1,234");
    }

    @Test
    void roundsGiveTheMedianAndTheRangeOfFinishedRuns() {
        List<NexmarkBenchmark.Run> rs =
                Arrays.asList(run("f", 1, 300), run("f", 2, 100), run("f", 3, 200));
        assertThat(NexmarkBenchmark.cell(rs)).isEqualTo("200 (100-300)");
        assertThat(NexmarkBenchmark.median(rs.subList(0, 2))).isEqualTo(200.0);

        List<NexmarkBenchmark.Run> withFailure =
                Arrays.asList(run("f", 1, 300), failed("f", 2), run("f", 3, 100));
        assertThat(NexmarkBenchmark.cell(withFailure)).isEqualTo("200 (100-300), FAILED 1 of 3");
        assertThat(NexmarkBenchmark.cell(Arrays.asList(failed("f", 1), failed("f", 2))))
                .isEqualTo("FAILED");
    }

    @Test
    void ratiosAreOfMediansAndNameAFailedBackend() {
        List<NexmarkBenchmark.Run> a = Arrays.asList(run("a", 1, 300), run("a", 2, 100));
        List<NexmarkBenchmark.Run> b = Collections.singletonList(run("b", 1, 100));
        assertThat(NexmarkBenchmark.ratio(a, b)).isEqualTo("2.00x");
        assertThat(NexmarkBenchmark.ratio(a, Collections.singletonList(failed("b", 1))))
                .isEqualTo("(b failed)");
    }

    @Test
    void aRowHasAColumnPerHeaderColumnAndKeepsTheTableIntact() {
        String header = NexmarkBenchmark.Run.TABLE_HEADER.split("\n")[0];
        int columns = header.split("\\|", -1).length - 2;
        assertThat(run("f", 1, 1).columns()).hasSize(columns);
        List<String> row = failed("f", 2).columns();
        assertThat(row).hasSize(columns);
        assertThat(row.get(3)).isEqualTo("FAILED: TaskManager lost / at its heartbeat / twice");
        assertThat(String.join("", row)).doesNotContain("\n");
        assertThat(row.get(row.size() - 1)).isEqualTo("-");
    }
}
