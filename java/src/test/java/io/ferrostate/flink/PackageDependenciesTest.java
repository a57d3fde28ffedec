package io.ferrostate.flink;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packages of the shim depend on each other without cycles: the backend ({@code
 * io.ferrostate.flink}) uses snapshot, restore, meta and nativ; snapshot and restore know the
 * backend only through {@code snapshot.SnapshotSource} and the {@code meta} types; nativ depends on
 * no other package of ours. Both Flink lines' sources count: on Flink 2.3 {@code compat} uses
 * {@code async}, which uses Flink only.
 */
class PackageDependenciesTest {
    /** The shared sources and those of each Flink line (flink-2.3 compiles the last too). */
    private static final List<Path> SOURCES =
            Arrays.asList(
                    Paths.get("src/main/java"),
                    Paths.get("src/flink-1.20/java"),
                    Paths.get("src/flink-2.3/java"));

    private static final Pattern IMPORT =
            Pattern.compile(
                    "^import (?:static )?(io\\.ferrostate(?:\\.[a-z][a-z0-9_]*)*)\\.[A-Z]",
                    Pattern.MULTILINE);

    /** Package -> the packages of ours it imports from. */
    private static Map<String, Set<String>> graph() throws IOException {
        Map<String, Set<String>> deps = new TreeMap<>();
        for (Path root : SOURCES) {
            addPackages(root, deps);
        }
        return deps;
    }

    private static void addPackages(Path root, Map<String, Set<String>> deps) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(p -> p.toString().endsWith(".java")).collect(Collectors.toList());
        }
        for (Path file : files) {
            String pkg = root.relativize(file.getParent()).toString().replace('/', '.');
            Set<String> out = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
            Matcher m =
                    IMPORT.matcher(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
            while (m.find()) {
                if (!m.group(1).equals(pkg)) {
                    out.add(m.group(1));
                }
            }
        }
    }

    @Test
    void noPackageDependsOnItselfThroughOthers() throws IOException {
        Map<String, Set<String>> deps = graph();
        assertTrue(deps.size() >= 6, "found packages " + deps.keySet());
        for (String start : deps.keySet()) {
            List<String> path = new ArrayList<>();
            path.add(start);
            List<String> cycle = cycleFrom(start, start, deps, path, new TreeSet<>());
            assertEquals(null, cycle, "import cycle");
        }
    }

    @Test
    void theNativeLayerDependsOnNothingOfOurs() throws IOException {
        assertEquals(Set.of(), graph().get("io.ferrostate.flink.nativ"));
    }

    private static List<String> cycleFrom(
            String start,
            String at,
            Map<String, Set<String>> deps,
            List<String> path,
            Set<String> seen) {
        for (String next : deps.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                return cycle;
            }
            if (seen.add(next)) {
                path.add(next);
                List<String> found = cycleFrom(start, next, deps, path, seen);
                if (found != null) {
                    return found;
                }
                path.remove(path.size() - 1);
            }
        }
        return null;
    }
}
