package io.ferrostate.cluster;

import io.ferrostate.examples.Reference;
import io.ferrostate.examples.SessionTrackerParams;
import io.ferrostate.examples.WindowedParams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One run of an example job (io.ferrostate:ferrostate-examples) with an exactly-once FileSink
 * output, and its exact expected output from {@link Reference} (plain Java, outside Flink) for the
 * same options.
 */
final class ExampleJob {
    enum Kind {
        SESSION("io.ferrostate.examples.SessionTrackerJob"),
        WINDOWED("io.ferrostate.examples.WindowedJob");

        final String mainClass;

        Kind(String mainClass) {
            this.mainClass = mainClass;
        }
    }

    final Kind kind;
    final Path output;
    private String mainClass;
    private final List<String> options;
    private List<String> expected;

    private ExampleJob(Kind kind, Path output, String... options) {
        this.kind = kind;
        this.output = output.toAbsolutePath();
        this.options = List.of(options);
        this.mainClass = kind.mainClass;
    }

    /** Runs another main class with the same options and output (e.g. a job built around it). */
    ExampleJob withMainClass(String mainClass) {
        this.mainClass = mainClass;
        return this;
    }

    static ExampleJob session(Path output, String... options) {
        return new ExampleJob(Kind.SESSION, output, options);
    }

    static ExampleJob windowed(Path output, String... options) {
        return new ExampleJob(Kind.WINDOWED, output, options);
    }

    /** {@code bin/flink run} options naming the main class, plus {@code extra}. */
    List<String> runOptions(String... extra) {
        List<String> o = new ArrayList<>(Arrays.asList(extra));
        o.add("-c");
        o.add(mainClass);
        return o;
    }

    /** The job's arguments: the options plus {@code --output file://<output>}. */
    String[] args() {
        List<String> a = new ArrayList<>(options);
        a.add("--output");
        a.add(output.toUri().toString());
        return a.toArray(new String[0]);
    }

    String submit(FlinkCluster cluster, Path jar, String... runOptions) {
        return cluster.submit(runOptions(runOptions), jar, args());
    }

    /** Events the job's source generates. */
    long events() {
        String[] o = options.toArray(new String[0]);
        return kind == Kind.SESSION
                ? SessionTrackerParams.fromArgs(o).eventCount()
                : WindowedParams.fromArgs(o).eventCount();
    }

    /** Reference's lines for these options, sorted. */
    synchronized List<String> expected() {
        if (expected == null) {
            String[] o = options.toArray(new String[0]);
            List<String> lines =
                    kind == Kind.SESSION
                            ? Reference.sessionTracker(SessionTrackerParams.fromArgs(o))
                            : Reference.windowed(WindowedParams.fromArgs(o));
            lines.sort(null);
            expected = lines;
        }
        return expected;
    }

    /**
     * The committed output lines, sorted: every visible file under the output directory (the
     * FileSink's in-progress and pending files start with '.').
     */
    List<String> output() {
        if (!Files.isDirectory(output)) {
            return new ArrayList<>();
        }
        try (Stream<Path> files = Files.walk(output)) {
            List<String> lines = new ArrayList<>();
            for (Path f :
                    files.filter(Files::isRegularFile)
                            .filter(f -> !f.getFileName().toString().startsWith("."))
                            .collect(Collectors.toList())) {
                lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
            }
            lines.sort(null);
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The committed output equals Reference's exactly: nothing lost, nothing twice. */
    void assertOutputMatchesReference() {
        List<String> want = expected();
        List<String> got = output();
        assertThat(want).as("Reference produced no lines: pick other options").isNotEmpty();
        if (!got.equals(want)) {
            Map<String, Integer> diff = new HashMap<>();
            want.forEach(l -> diff.merge(l, 1, Integer::sum));
            got.forEach(l -> diff.merge(l, -1, Integer::sum));
            List<String> missing = new ArrayList<>();
            List<String> extra = new ArrayList<>();
            diff.forEach(
                    (l, n) -> {
                        for (int i = 0; i < Math.abs(n); i++) {
                            (n > 0 ? missing : extra).add(l);
                        }
                    });
            missing.sort(null);
            extra.sort(null);
            throw new AssertionError(
                    String.format(
                            "%s output in %s differs from Reference: %d lines expected, %d written;"
                                    + " %d missing (first: %s), %d extra or duplicated (first: %s)",
                            kind,
                            output,
                            want.size(),
                            got.size(),
                            missing.size(),
                            missing.stream().limit(3).collect(Collectors.toList()),
                            extra.size(),
                            extra.stream().limit(3).collect(Collectors.toList())));
        }
    }

    /** Copies the output directory, hidden in-progress files included, to {@code target}. */
    static void copyTree(Path from, Path target) throws IOException {
        Files.walkFileTree(
                from,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
                            throws IOException {
                        Files.createDirectories(target.resolve(from.relativize(dir)));
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.copy(
                                file,
                                target.resolve(from.relativize(file)),
                                StandardCopyOption.COPY_ATTRIBUTES);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p :
                    s.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                            .collect(Collectors.toList())) {
                Files.delete(p);
            }
        }
    }
}
