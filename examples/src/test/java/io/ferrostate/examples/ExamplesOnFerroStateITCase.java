package io.ferrostate.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both example jobs, unchanged, on a MiniCluster whose configuration selects ferrostate (only
 * {@code state.backend.type}), with checkpoints; their exactly-once file output must equal {@link
 * Reference}'s line by line.
 *
 * <p>The MiniCluster runs in a child JVM ({@link JobsOnMiniCluster} via {@link ChildJvm}): a JVM
 * that ran ferrostate can hang in its exit, and this one must not, or the build would hang.
 */
class ExamplesOnFerroStateITCase {
    static final String FERROSTATE = "io.ferrostate.flink.FerroStateBackendFactory";

    /** The backend under test; -Dexamples.backend=hashmap runs the same checks on Flink's own. */
    static final String BACKEND = System.getProperty("examples.backend", FERROSTATE);

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sessionTrackerMatchesReference(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        String[] args = {
            "--events", "20000",
            "--users", "50",
            "--rate", "8000",
            "--checkpoint-interval", "300",
            "--parallelism", "2",
            "--output", out.toUri().toString()
        };
        Properties stats = runJob("session", dir, args);
        List<String> expected = Reference.sessionTracker(SessionTrackerParams.fromArgs(args));
        assertThat(expected).hasSizeGreaterThan(150);
        assertSameLines(readLines(out), expected);
        assertRanOnBackendWithCheckpoints(stats);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void windowedJobMatchesReference(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        String[] args = {
            "--events", "40000",
            "--rate", "15000",
            "--checkpoint-interval", "300",
            "--parallelism", "2",
            "--output", out.toUri().toString()
        };
        Properties stats = runJob("windowed", dir, args);
        List<String> expected = Reference.windowed(WindowedParams.fromArgs(args));
        assertThat(expected).anyMatch(l -> l.startsWith("session "));
        assertThat(expected).anyMatch(l -> l.startsWith("tumble "));
        assertSameLines(readLines(out), expected);
        assertRanOnBackendWithCheckpoints(stats);
    }

    /** Runs the job in a child JVM; returns what its JobManager reported. */
    static Properties runJob(String job, Path dir, String[] jobArgs) throws Exception {
        Path statsFile = dir.resolve("stats.properties");
        List<String> args = new ArrayList<>();
        args.add(job);
        args.add(BACKEND);
        args.add(statsFile.toString());
        args.add(dir.resolve("checkpoints").toUri().toString());
        args.addAll(Arrays.asList(jobArgs));
        int status = ChildJvm.run(JobsOnMiniCluster.class.getName(), args, 5, 100);
        assertThat(status).as("exit status of the job's JVM (its stack trace is above)").isZero();
        Properties stats = new Properties();
        try (Reader r = Files.newBufferedReader(statsFile, StandardCharsets.UTF_8)) {
            stats.load(r);
        }
        return stats;
    }

    static void assertRanOnBackendWithCheckpoints(Properties stats) {
        assertThat(stats.getProperty("state")).isEqualTo("FINISHED");
        if (BACKEND.equals(FERROSTATE)) {
            assertThat(stats.getProperty("backend")).containsIgnoringCase("ferrostate");
        }
        assertThat(Long.parseLong(stats.getProperty("completedCheckpoints")))
                .isGreaterThanOrEqualTo(2);
    }

    static void assertSameLines(List<String> actual, List<String> expected) {
        List<String> a = new ArrayList<>(actual);
        List<String> e = new ArrayList<>(expected);
        a.sort(null);
        e.sort(null);
        // Compared as text so a failure shows a readable diff.
        assertThat(String.join("\n", a)).isEqualTo(String.join("\n", e));
    }

    /** The committed output: every visible file (in-progress files start with '.'). */
    static List<String> readLines(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> visible =
                    files.filter(Files::isRegularFile)
                            .filter(p -> !p.getFileName().toString().startsWith("."))
                            .sorted()
                            .collect(Collectors.toList());
            List<String> lines = new ArrayList<>();
            for (Path p : visible) {
                lines.addAll(Files.readAllLines(p, StandardCharsets.UTF_8));
            }
            return lines;
        }
    }
}
