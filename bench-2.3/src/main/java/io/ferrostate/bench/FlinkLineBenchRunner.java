package io.ferrostate.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The state micro-benchmarks (value, list and map state; bench/src/state) on Flink 2.3: HashMap,
 * EmbeddedRocksDB, ForSt in local mode and ferrostate in one JMH run, each backend built through
 * its public factory on a task environment with the same managed memory ({@link BenchBackends}).
 * Writes {@code <out>/flink-2.3.md} and {@code <out>/flink-2.3.json}: ops/ms per benchmark, regime
 * and backend, and ferrostate's ratios to each of the others. {@code make bench-2.3}.
 *
 * <pre>
 * Options:
 *   --regimes in-memory,out-of-core   (default in-memory)
 *   --backends HEAP,ROCKSDB,FORST,FERROSTATE
 *   --include REGEX|none              (default the three state benchmark classes)
 *   --async true|false                (default true: also AsyncValueStateBenchmark, Flink 2's
 *                                     asynchronous API, on FORST and FERROSTATE, in memory)
 *   --warmups N --warmup-ms MS --measurements N --measurement-ms MS   (default 1, 1000, 3, 500:
 *                                     the short profile of make bench)
 *   --out DIR                         (default bench/results)
 *   --name NAME                       (default flink-2.3: the files NAME.md and NAME.json)
 * </pre>
 */
public final class FlinkLineBenchRunner {

    private static final List<String> OPENS =
            Arrays.asList(
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED");

    private FlinkLineBenchRunner() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String[] regimes = opts.getOrDefault("regimes", "in-memory").split(",");
        String[] backends =
                opts.getOrDefault("backends", "HEAP,ROCKSDB,FORST,FERROSTATE").split(",");
        Path out = Paths.get(opts.getOrDefault("out", "bench/results")).toAbsolutePath();
        String name = opts.getOrDefault("name", "flink-2.3");
        Path work = out.resolve("tmp/flink-2.3-work");
        Files.createDirectories(work);
        Files.createDirectories(out.resolve("tmp/flink-2.3-memory"));

        List<String> jvm = new ArrayList<>(OPENS);
        jvm.add("-Xmx1g");
        jvm.add("-Dferrostate.bench.workdir=" + work);
        jvm.add("-Dferrostate.bench.memdir=" + out.resolve("tmp/flink-2.3-memory"));
        jvm.add("-Dferrostate.bench.list.reset=trial");
        jvm.add("-Dferrostate.bench.list.settle-ms=0");
        jvm.add("-Dlog4j2.configurationFile=log4j2-bench.properties");

        long t0 = System.nanoTime();
        List<RunResult> results = new ArrayList<>();
        String include =
                opts.getOrDefault(
                        "include", "io\\.ferrostate\\.bench\\.(Value|List|Map)StateBenchmark\\.");
        if (!include.equals("none")) {
            results.addAll(
                    new Runner(
                                    options(opts, jvm)
                                            .include(include)
                                            .param("backend", backends)
                                            .param("regime", regimes)
                                            .build())
                            .run());
        }
        // The asynchronous state API: only the backends with a native state executor.
        List<String> async = new ArrayList<>();
        for (String be : backends) {
            if (be.equals("FORST") || be.equals("FERROSTATE")) {
                async.add(be);
            }
        }
        if (!async.isEmpty() && Boolean.parseBoolean(opts.getOrDefault("async", "true"))) {
            results.addAll(
                    new Runner(
                                    options(opts, jvm)
                                            .include(
                                                    "io\\.ferrostate\\.bench\\.AsyncValueStateBenchmark\\.")
                                            .param("backend", async.toArray(new String[0]))
                                            .param("regime", "in-memory")
                                            .build())
                            .run());
        }
        double minutes = (System.nanoTime() - t0) / 60e9;

        // benchmark -> regime -> backend -> [score, error]
        Map<String, Map<String, Map<String, double[]>>> scores = new TreeMap<>();
        for (RunResult r : results) {
            String bench = r.getParams().getBenchmark();
            bench = bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1);
            String regime = r.getParams().getParam("regime");
            String backend = r.getParams().getParam("backend");
            scores.computeIfAbsent(bench, k -> new TreeMap<>())
                    .computeIfAbsent(regime, k -> new LinkedHashMap<>())
                    .put(
                            backend,
                            new double[] {
                                r.getPrimaryResult().getScore(),
                                r.getPrimaryResult().getScoreError()
                            });
        }
        Files.write(
                out.resolve(name + ".json"), Json.write(scores).getBytes(StandardCharsets.UTF_8));
        Files.write(
                out.resolve(name + ".md"),
                markdown(scores, backends, minutes).getBytes(StandardCharsets.UTF_8));
        System.out.println(markdown(scores, backends, minutes));
    }

    /** Forks, iterations and JVM arguments of every run. */
    private static ChainedOptionsBuilder options(Map<String, String> opts, List<String> jvm) {
        return new OptionsBuilder()
                .forks(1)
                .warmupIterations(Integer.parseInt(opts.getOrDefault("warmups", "1")))
                .warmupTime(
                        TimeValue.milliseconds(
                                Long.parseLong(opts.getOrDefault("warmup-ms", "1000"))))
                .measurementIterations(Integer.parseInt(opts.getOrDefault("measurements", "3")))
                .measurementTime(
                        TimeValue.milliseconds(
                                Long.parseLong(opts.getOrDefault("measurement-ms", "500"))))
                .jvmArgsAppend(jvm.toArray(new String[0]));
    }

    private static String markdown(
            Map<String, Map<String, Map<String, double[]>>> scores,
            String[] backends,
            double minutes) {
        StringBuilder md = new StringBuilder();
        md.append("# State micro-benchmarks on Flink 2.3\n\n")
                .append(
                        String.format(
                                Locale.ROOT,
                                "`make bench-2.3`: one JMH run, %.0f minutes; ops/ms (higher is"
                                        + " better), 1 fork per trial; ratios are ferrostate's"
                                        + " score over the other backend's.\n\n",
                                minutes));
        md.append("| benchmark | regime |");
        for (String be : backends) {
            md.append(' ').append(be).append(" |");
        }
        for (String be : backends) {
            if (!be.equals("FERROSTATE")) {
                md.append(" ferro/").append(be).append(" |");
            }
        }
        md.append('\n').append("|---|---|");
        for (int i = 0; i < backends.length * 2 - 1; i++) {
            md.append("---|");
        }
        md.append('\n');
        scores.forEach(
                (bench, byRegime) ->
                        byRegime.forEach(
                                (regime, byBackend) -> {
                                    md.append("| ").append(bench).append(" | ").append(regime);
                                    md.append(" |");
                                    for (String be : backends) {
                                        double[] s = byBackend.get(be);
                                        md.append(' ')
                                                .append(
                                                        s == null
                                                                ? "-"
                                                                : String.format(
                                                                        Locale.ROOT, "%,.0f", s[0]))
                                                .append(" |");
                                    }
                                    double[] f = byBackend.get("FERROSTATE");
                                    for (String be : backends) {
                                        if (be.equals("FERROSTATE")) {
                                            continue;
                                        }
                                        double[] o = byBackend.get(be);
                                        md.append(' ')
                                                .append(
                                                        f == null || o == null || o[0] == 0
                                                                ? "-"
                                                                : String.format(
                                                                        Locale.ROOT,
                                                                        "%.2fx",
                                                                        f[0] / o[0]))
                                                .append(" |");
                                    }
                                    md.append('\n');
                                }));
        return md.toString();
    }
}
