package io.ferrostate.bench;

import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Runs the suite and writes the report: {@code make bench} (profile {@code short}), {@code make
 * bench-full} (profile {@code full}).
 *
 * <p>Six JMH runs: with all three backends the state benchmarks in-memory, the state benchmarks
 * out-of-core (a heap that is touched up front, so RSS growth is native memory; RocksDB also tuned
 * for large state), the floor benchmarks, the SQL window timers, the example job; and ferrostate
 * with its metrics off and on (their overhead). Their JSON results and the per-trial memory records
 * land in {@code <out>/tmp/}; {@link Report} turns them into {@code <out>/latest.md} and {@code
 * <out>/latest.json} ({@code <out>/tmp/smoke.*} for the smoke profile, which is never a result).
 *
 * <pre>
 * Options:
 *   --profile smoke|short|full   iterations (default short)
 *   --include REGEX              only benchmarks matching (repeatable), e.g. 'ValueStateBenchmark.valueGet'
 *   --regimes in-memory,out-of-core
 *   --backends HEAP,ROCKSDB,FERROSTATE  (out of core, ROCKSDB brings ROCKSDB_TUNED along: RocksDB
 *                                with partitioned index and filters, as Flink advises for large state)
 *   --groups state,floors,timers,job,metrics  which parts to run (default all; metrics: ferrostate
 *                                with its metrics off and on, read every 100 ms, in memory)
 *   --out DIR                    default bench/results
 *   --report-only                re-render the report from DIR/tmp without running anything
 * </pre>
 *
 * System properties given to the runner with {@code -Dferrostate.bench.*} are passed to the forks.
 */
public final class BenchRunner {

    /** JVM options of every fork: Flink's own opens for JDK 17. */
    static final List<String> OPENS =
            Arrays.asList(
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED");

    static final String STATE = "io\\.ferrostate\\.bench\\.(Value|List|Map)StateBenchmark\\.";
    static final String FLOORS =
            "io\\.ferrostate\\.bench\\.(AccessFloor|SerializerFloor|StoreLookupFloor)Benchmark\\.";
    static final String JOB = "io\\.ferrostate\\.bench\\.JobThroughputBenchmark\\.";
    static final String TIMERS =
            "io\\.ferrostate\\.bench\\.(SqlWindowTimer|TimerBacklog)Benchmark\\.";

    /** The metrics-overhead pair: reads, writes and an iteration, in memory (the fastest). */
    static final String METRICS =
            "io\\.ferrostate\\.bench\\.(ValueStateBenchmark\\.value(Get|Update)"
                    + "|MapStateBenchmark\\.map(Get|Update|Iterator)|ListStateBenchmark\\.listAppend)$";

    /** Iterations of one profile. */
    static final class Profile {
        final String name;
        final int warmups;
        final int warmupMs;
        final int measurements;
        final int measurementMs;
        final int jobWarmups;
        final int jobMeasurements;
        final String listReset;
        final long listSettleMs;

        Profile(
                String name,
                int warmups,
                int warmupMs,
                int measurements,
                int measurementMs,
                int jobWarmups,
                int jobMeasurements,
                String listReset,
                long listSettleMs) {
            this.name = name;
            this.warmups = warmups;
            this.warmupMs = warmupMs;
            this.measurements = measurements;
            this.measurementMs = measurementMs;
            this.jobWarmups = jobWarmups;
            this.jobMeasurements = jobMeasurements;
            this.listReset = listReset;
            this.listSettleMs = listSettleMs;
        }

        static Profile of(String name) {
            switch (name) {
                case "smoke":
                    return new Profile(name, 1, 1000, 1, 1000, 0, 1, "trial", 0);
                case "short":
                    // 114 state trials in under 20 minutes on 2 cores: loading the data (up to
                    // 20 s for an out-of-core map in RocksDB) leaves ~3 s of iterations per trial.
                    return new Profile(name, 1, 1000, 3, 500, 1, 2, "trial", 0);
                case "full":
                    // ~50 minutes on 2 cores: 4x the short profile's measured time per trial,
                    // warmed up 3x as long, lists reloaded before every iteration as in Flink.
                    return new Profile(name, 3, 1000, 5, 2000, 2, 5, "iteration", 1000);
                default:
                    throw new IllegalArgumentException(
                            "unknown profile " + name + " (smoke|short|full)");
            }
        }

        String describe() {
            return String.format(
                    Locale.ROOT,
                    "1 fork per trial, %d warmup iteration(s) of %.1f s + %d measurement iterations of %.1f s"
                            + " (example job: %d + %d single-job iterations); lists loaded once per %s",
                    warmups,
                    warmupMs / 1000.0,
                    measurements,
                    measurementMs / 1000.0,
                    jobWarmups,
                    jobMeasurements,
                    listReset);
        }
    }

    private BenchRunner() {}

    /**
     * The backends of a state regime: out of core, a run with RocksDB also runs RocksDB as Flink
     * advises for state larger than memory ({@code ROCKSDB_TUNED}), so ferrostate is compared with
     * both; in memory, Flink's defaults are what users run.
     */
    static String[] stateBackends(List<String> backends, String regime) {
        List<String> out = new ArrayList<>(backends);
        if (regime.equals("out-of-core")
                && out.contains("ROCKSDB")
                && !out.contains("ROCKSDB_TUNED")) {
            out.add(out.indexOf("ROCKSDB") + 1, "ROCKSDB_TUNED");
        }
        return out.toArray(new String[0]);
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> opts = parse(args);
        Profile profile = Profile.of(one(opts, "profile", "short"));
        Path out = Paths.get(one(opts, "out", "bench/results")).toAbsolutePath();
        Path tmp = out.resolve("tmp");
        List<String> includes = opts.getOrDefault("include", new ArrayList<>());
        List<String> regimes = list(one(opts, "regimes", "in-memory,out-of-core"));
        List<String> backends = list(one(opts, "backends", "HEAP,ROCKSDB,FERROSTATE"));
        List<String> groups = list(one(opts, "groups", "state,floors,timers,job,metrics"));
        String name = profile.name.equals("smoke") ? "smoke" : "latest";
        Path target = profile.name.equals("smoke") ? tmp : out;

        if (opts.containsKey("report-only")) {
            int status =
                    Report.write(tmp, target, name, profile.name, profile.describe(), null, -1);
            System.exit(status);
        }

        // A clean slate for this run's raw files.
        deleteRecursively(tmp);
        Files.createDirectories(tmp.resolve("memory"));
        Path work = tmp.resolve("work");
        Files.createDirectories(work);

        Map<String, String> natives = Natives.probe();
        natives.forEach(
                (k, why) -> {
                    if (why != null) {
                        System.out.println(
                                "ferrostate bench: floor '" + k + "' is skipped: " + why);
                    }
                });
        Files.write(
                tmp.resolve("natives.json"),
                Json.write(natives).getBytes(java.nio.charset.StandardCharsets.UTF_8));

        List<String> fork = new ArrayList<>(OPENS);
        fork.add("-Dferrostate.bench.memdir=" + tmp.resolve("memory"));
        fork.add("-Dferrostate.bench.workdir=" + work);
        fork.add("-Dferrostate.bench.list.reset=" + profile.listReset);
        fork.add("-Dferrostate.bench.list.settle-ms=" + profile.listSettleMs);
        fork.add("-Dlog4j2.configurationFile=log4j2-bench.properties");
        System.getProperties().stringPropertyNames().stream()
                .filter(
                        k ->
                                k.startsWith("ferrostate.")
                                        && !k.startsWith("ferrostate.bench.memdir")
                                        && !k.startsWith("ferrostate.bench.workdir")
                                        && !k.startsWith("ferrostate.bench.list."))
                .forEach(k -> fork.add("-D" + k + "=" + System.getProperty(k)));

        long started = System.nanoTime();
        Map<String, Double> groupSeconds = new LinkedHashMap<>();
        boolean failed = false;

        if (groups.contains("state")) {
            for (String regime : regimes) {
                List<String> jvm = new ArrayList<>(fork);
                if (regime.equals("out-of-core")) {
                    // A heap committed and touched at start: RSS growth during a trial is then
                    // native memory (RocksDB, ferrostate), not the heap growing.
                    jvm.addAll(Arrays.asList("-Xms3g", "-Xmx3g", "-XX:+AlwaysPreTouch"));
                } else {
                    jvm.addAll(Arrays.asList("-Xms1g", "-Xmx3g"));
                }
                ChainedOptionsBuilder b =
                        base(profile, jvm, tmp.resolve("jmh-state-" + regime + ".json"))
                                .param("backend", stateBackends(backends, regime))
                                .param("regime", regime);
                failed |= !run(b, STATE, includes, "state " + regime, groupSeconds);
            }
        }
        if (groups.contains("floors")) {
            List<String> jvm = new ArrayList<>(fork);
            jvm.addAll(Arrays.asList("-Xms1g", "-Xmx3g"));
            ChainedOptionsBuilder b =
                    base(profile, jvm, tmp.resolve("jmh-floors.json"))
                            .param("regime", regimes.toArray(new String[0]));
            if (natives.get("jniNoop") != null) {
                b.exclude("AccessFloorBenchmark\\.jniNoop$");
            }
            if (natives.get("jniTouch") != null) {
                b.exclude("AccessFloorBenchmark\\.jniTouch$");
            }
            if (natives.get("rustLookup") != null) {
                b.exclude("StoreLookupFloorBenchmark");
            }
            failed |= !run(b, FLOORS, includes, "floors", groupSeconds);
        }
        if (groups.contains("timers")) {
            List<String> jvm = new ArrayList<>(fork);
            jvm.addAll(Arrays.asList("-Xms1g", "-Xmx3g"));
            ChainedOptionsBuilder b =
                    base(profile, jvm, tmp.resolve("jmh-timers.json"))
                            .param("backend", backends.toArray(new String[0]));
            failed |= !run(b, TIMERS, includes, "SQL window timers", groupSeconds);
        }
        if (groups.contains("metrics") && backends.contains("FERROSTATE")) {
            List<String> jvm = new ArrayList<>(fork);
            jvm.addAll(Arrays.asList("-Xms1g", "-Xmx3g"));
            ChainedOptionsBuilder b =
                    base(profile, jvm, tmp.resolve("jmh-metrics.json"))
                            .param("backend", "FERROSTATE_METRICS_OFF", "FERROSTATE_METRICS_ON")
                            .param("regime", "in-memory")
                            // A pair with a side missing (a trial whose gauges were never read
                            // fails at its teardown) is no measurement: the run fails.
                            .shouldFailOnError(true);
            failed |= !run(b, METRICS, includes, "metrics overhead", groupSeconds);
        }
        if (groups.contains("job")) {
            List<String> jvm = new ArrayList<>(fork);
            jvm.addAll(Arrays.asList("-Xms1g", "-Xmx2g"));
            ChainedOptionsBuilder b =
                    base(profile, jvm, tmp.resolve("jmh-job.json"))
                            .param("backend", backends.toArray(new String[0]))
                            .warmupIterations(profile.jobWarmups)
                            .measurementIterations(profile.jobMeasurements)
                            .warmupTime(TimeValue.milliseconds(100))
                            .measurementTime(TimeValue.milliseconds(100));
            failed |= !run(b, JOB, includes, "example job", groupSeconds);
        }

        double wall = (System.nanoTime() - started) / 1e9;
        Files.write(
                tmp.resolve("timings.json"),
                Json.write(Map.of("wall_seconds", wall, "groups", groupSeconds))
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        int status =
                Report.write(
                        tmp, target, name, profile.name, profile.describe(), groupSeconds, wall);
        deleteRecursively(work);
        System.out.printf(
                Locale.ROOT, "ferrostate bench: %s profile took %.0f s%n", profile.name, wall);
        groupSeconds.forEach((g, s) -> System.out.printf(Locale.ROOT, "  %-22s %6.0f s%n", g, s));
        System.exit(failed ? 1 : status);
    }

    private static ChainedOptionsBuilder base(Profile p, List<String> jvmArgs, Path json) {
        return new OptionsBuilder()
                .forks(1)
                .warmupIterations(p.warmups)
                .warmupTime(TimeValue.milliseconds(p.warmupMs))
                .measurementIterations(p.measurements)
                .measurementTime(TimeValue.milliseconds(p.measurementMs))
                .jvmArgs(jvmArgs.toArray(new String[0]))
                .shouldFailOnError(false)
                .verbosity(VerboseMode.NORMAL)
                .resultFormat(ResultFormatType.JSON)
                .result(json.toString());
    }

    /** Runs one group; false if it failed outright. Groups with nothing selected are skipped. */
    private static boolean run(
            ChainedOptionsBuilder b,
            String group,
            List<String> includes,
            String label,
            Map<String, Double> seconds) {
        if (includes.isEmpty()) {
            b.include(group);
        } else {
            // JMH ORs its includes: each user pattern narrowed to this group.
            boolean any = false;
            for (String inc : includes) {
                for (String candidate : knownBenchmarks()) {
                    if (Pattern.compile(group).matcher(candidate).find()
                            && Pattern.compile(inc).matcher(candidate).find()) {
                        b.include(Pattern.quote(candidate) + "$");
                        any = true;
                    }
                }
            }
            if (!any) {
                return true;
            }
        }
        System.out.println("ferrostate bench: running " + label);
        long t0 = System.nanoTime();
        try {
            new Runner(b.build()).run();
            return true;
        } catch (RunnerException e) {
            System.err.println("ferrostate bench: " + label + " failed: " + e);
            return false;
        } finally {
            seconds.put(label, (System.nanoTime() - t0) / 1e9);
        }
    }

    static final Class<?>[] BENCHMARK_CLASSES = {
        ValueStateBenchmark.class,
        ListStateBenchmark.class,
        MapStateBenchmark.class,
        AccessFloorBenchmark.class,
        SerializerFloorBenchmark.class,
        StoreLookupFloorBenchmark.class,
        SqlWindowTimerBenchmark.class,
        TimerBacklogBenchmark.class,
        JobThroughputBenchmark.class
    };

    /** Full names of every benchmark method of the suite. */
    static List<String> knownBenchmarks() {
        List<String> names = new ArrayList<>();
        for (Class<?> c : BENCHMARK_CLASSES) {
            for (java.lang.reflect.Method m : c.getMethods()) {
                if (m.isAnnotationPresent(org.openjdk.jmh.annotations.Benchmark.class)) {
                    names.add(c.getName() + "." + m.getName());
                }
            }
        }
        return names;
    }

    private static Map<String, List<String>> parse(String[] args) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            String key = a.substring(2);
            if (key.equals("report-only")) {
                m.computeIfAbsent(key, k -> new ArrayList<>());
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            m.computeIfAbsent(key, k -> new ArrayList<>()).add(args[++i]);
        }
        return m;
    }

    private static String one(Map<String, List<String>> opts, String key, String dflt) {
        List<String> v = opts.get(key);
        return v == null || v.isEmpty() ? dflt : v.get(v.size() - 1);
    }

    private static List<String> list(String s) {
        return Arrays.stream(s.split(","))
                .map(String::trim)
                .filter(x -> !x.isEmpty())
                .collect(Collectors.toList());
    }

    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x :
                    s.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(x);
            }
        }
    }
}
