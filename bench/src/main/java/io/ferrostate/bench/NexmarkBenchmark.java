package io.ferrostate.bench;

import io.ferrostate.cluster.FlinkCluster;
import io.ferrostate.cluster.ProcStat;
import io.ferrostate.cluster.RssSampler;
import io.ferrostate.nexmark.NexmarkQuery;
import io.ferrostate.nexmark.check.Check;
import io.ferrostate.nexmark.check.CheckFiles;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import javax.annotation.Nullable;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Nexmark on a real standalone Flink 1.20.5 cluster (Flink's own binaries, {@code
 * flink-tests/cluster}): each query on HashMap, EmbeddedRocksDB and ferrostate side by side in one
 * run, at each size, and {@code bench/results/nexmark.md} and {@code nexmark.json}. {@code make
 * bench-nexmark}.
 *
 * <p>The cluster: a JobManager and 2 TaskManagers of 1 slot each, the same process size for every
 * backend, ferrostate's jar in {@code lib/}; jobs at parallelism 2 with a checkpoint every 10 s
 * (incremental for RocksDB and ferrostate), no restarts (a failure is a result). The backend is
 * chosen per job ({@code -Dstate.backend.type}). Both TaskManagers are restarted before every run,
 * so that CPU and resident memory belong to that run alone.
 *
 * <p>Per run: events/s, the events of the bounded source (a job finishes only after all of them)
 * over the job's running time (first task start to last task end, not submission or start-up),
 * TaskManager CPU seconds and peak resident memory (from {@code /proc}, sampled every 250 ms),
 * checkpoint durations and sizes (from the REST API), and the check of the result; runs of one
 * query and size must have equal checks.
 *
 * <pre>
 * --queries q0,q5,...      default: every query
 * --sizes 5000000          comma-separated event counts for every query
 * --size-of q16=2000000    a query that runs at this size instead of --sizes (comma-separated)
 * --large-size 15000000    one more size, for --large-queries only (0: none)
 * --large-queries q18,q19,q20
 * --backends hashmap,rocksdb,ferrostate (ferrostate-heap-timers: ferrostate with heap timers;
 *                          Flink 2.x: forst, and every backend with -async; ferrostate-handoff-async:
 *                          no state requests executed on the task thread)
 * --tm-memory 6g           taskmanager.memory.process.size
 * --tm-java-opts "..."     env.java.opts.taskmanager, e.g. an -agentpath for async-profiler
 * --repeat 1               rounds of every query and size: each round runs every backend once
 *                          (their order rotated per round); the tables give each backend's median
 *                          events/s and its range, and every run below
 * --timeout-s 900          a run that takes longer is cancelled and reported FAILED
 * --out bench/results      writes nexmark.md and nexmark.json (--name to change)
 * </pre>
 */
public final class NexmarkBenchmark {

    private static final List<String> BACKENDS = Arrays.asList("hashmap", "rocksdb", "ferrostate");

    private static final String TIMERS_OPTION = "state.backend.ferrostate.timer-service.factory";

    private NexmarkBenchmark() {}

    /** One job run. */
    static final class Run {
        String query;
        long events;
        String backend;
        int round = 1;
        String status = "FINISHED";
        String cause;
        double runningSeconds;
        double eventsPerSecond;
        double cpuSeconds;
        long peakRssBytes;
        long checkpoints;
        double checkpointP50Seconds;
        double checkpointMaxSeconds;
        long checkpointMaxBytes;
        long checkpointBytesTotal;
        String check;
        Boolean checkMatches;
        double wallSeconds;

        boolean finished() {
            return status.equals("FINISHED");
        }

        /**
         * The run's row, as the report's table and the console show it: query, backend, round,
         * status (with the cause of a failure), events/s, TaskManager CPU seconds, peak RSS,
         * checkpoints, their p50 / max duration and largest size, the result's digest.
         */
        List<String> columns() {
            return Arrays.asList(
                    query,
                    backend,
                    Integer.toString(round),
                    finished() ? status : "FAILED: " + oneLine(cause),
                    String.format(Locale.ROOT, "%,.0f", eventsPerSecond),
                    String.format(Locale.ROOT, "%.1f", cpuSeconds),
                    Report.mib(peakRssBytes),
                    Long.toString(checkpoints),
                    String.format(
                            Locale.ROOT,
                            "%.2f / %.2f s",
                            checkpointP50Seconds,
                            checkpointMaxSeconds),
                    Report.mib(checkpointMaxBytes),
                    check == null ? "-" : check);
        }

        /** The header of {@link #columns()}'s table. */
        static final String TABLE_HEADER =
                "| query | backend | round | status | events/s | cpu s | peak rss | ckpts"
                        + " | ckpt p50 / max | ckpt max size | result |\n"
                        + "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|\n";

        /** The events/s of the finished runs among {@code rs}, in increasing order. */
        static double[] finishedRates(@Nullable List<Run> rs) {
            return rs == null
                    ? new double[0]
                    : rs.stream()
                            .filter(Run::finished)
                            .mapToDouble(r -> r.eventsPerSecond)
                            .sorted()
                            .toArray();
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = parse(args);
        List<String> queries = list(o.getOrDefault("queries", String.join(",", NexmarkQuery.ALL)));
        List<Long> sizes =
                list(o.getOrDefault("sizes", "5000000")).stream()
                        .map(Long::parseLong)
                        .collect(Collectors.toList());
        long largeSize = Long.parseLong(o.getOrDefault("large-size", "15000000"));
        List<String> largeQueries = list(o.getOrDefault("large-queries", "q18,q19,q20"));
        List<String> backends = list(o.getOrDefault("backends", String.join(",", BACKENDS)));
        String tmMemory = o.getOrDefault("tm-memory", "6g");
        String tmJavaOpts = o.getOrDefault("tm-java-opts", "");
        Duration timeout = Duration.ofSeconds(Long.parseLong(o.getOrDefault("timeout-s", "900")));
        Path out = Paths.get(o.getOrDefault("out", "bench/results")).toAbsolutePath();
        String name = o.getOrDefault("name", "nexmark");
        int repeat = Integer.parseInt(o.getOrDefault("repeat", "1"));
        if (repeat < 1) {
            throw new IllegalArgumentException("--repeat takes 1 or more, not " + repeat);
        }
        Path work =
                Files.createDirectories(
                        out.resolve("tmp").resolve("nexmark-" + System.currentTimeMillis()));

        Map<String, Long> sizeOf = new LinkedHashMap<>();
        for (String e : list(o.getOrDefault("size-of", ""))) {
            String[] kv = e.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("--size-of takes query=events, not " + e);
            }
            sizeOf.put(kv[0], Long.parseLong(kv[1]));
        }
        List<String[]> plan = new ArrayList<>();
        for (long size : sizes) {
            for (String q : queries) {
                if (!sizeOf.containsKey(q)) {
                    plan.add(new String[] {q, Long.toString(size)});
                }
            }
        }
        for (String q : queries) {
            if (sizeOf.containsKey(q)) {
                plan.add(new String[] {q, Long.toString(sizeOf.get(q))});
            }
        }
        if (largeSize > 0) {
            for (String q : largeQueries) {
                if (queries.contains(q)) {
                    plan.add(new String[] {q, Long.toString(largeSize)});
                }
            }
        }

        long t0 = System.nanoTime();
        List<Run> runs = new ArrayList<>();
        Path jar = FlinkCluster.nexmarkJar(work);
        FlinkCluster.Builder builder = FlinkCluster.builder();
        if (!tmJavaOpts.isEmpty()) {
            builder.conf("env.java.opts.taskmanager", tmJavaOpts);
        }
        try (FlinkCluster cluster =
                builder.workDir(work.resolve("cluster"))
                        .libJar(FlinkCluster.ferrostateJar(work))
                        .taskManagers(2)
                        .conf("taskmanager.numberOfTaskSlots", "1")
                        .conf("taskmanager.memory.process.size", tmMemory)
                        .conf("jobmanager.memory.process.size", "1g")
                        .conf("restart-strategy.type", "none")
                        .conf("execution.checkpointing.interval", "10 s")
                        .conf("execution.checkpointing.incremental", "true")
                        .conf("web.checkpoints.history", "1000")
                        .conf("web.refresh-interval", "500")
                        .start()) {
            for (String[] p : plan) {
                Set<String> distinct = new LinkedHashSet<>();
                for (int round = 1; round <= repeat; round++) {
                    // Each backend runs first in some round: no backend always meets a machine
                    // that has just been busy with another's run.
                    List<String> order = new ArrayList<>(backends);
                    Collections.rotate(order, -(round - 1));
                    for (String backend : order) {
                        Run r =
                                run(
                                        cluster,
                                        jar,
                                        work,
                                        p[0],
                                        Long.parseLong(p[1]),
                                        backend,
                                        timeout);
                        r.round = round;
                        runs.add(r);
                        if (r.check != null) {
                            distinct.add(r.check);
                        }
                        System.out.println(
                                "[nexmark] "
                                        + r.events
                                        + " events  "
                                        + String.join("  ", r.columns()));
                    }
                }
                // Every run of a query and size (every backend, every round) must give the same
                // result.
                boolean comparable = NexmarkQuery.load(p[0]).comparable();
                for (Run r : runs) {
                    if (r.query.equals(p[0])
                            && r.events == Long.parseLong(p[1])
                            && r.check != null) {
                        r.checkMatches = comparable ? distinct.size() == 1 : null;
                    }
                }
                // The report so far, after every query: a run that dies later keeps these.
                write(out, name, runs, backends, tmMemory, repeat, (System.nanoTime() - t0) / 1e9);
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        write(out, name, runs, backends, tmMemory, repeat, wall);
        System.out.printf(
                Locale.ROOT,
                "[nexmark] %d runs in %.0f s; wrote %s/%s.md and .json%n",
                runs.size(),
                wall,
                out,
                name);
        boolean mismatch = runs.stream().anyMatch(r -> Boolean.FALSE.equals(r.checkMatches));
        System.exit(mismatch ? 1 : 0);
    }

    private static Run run(
            FlinkCluster cluster,
            Path jar,
            Path work,
            String query,
            long events,
            String backend,
            Duration timeout)
            throws Exception {
        Run r = new Run();
        r.query = query;
        r.events = events;
        r.backend = backend;
        restartTaskManagers(cluster);
        Path checkDir = work.resolve("check-" + query + "-" + events + "-" + backend);
        Map<Integer, ProcessHandle> tms = cluster.taskManagerHandles();
        Map<Long, Double> cpuBefore = new LinkedHashMap<>();
        for (ProcessHandle h : tms.values()) {
            cpuBefore.put(h.pid(), ProcStat.cpuSeconds(h.pid()));
        }
        RssSampler rss = new RssSampler(tms.values(), 250);
        long t0 = System.nanoTime();
        String id = null;
        try {
            rss.start();
            List<String> options =
                    new ArrayList<>(
                            Arrays.asList(
                                    "-p",
                                    "2",
                                    "-c",
                                    "io.ferrostate.nexmark.NexmarkJob",
                                    "-Dstate.backend.type=" + type(backend)));
            if (backend.startsWith("ferrostate")) {
                options.add("-D" + TIMERS_OPTION + "=" + timers(backend));
                options.add("-D" + INLINE_OPTION + "=" + !backend.startsWith(HANDOFF));
            }
            List<String> args =
                    new ArrayList<>(
                            Arrays.asList(
                                    "--query",
                                    query,
                                    "--events",
                                    Long.toString(events),
                                    "--check-path",
                                    checkDir.toUri().toString()));
            if (backend.endsWith(ASYNC)) {
                // Flink 2.x's SQL operators on asynchronous state; the planner chooses none of
                // them under mini-batch.
                options.add("-Dtable.exec.async-state.enabled=true");
                args.addAll(Arrays.asList("--table.exec.mini-batch.enabled", "false"));
            }
            id = cluster.submit(options, jar, args.toArray(new String[0]));
            String state = cluster.waitForJob(id, timeout);
            if (!"FINISHED".equals(state)) {
                r.status = "FAILED";
                r.cause = cluster.rootExceptionSummary(id);
            }
        } catch (RuntimeException e) {
            // Not terminal within the timeout (or the CLI failed): cancel what runs.
            r.status = "FAILED";
            r.cause = e.getMessage();
            if (id != null && !isTerminal(cluster.jobState(id))) {
                cluster.cancel(id);
            }
        } finally {
            rss.stop();
            r.wallSeconds = (System.nanoTime() - t0) / 1e9;
        }
        r.peakRssBytes = rss.peak();
        double cpu = 0;
        for (Map.Entry<Long, Double> e : cpuBefore.entrySet()) {
            double after = ProcStat.cpuSeconds(e.getKey());
            cpu += after >= 0 ? after - e.getValue() : 0;
        }
        r.cpuSeconds = cpu;
        if (id != null) {
            jobMetrics(cluster, id, r);
            checkpointMetrics(cluster, id, r);
        }
        if (r.finished()) {
            try {
                Check c = CheckFiles.read(checkDir);
                r.check = c.summary();
            } catch (IOException e) {
                r.status = "FAILED";
                r.cause = "no check: " + e.getMessage();
            }
        }
        return r;
    }

    private static boolean isTerminal(String state) {
        return state.equals("FINISHED") || state.equals("FAILED") || state.equals("CANCELED");
    }

    private static String type(String backend) {
        String type =
                backend.endsWith(ASYNC)
                        ? backend.substring(0, backend.length() - ASYNC.length())
                        : backend;
        return type.startsWith("ferrostate") ? FlinkCluster.FERRO_FACTORY : type;
    }

    /**
     * A backend name's suffix for runs with Flink 2.x's asynchronous state in SQL (e.g. {@code
     * ferrostate-async}, {@code forst-async}), mini-batch off.
     */
    private static final String ASYNC = "-async";

    /**
     * Where ferrostate keeps timers: {@code ferrostate} runs the default (in the store), the
     * variant {@code ferrostate-heap-timers} keeps them in Flink's heap queues, to show what the
     * default costs or gives on whole jobs. Only ferrostate runs are given the option.
     */
    private static final String INLINE_OPTION = "state.backend.ferrostate.async.inline-execution";

    /**
     * The variant {@code ferrostate-handoff-async} runs every batch of state requests on the state
     * executor thread, never on the task thread: what inline execution saves.
     */
    private static final String HANDOFF = "ferrostate-handoff";

    private static String timers(String backend) {
        return backend.equals("ferrostate-heap-timers") ? "HEAP" : "NATIVE";
    }

    /** Fresh TaskManager JVMs for every run: CPU and RSS belong to the run alone. */
    private static void restartTaskManagers(FlinkCluster cluster) {
        for (int tm : new ArrayList<>(cluster.liveTaskManagers().keySet())) {
            cluster.killTaskManager(tm);
        }
        cluster.ensureTaskManagers(2);
    }

    /** Running time from the first task's start to the last one's end. */
    private static void jobMetrics(FlinkCluster cluster, String id, Run r) {
        JsonNode job = cluster.rest("jobs/" + id);
        long start = Long.MAX_VALUE;
        long end = 0;
        for (JsonNode v : job.path("vertices")) {
            if (v.path("start-time").asLong(-1) > 0) {
                start = Math.min(start, v.path("start-time").asLong());
            }
            end = Math.max(end, v.path("end-time").asLong(0));
        }
        // A finished job's bounded source emitted every event once (its reader also counts them
        // as the source's numRecordsIn metric, which REST no longer serves after the job ended).
        if (end > start && start != Long.MAX_VALUE) {
            r.runningSeconds = (end - start) / 1000.0;
            r.eventsPerSecond = r.finished() ? r.events / r.runningSeconds : 0;
        }
    }

    private static void checkpointMetrics(FlinkCluster cluster, String id, Run r) {
        List<Double> durations = new ArrayList<>();
        for (JsonNode h : cluster.checkpoints(id).path("history")) {
            if (!h.path("status").asText().equals("COMPLETED")) {
                continue;
            }
            durations.add(h.path("end_to_end_duration").asLong() / 1000.0);
            long size = h.path("checkpointed_size").asLong(h.path("state_size").asLong());
            r.checkpointMaxBytes = Math.max(r.checkpointMaxBytes, size);
            r.checkpointBytesTotal += size;
        }
        r.checkpoints = durations.size();
        if (!durations.isEmpty()) {
            Collections.sort(durations);
            r.checkpointP50Seconds = durations.get(durations.size() / 2);
            r.checkpointMaxSeconds = durations.get(durations.size() - 1);
        }
    }

    // --------------------------------------------------------------------------------------------

    private static void write(
            Path out,
            String name,
            List<Run> runs,
            List<String> backends,
            String tmMemory,
            int repeat,
            double wall)
            throws IOException {
        StringBuilder md = new StringBuilder();
        String flink = FlinkCluster.DEFAULT_FLINK_VERSION;
        md.append(
                String.format(
                        Locale.ROOT,
                        "# Nexmark on a real Flink %s cluster: %s%n%n",
                        flink,
                        String.join(" vs ", backends)));
        md.append(
                String.format(
                        Locale.ROOT,
                        "Run %s on %s (%.0f s of wall time). A JobManager and 2 TaskManagers of 1 slot each,"
                                + " `taskmanager.memory.process.size: %s` for every backend (Flink's other memory"
                                + " defaults), parallelism 2, a checkpoint every 10 s (incremental for RocksDB and"
                                + " ferrostate), no restarts; both TaskManagers restarted before each run. Table options"
                                + " as Flink's Nexmark runs: mini-batch (2 s, 50,000 rows), split distinct aggregates."
                                + " Events: the `nexmark` connector (bench and tests share it), 10,000,000 events per"
                                + " second of event time from 2020-01-01, seed 0. `make %s`.%n%n",
                        ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                        Report.machine(),
                        wall,
                        tmMemory,
                        flink.startsWith("1.") ? "bench-nexmark" : "bench-nexmark-2.3"));
        if (backends.stream().anyMatch(b -> b.endsWith(ASYNC))) {
            md.append(
                    "`-async` backends: the same backend with Flink 2.x's SQL operators on"
                            + " asynchronous state (`table.exec.async-state.enabled: true`) and"
                            + " mini-batch off (under mini-batch the planner chooses no asynchronous"
                            + " operator); the other runs keep the table options above.\n\n");
        }
        List<String[]> ratios = new ArrayList<>();
        ratios.add(new String[] {"ferrostate", "rocksdb"});
        ratios.add(new String[] {"ferrostate", "hashmap"});
        if (backends.contains("forst")) {
            ratios.add(new String[] {"ferrostate", "forst"});
        }
        if (backends.contains("ferrostate" + ASYNC) && backends.contains("forst" + ASYNC)) {
            ratios.add(new String[] {"ferrostate" + ASYNC, "forst" + ASYNC});
        }
        md.append(
                "events/s = the source's events (a bounded source; the job finishes after all of them) over"
                        + " the job's running time (first task start to last task end, from the REST API). cpu = TaskManager CPU seconds of the run; rss = peak resident memory of one"
                        + " TaskManager; ckpt = completed checkpoints' p50 / max duration and largest size."
                        + " The check is a digest of the query's final result; `=` means every backend's run"
                        + " gave the same result.\n\n");
        if (repeat > 1) {
            md.append(
                    String.format(
                            Locale.ROOT,
                            "%d rounds (`--repeat %d`): each round ran every backend once, their order"
                                    + " rotated per round. A backend's cell is its median events/s over the"
                                    + " rounds it finished, with the lowest and highest; the ratios are of"
                                    + " medians. Every run is listed below the summary.%n%n",
                            repeat,
                            repeat));
        }
        Set<Long> sizes = new LinkedHashSet<>();
        runs.forEach(r -> sizes.add(r.events));
        List<Map<String, Object>> json = new ArrayList<>();
        for (long size : sizes) {
            md.append(String.format(Locale.ROOT, "## %,d events%n%n", size));
            md.append("| query |");
            for (String b : backends) {
                md.append(' ').append(b).append(" events/s |");
            }
            for (String[] r : ratios) {
                md.append(' ').append(r[0]).append(" / ").append(r[1]).append(" |");
            }
            md.append(" check |\n|---|");
            md.append("---:|".repeat(backends.size() + ratios.size())).append("---|\n");
            Map<String, Map<String, List<Run>>> byQuery = new LinkedHashMap<>();
            for (Run r : runs) {
                if (r.events == size) {
                    byQuery.computeIfAbsent(r.query, k -> new LinkedHashMap<>())
                            .computeIfAbsent(r.backend, k -> new ArrayList<>())
                            .add(r);
                }
            }
            byQuery.forEach(
                    (q, m) -> {
                        md.append("| ").append(q).append(" |");
                        for (String b : backends) {
                            md.append(' ').append(cell(m.get(b))).append(" |");
                        }
                        for (String[] r : ratios) {
                            md.append(' ').append(ratio(m.get(r[0]), m.get(r[1]))).append(" |");
                        }
                        List<Run> all = new ArrayList<>();
                        m.values().forEach(all::addAll);
                        md.append(' ').append(checkCell(all)).append(" |\n");
                    });
            md.append('\n').append(Run.TABLE_HEADER);
            for (Run r : runs) {
                if (r.events != size) {
                    continue;
                }
                md.append("| ").append(String.join(" | ", r.columns())).append(" |\n");
                json.add(toJson(r));
            }
            md.append('\n');
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("machine", Report.machine());
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("flink", FlinkCluster.DEFAULT_FLINK_VERSION);
        doc.put("taskmanager_process_size", tmMemory);
        doc.put("wall_seconds", Math.round(wall));
        doc.put("rounds", repeat);
        doc.put("runs", json);
        Files.createDirectories(out);
        Files.write(out.resolve(name + ".md"), md.toString().getBytes(StandardCharsets.UTF_8));
        Files.write(out.resolve(name + ".json"), Json.write(doc).getBytes(StandardCharsets.UTF_8));
    }

    private static Map<String, Object> toJson(Run r) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("query", r.query);
        e.put("events", r.events);
        e.put("backend", r.backend);
        e.put("round", r.round);
        e.put("status", r.status);
        if (r.cause != null) {
            e.put("cause", r.cause);
        }
        e.put("events_per_second", Math.round(r.eventsPerSecond));
        e.put("running_seconds", r.runningSeconds);
        e.put("taskmanager_cpu_seconds", Math.round(r.cpuSeconds * 10) / 10.0);
        e.put("peak_taskmanager_rss_bytes", r.peakRssBytes);
        e.put("checkpoints", r.checkpoints);
        e.put("checkpoint_p50_seconds", r.checkpointP50Seconds);
        e.put("checkpoint_max_seconds", r.checkpointMaxSeconds);
        e.put("checkpoint_max_bytes", r.checkpointMaxBytes);
        e.put("checkpoint_bytes_total", r.checkpointBytesTotal);
        e.put("check", r.check);
        e.put("check_matches", r.checkMatches);
        e.put("wall_seconds", Math.round(r.wallSeconds * 10) / 10.0);
        return e;
    }

    /** The median events/s of the finished runs, or NaN when none finished. */
    static double median(@Nullable List<Run> rs) {
        return median(Run.finishedRates(rs));
    }

    private static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /**
     * One backend's summary cell: events/s of its one run; over several rounds, the median with the
     * lowest and highest, and how many rounds failed.
     */
    static String cell(List<Run> rs) {
        if (rs == null || rs.isEmpty()) {
            return "-";
        }
        double[] rates = Run.finishedRates(rs);
        if (rates.length == 0) {
            return "FAILED";
        }
        StringBuilder c = new StringBuilder(String.format(Locale.ROOT, "%,.0f", median(rates)));
        if (rs.size() > 1) {
            c.append(
                    String.format(
                            Locale.ROOT, " (%,.0f-%,.0f)", rates[0], rates[rates.length - 1]));
        }
        long failed = rs.size() - rates.length;
        if (failed > 0) {
            c.append(String.format(Locale.ROOT, ", FAILED %d of %d", failed, rs.size()));
        }
        return c.toString();
    }

    static String ratio(List<Run> a, List<Run> b) {
        double ma = median(a);
        double mb = median(b);
        if (a == null || b == null || Double.isNaN(ma)) {
            return "-";
        }
        if (Double.isNaN(mb)) {
            return "(" + b.get(0).backend + " failed)";
        }
        return String.format(Locale.ROOT, "%.2fx", ma / mb);
    }

    private static String checkCell(java.util.Collection<Run> rs) {
        for (Run r : rs) {
            if (Boolean.FALSE.equals(r.checkMatches)) {
                return "**DIFFERENT**";
            }
        }
        for (Run r : rs) {
            if (r.checkMatches == null && r.check != null) {
                return "not comparable (processing time)";
            }
        }
        return "=";
    }

    // --------------------------------------------------------------------------------------------

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException(
                        "expected --option value pairs, got " + Arrays.toString(args));
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }

    /** {@code text} fit for one cell of a Markdown table. */
    private static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s*\\R\\s*", " / ").replace("|", "/");
    }

    private static List<String> list(String s) {
        return Arrays.stream(s.split(","))
                .map(String::trim)
                .filter(x -> !x.isEmpty())
                .collect(Collectors.toList());
    }
}
