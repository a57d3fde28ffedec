package io.ferrostate.bench;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Turns JMH's JSON results (and the per-trial memory records) into {@code latest.md} and {@code
 * latest.json}. Run it alone with {@code BenchRunner --report-only}.
 */
final class Report {
    static final List<String> BACKENDS = Arrays.asList("HEAP", "ROCKSDB", "FERROSTATE");

    /** The state benchmarks' backends: out of core, RocksDB also runs tuned for large state. */
    static final List<String> STATE_BACKENDS =
            Arrays.asList("HEAP", "ROCKSDB", "ROCKSDB_TUNED", "FERROSTATE");

    static final Map<String, String> BACKEND_IDS =
            Map.of(
                    "HEAP",
                    "hashmap",
                    "ROCKSDB",
                    "rocksdb",
                    "ROCKSDB_TUNED",
                    "rocksdb-tuned",
                    "FERROSTATE",
                    "ferrostate");

    /** The most ferrostate's metrics may cost, read by a reporter (issue 17, item 4). */
    static final double METRICS_MAX_OVERHEAD = 0.02;

    /** What ferrostate must reach against the tuned RocksDB out of core (issue 17, item 6). */
    static final double TUNED_TARGET = 1.5;

    static final List<String> REGIMES = Arrays.asList("in-memory", "out-of-core");

    /** The suite's operations, in the order, and whether each one writes. */
    static final List<String> OPERATIONS =
            Arrays.asList(
                    "valueUpdate",
                    "valueAdd",
                    "valueGet",
                    "listUpdate",
                    "listAdd",
                    "listAppend",
                    "listGet",
                    "listGetAndIterate",
                    "mapUpdate",
                    "mapAdd",
                    "mapGet",
                    "mapContains",
                    "mapKeys",
                    "mapValues",
                    "mapEntries",
                    "mapIterator",
                    "mapRemove",
                    "mapPutAll",
                    "mapIsEmpty");

    static final Set<String> WRITES =
            Set.of(
                    "valueUpdate",
                    "valueAdd",
                    "listUpdate",
                    "listAdd",
                    "listAppend",
                    "mapUpdate",
                    "mapAdd",
                    "mapRemove",
                    "mapPutAll");
    static final Set<String> PER_ENTRY =
            Set.of("mapKeys", "mapValues", "mapEntries", "mapIterator");

    /** One JMH result. */
    static final class Row {
        String benchmark;
        String clazz;
        String regime;
        String backend;
        double score;
        double error;
        String unit;
    }

    private Report() {}

    /**
     * Whether {@code a / b} reaches {@code target}, read with both error bars (JMH's 99.9%
     * intervals): "yes" or "**no**" when every ratio the intervals allow agrees, else the side the
     * measured ratio falls on, marked "inside the errors".
     */
    static String verdict(Row a, Row b, double target) {
        double ea = Double.isNaN(a.error) ? 0 : a.error;
        double eb = Double.isNaN(b.error) ? 0 : b.error;
        double low = (a.score - ea) / (b.score + eb);
        double high = b.score - eb > 0 ? (a.score + ea) / (b.score - eb) : Double.POSITIVE_INFINITY;
        if (low >= target) {
            return "yes";
        }
        if (high < target) {
            return "**no**";
        }
        return (a.score / b.score >= target ? "yes" : "no") + ", inside the errors";
    }

    /** Writes {@code <target>/<name>.md} and {@code .json}; returns 1 if results are missing. */
    static int write(
            Path tmp,
            Path target,
            String name,
            String profile,
            String profileDescription,
            Map<String, Double> groupSeconds,
            double wallSeconds)
            throws IOException {
        List<Row> rows = readJmh(tmp);
        Map<String, JsonNode> memory = readMemory(tmp.resolve("memory"));
        Map<String, String> natives = readNatives(tmp.resolve("natives.json"));
        if (groupSeconds == null && Files.exists(tmp.resolve("timings.json"))) {
            JsonNode t = Json.read(tmp.resolve("timings.json"));
            wallSeconds = t.path("wall_seconds").asDouble(-1);
            groupSeconds = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = t.path("groups").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                groupSeconds.put(e.getKey(), e.getValue().asDouble());
            }
        }
        Map<String, Double> criterion = readCriterion();

        // Scores by benchmark / regime / backend.
        Map<String, Row> state = new LinkedHashMap<>();
        Map<String, Row> floors = new LinkedHashMap<>();
        Map<String, Row> job = new LinkedHashMap<>();
        Map<String, Row> timers = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.clazz.endsWith("FloorBenchmark")) {
                floors.put(r.benchmark + "|" + r.regime, r);
            } else if (r.clazz.equals("SqlWindowTimerBenchmark")) {
                timers.put(r.benchmark + "|" + r.backend, r);
            } else if (r.clazz.equals("TimerBacklogBenchmark")) {
                timers.put("backlog:" + r.benchmark + "|" + r.backend, r);
            } else if (r.clazz.equals("JobThroughputBenchmark")) {
                job.put(r.backend, r);
            } else {
                state.put(r.benchmark + "|" + r.regime + "|" + r.backend, r);
            }
        }

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("machine", machine());
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("profile", profile);
        doc.put("configuration", profileDescription);
        if (wallSeconds >= 0) {
            doc.put("wall_seconds", Math.round(wallSeconds));
        }
        if (groupSeconds != null) {
            doc.put("group_seconds", groupSeconds);
        }
        Map<String, Object> budgets = new LinkedHashMap<>();
        for (String regime : REGIMES) {
            budgets.put(regime, Regime.of(regime).budgetBytes());
        }
        doc.put("budgets_bytes", budgets);
        doc.put("overrides", overrides());

        List<Map<String, Object>> results = new ArrayList<>();
        int missing = 0;
        StringBuilder md = new StringBuilder();
        header(md, profile, profileDescription, wallSeconds, groupSeconds);

        Set<String> ranBackends =
                state.values().stream().map(r -> r.backend).collect(Collectors.toSet());
        Map<String, Double> floorNs = new LinkedHashMap<>();
        for (Row f : floors.values()) {
            floorNs.put(f.benchmark + "|" + f.regime, f.score);
        }
        // Without NativeHooks.benchGetLoop, the in-memory store part of the floor comes from the
        // Rust criterion bench (rust/engine/benches/lookup.rs: hot-tier gets of 500,000 10-byte
        // keys with 8-byte values, the in-memory valueGet shape), if it ran.
        String rustSource = "NativeHooks.benchGetLoop";
        if (!floorNs.containsKey("rustLookup|in-memory") && criterion.containsKey(CRITERION_HOT)) {
            floorNs.put("rustLookup|in-memory", criterion.get(CRITERION_HOT));
            rustSource = "criterion " + CRITERION_HOT + " (in-memory only)";
        }
        doc.put("rust_lookup_source", rustSource);

        for (String regime : REGIMES) {
            boolean any = state.keySet().stream().anyMatch(k -> k.contains("|" + regime + "|"));
            if (!any) {
                continue;
            }
            Regime reg = Regime.of(regime);
            md.append("\n## ").append(regime).append(" regime\n\n");
            if (regime.equals("in-memory")) {
                md.append(
                        String.format(
                                Locale.ROOT,
                                "Flink's shapes (Long keys and values, Double map values); managed memory %s"
                                        + " for RocksDB and for ferrostate, which holds all of it.%n",
                                mib(reg.budgetBytes())));
            } else {
                md.append(
                        String.format(
                                Locale.ROOT,
                                "The same 500,000 keys with %d-byte values and list elements, %d-byte map"
                                        + " values (random bytes); managed memory %s for RocksDB and for"
                                        + " ferrostate. HashMapStateBackend has no budget here (it holds"
                                        + " everything on a 3 GiB heap): its column is for reference.%n",
                                reg.valueBytes(),
                                reg.mapValueBytes(),
                                mib(reg.budgetBytes())));
            }
            md.append(
                    "\n| benchmark | HashMap ops/ms | RocksDB ops/ms | ferrostate ops/ms |"
                            + " ferrostate/RocksDB | ferrostate/HashMap | ferrostate ns/op |"
                            + " floor ns/op | x floor |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (String op : OPERATIONS) {
                Row heap = state.get(op + "|" + regime + "|HEAP");
                Row rocks = state.get(op + "|" + regime + "|ROCKSDB");
                Row ferro = state.get(op + "|" + regime + "|FERROSTATE");
                if (heap == null && rocks == null && ferro == null) {
                    continue;
                }
                Floor floor = floor(op, regime, floorNs);
                double ferroNs = ferro == null ? Double.NaN : 1e6 / ferro.score;
                md.append("| ").append(op).append(PER_ENTRY.contains(op) ? " (per entry)" : "");
                md.append(" | ").append(score(heap));
                md.append(" | ").append(score(rocks));
                md.append(" | ").append(score(ferro));
                md.append(" | ").append(ratio(ferro, rocks));
                md.append(" | ").append(ratio(ferro, heap));
                md.append(" | ").append(ferro == null ? "-" : fmt(ferroNs));
                md.append(" | ")
                        .append(floor.ns > 0 ? fmt(floor.ns) + (floor.partial ? "*" : "") : "-");
                md.append(" | ")
                        .append(floor.ns > 0 && ferro != null ? fmt(ferroNs / floor.ns) + "x" : "-")
                        .append(" |\n");
                for (String backend : STATE_BACKENDS) {
                    Row r = state.get(op + "|" + regime + "|" + backend);
                    if (r == null) {
                        if (ranBackends.contains(backend)) {
                            missing++;
                        }
                        continue;
                    }
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("benchmark", op);
                    e.put("regime", regime);
                    e.put("backend", BACKEND_IDS.get(backend));
                    e.put("ops_per_ms", round(r.score));
                    e.put("error", round(r.error));
                    e.put("ns_per_op", round(1e6 / r.score));
                    if (backend.equals("FERROSTATE")) {
                        Row rr = state.get(op + "|" + regime + "|ROCKSDB");
                        Row hr = state.get(op + "|" + regime + "|HEAP");
                        Row tuned = state.get(op + "|" + regime + "|ROCKSDB_TUNED");
                        if (rr != null) {
                            e.put("ratio_vs_rocksdb", round(r.score / rr.score));
                        }
                        if (tuned != null) {
                            e.put("ratio_vs_rocksdb_tuned", round(r.score / tuned.score));
                        }
                        if (hr != null) {
                            e.put("ratio_vs_hashmap", round(r.score / hr.score));
                        }
                        if (floor.ns > 0) {
                            e.put("floor_ns", round(floor.ns));
                            e.put("floor_multiple", round((1e6 / r.score) / floor.ns));
                            if (floor.partial) {
                                e.put("floor_missing", floor.missing);
                            }
                        }
                    }
                    JsonNode mem = memory.get(op + "." + backend + "." + regime);
                    if (mem != null) {
                        e.put("memory", mem);
                    }
                    results.add(e);
                }
            }
            md.append(
                    "\nRatios are throughput ratios (above 1: ferrostate is faster). Errors are JMH's"
                            + " 99.9% confidence half-widths (n/a with a single measurement"
                            + " iteration).\n");
            if (regime.equals("out-of-core")) {
                tunedTable(md, state, regime);
                memoryTable(md, memory, reg);
            }
        }

        metricsSection(md, state, results);
        floorSection(md, floors, natives, criterion, doc, rustSource);
        timerSection(md, timers, results);
        jobSection(md, job, results);
        notes(md, profile);

        doc.put("results", results);
        Files.createDirectories(target);
        Files.write(
                target.resolve(name + ".json"), Json.write(doc).getBytes(StandardCharsets.UTF_8));
        Files.write(target.resolve(name + ".md"), md.toString().getBytes(StandardCharsets.UTF_8));
        System.out.println(
                "ferrostate bench: wrote " + target.resolve(name + ".md") + " and .json");
        if (missing > 0) {
            System.out.println(
                    "ferrostate bench: "
                            + missing
                            + " state results are missing (failed or not selected)");
        }
        return 0;
    }

    // ------------------------------------------------------------------------------------------

    private static void header(
            StringBuilder md,
            String profile,
            String conf,
            double wall,
            Map<String, Double> groups) {
        md.append("# ferrostate benchmarks\n\n");
        if (profile.equals("smoke")) {
            md.append(
                    "**SMOKE RUN: one short iteration per benchmark. These numbers prove the pipeline,"
                            + " they measure nothing. Never commit them as results.**\n\n");
        }
        md.append("- machine: ").append(machine()).append('\n');
        md.append("- date: ")
                .append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                .append('\n');
        md.append("- profile: `").append(profile).append("`: ").append(conf).append('\n');
        if (wall >= 0) {
            md.append(String.format(Locale.ROOT, "- wall time: %.0f s", wall));
            if (groups != null && !groups.isEmpty()) {
                md.append(" (")
                        .append(
                                groups.entrySet().stream()
                                        .map(
                                                e ->
                                                        String.format(
                                                                Locale.ROOT,
                                                                "%s %.0f s",
                                                                e.getKey(),
                                                                e.getValue()))
                                        .collect(Collectors.joining(", ")))
                        .append(')');
            }
            md.append('\n');
        }
        md.append(
                "- backends: HashMapStateBackend, EmbeddedRocksDBStateBackend (Flink 1.20.0 defaults,"
                        + " managed memory) and ferrostate, built through StateBackend#createKeyedStateBackend on a"
                        + " task environment whose managed memory is the regime's budget (fraction 1.0)\n");
        List<String> overrides = overrides();
        if (!overrides.isEmpty()) {
            md.append("- overrides: `").append(String.join("`, `", overrides)).append("`\n");
        }
        md.append(
                "- workloads: flink-benchmarks' state suite (500,000 Long keys, 10-entry maps,"
                        + " one-element lists), one JMH fork per benchmark and backend\n");
    }

    /**
     * ferrostate with its metrics off against the same with every group on and a reporter thread
     * reading all gauges every {@link BenchBackends#METRICS_PERIOD_MS}, in memory.
     */
    private static void metricsSection(
            StringBuilder md, Map<String, Row> state, List<Map<String, Object>> results) {
        String regime = "in-memory";
        if (state.keySet().stream().noneMatch(k -> k.endsWith("|FERROSTATE_METRICS_ON"))) {
            return;
        }
        md.append("\n## Metrics overhead\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "ferrostate in memory with every metric group off, and with all on (the"
                                + " default) and a reporter thread reading every gauge every %d ms"
                                + " (Flink's reporters and web UI read every 10 s). The store's"
                                + " counters are kept either way; what the pair measures is"
                                + " registering and reading them. Target: under %.0f%%.%n%n",
                        BenchBackends.METRICS_PERIOD_MS,
                        METRICS_MAX_OVERHEAD * 100));
        md.append("| benchmark | metrics off ops/ms | metrics on ops/ms | on/off | under 2% |\n");
        md.append("|---|---:|---:|---:|---|\n");
        double logSum = 0;
        int n = 0;
        for (String op : OPERATIONS) {
            Row off = state.get(op + "|" + regime + "|FERROSTATE_METRICS_OFF");
            Row on = state.get(op + "|" + regime + "|FERROSTATE_METRICS_ON");
            if (off == null || on == null) {
                continue;
            }
            double ratio = on.score / off.score;
            logSum += Math.log(ratio);
            n++;
            md.append("| ").append(op).append(PER_ENTRY.contains(op) ? " (per entry)" : "");
            md.append(" | ").append(score(off));
            md.append(" | ").append(score(on));
            md.append(" | ").append(fmt(ratio));
            md.append(" | ").append(verdict(on, off, 1 - METRICS_MAX_OVERHEAD));
            md.append(" |\n");
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("benchmark", op);
            e.put("regime", "metrics-overhead");
            e.put("backend", "ferrostate");
            e.put("metrics_off_ops_per_ms", round(off.score));
            e.put("metrics_on_ops_per_ms", round(on.score));
            e.put("metrics_off_error", round(off.error));
            e.put("metrics_on_error", round(on.error));
            e.put("ratio_on_vs_off", round(ratio));
            results.add(e);
        }
        md.append(
                String.format(
                        Locale.ROOT,
                        "%nGeometric mean of on/off over the %d benchmarks: %s. One fork per side, run"
                                + " one after the other on a shared machine: read a ratio together"
                                + " with the two error bars.%n",
                        n,
                        n == 0 ? "-" : fmt(Math.exp(logSum / n))));
    }

    /**
     * Out of core, ferrostate against RocksDB configured as Flink advises for state larger than
     * memory (partitioned index and filters), beside RocksDB's defaults, from the same run.
     */
    private static void tunedTable(StringBuilder md, Map<String, Row> state, String regime) {
        if (state.keySet().stream().noneMatch(k -> k.endsWith("|" + regime + "|ROCKSDB_TUNED"))) {
            return;
        }
        md.append("\n### Against RocksDB tuned for state larger than memory\n\n");
        md.append(
                "`RocksDB tuned`: EmbeddedRocksDB with `"
                        + BenchBackends.TUNED_ROCKSDB_OPTION
                        + ": true` (partitioned index and filter blocks, as Flink's documentation"
                        + " advises when they crowd the block cache), the same managed memory. The"
                        + String.format(
                                Locale.ROOT,
                                " target is ferrostate at %.1fx it or more.%n%n",
                                TUNED_TARGET));
        md.append(
                "| benchmark | RocksDB ops/ms | RocksDB tuned ops/ms | ferrostate ops/ms |"
                        + " tuned/defaults | ferrostate/tuned | at least "
                        + TUNED_TARGET
                        + "x |\n");
        md.append("|---|---:|---:|---:|---:|---:|---|\n");
        for (String op : OPERATIONS) {
            Row rocks = state.get(op + "|" + regime + "|ROCKSDB");
            Row tuned = state.get(op + "|" + regime + "|ROCKSDB_TUNED");
            Row ferro = state.get(op + "|" + regime + "|FERROSTATE");
            if (tuned == null) {
                continue;
            }
            md.append("| ").append(op).append(PER_ENTRY.contains(op) ? " (per entry)" : "");
            md.append(" | ").append(score(rocks));
            md.append(" | ").append(score(tuned));
            md.append(" | ").append(score(ferro));
            md.append(" | ").append(rocks == null ? "-" : fmt(tuned.score / rocks.score));
            md.append(" | ").append(ratio(ferro, tuned));
            md.append(" | ")
                    .append(ferro == null ? "-" : verdict(ferro, tuned, TUNED_TARGET))
                    .append(" |\n");
        }
    }

    private static void memoryTable(StringBuilder md, Map<String, JsonNode> memory, Regime reg) {
        List<JsonNode> recs =
                memory.values().stream()
                        .filter(n -> reg.id.equals(n.path("regime").asText()))
                        .collect(Collectors.toList());
        if (recs.isEmpty()) {
            return;
        }
        // The JVM's own RSS growth (metaspace, JIT code, GC structures) in a trial of the same
        // benchmark on the heap backend, whose heap was touched up front: subtracted to estimate
        // what RocksDB / ferrostate add natively.
        Map<String, Long> heapGrowth = new TreeMap<>();
        for (JsonNode n : recs) {
            if (n.path("backend").asText().equals("HEAP")) {
                heapGrowth.put(n.path("benchmark").asText(), growth(n));
            }
        }
        long budget = reg.budgetBytes();
        md.append("\n### Memory at the end of each out-of-core trial\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "Budget %s; the limit of issue 5(b) is budget + 10%% = %s. `ferrostate own` is its"
                                + " accounting (`memoryUsage()`: hot tier + RocksDB). `RSS growth` is anonymous resident"
                                + " memory (RssAnon: heap and malloc, not the mapped code of native libraries) at the"
                                + " end minus before the backend was built; the heap is touched up front, so this is"
                                + " native memory plus the JVM's own growth. `native est.` subtracts the heap"
                                + " backend's growth in the same benchmark. The OS page cache (SST files read"
                                + " through the kernel) is not in RSS.%n%n",
                        mib(budget),
                        mib((long) (budget * 1.1))));
        md.append(
                "| benchmark | backend | state | on disk | setup s | ferrostate own (hot + RocksDB) |"
                        + " RSS growth | native est. | within budget+10% | RocksDB reads / hot hits |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---|---:|\n");
        recs.sort(
                (a, b) -> {
                    int c =
                            Integer.compare(
                                    opIndex(a.path("benchmark").asText()),
                                    opIndex(b.path("benchmark").asText()));
                    return c != 0
                            ? c
                            : Integer.compare(
                                    STATE_BACKENDS.indexOf(a.path("backend").asText()),
                                    STATE_BACKENDS.indexOf(b.path("backend").asText()));
                });
        for (JsonNode n : recs) {
            String backend = n.path("backend").asText();
            String bench = n.path("benchmark").asText();
            long grow = growth(n);
            Long base = heapGrowth.get(bench);
            boolean estimable = !backend.equals("HEAP") && base != null && grow != Long.MIN_VALUE;
            long nat = estimable ? grow - base : -1;
            long own =
                    n.has("ferro_hot_bytes")
                            ? n.path("ferro_hot_bytes").asLong()
                                    + n.path("ferro_rocksdb_bytes").asLong()
                            : -1;
            String verdict = "-";
            if (!backend.equals("HEAP")) {
                long worst = Math.max(own, nat);
                verdict = worst < 0 ? "?" : (worst <= budget * 1.1 ? "yes" : "**no**");
            }
            md.append("| ").append(bench);
            md.append(" | ").append(BACKEND_IDS.getOrDefault(backend, backend));
            md.append(" | ").append(mib(n.path("logical_state_bytes").asLong(-1)));
            md.append(" | ").append(mib(n.path("disk_bytes_after_setup").asLong(-1)));
            md.append(" | ")
                    .append(n.has("setup_seconds") ? fmt(n.path("setup_seconds").asDouble()) : "-");
            md.append(" | ")
                    .append(
                            own >= 0
                                    ? mib(own)
                                            + " ("
                                            + mib(n.path("ferro_hot_bytes").asLong())
                                            + " + "
                                            + mib(n.path("ferro_rocksdb_bytes").asLong())
                                            + ")"
                                    : "-");
            md.append(" | ").append(grow != Long.MIN_VALUE ? mib(grow) : "-");
            md.append(" | ").append(estimable ? mib(nat) : "-");
            md.append(" | ").append(verdict);
            md.append(" | ")
                    .append(
                            n.has("ferro_rocksdb_reads")
                                    ? n.path("ferro_rocksdb_reads").asLong()
                                            + " / "
                                            + n.path("ferro_hot_hits").asLong()
                                    : "-");
            md.append(" |\n");
        }
    }

    /**
     * Growth of anonymous resident memory (RssAnon: heap and malloc, not the mapped code of the
     * native libraries) over the trial; VmRSS growth when RssAnon is not known.
     */
    private static long growth(JsonNode n) {
        long end = n.path("rss_anon_end_bytes").asLong(-1);
        long before = n.path("rss_anon_before_bytes").asLong(-1);
        if (end < 0 || before < 0) {
            end = n.path("rss_end_bytes").asLong(-1);
            before = n.path("rss_before_bytes").asLong(-1);
        }
        return end < 0 || before < 0 ? Long.MIN_VALUE : end - before;
    }

    private static int opIndex(String op) {
        int i = OPERATIONS.indexOf(op);
        return i < 0 ? 1000 : i;
    }

    /** The floor of one operation in a regime, from the components measured. */
    static final class Floor {
        double ns;
        boolean partial;
        List<String> missing = new ArrayList<>();
    }

    static Floor floor(String op, String regime, Map<String, Double> floorNs) {
        boolean map = op.startsWith("map");
        boolean write = WRITES.contains(op);
        String serde = (map ? "mapValue" : "value") + (write ? "Serialize" : "Deserialize");
        List<String> parts = Arrays.asList("harness", "keyPath", serde, "jniTouch", "rustLookup");
        Floor f = new Floor();
        for (String p : parts) {
            Double v = floorNs.get(p + "|" + regime);
            if (v == null) {
                v = floorNs.get(p + "|");
            }
            if (v == null) {
                f.partial = true;
                f.missing.add(p);
            } else {
                f.ns += v;
            }
        }
        return f;
    }

    private static void floorSection(
            StringBuilder md,
            Map<String, Row> floors,
            Map<String, String> natives,
            Map<String, Double> criterion,
            Map<String, Object> doc,
            String rustSource) {
        md.append("\n## The floor under one state access\n\n");
        md.append(
                "What one ferrostate access cannot avoid on this machine, measured alone (ns/op,"
                        + " average time):\n\n");
        md.append("| component | what | in-memory ns | out-of-core ns |\n|---|---|---:|---:|\n");
        Map<String, String> what = new LinkedHashMap<>();
        what.put(
                "harness",
                "the suite's per-invocation KeyValue setup + JMH timestamps (every state benchmark pays it)");
        what.put(
                "keyPath",
                "key group of a Long key + composite key [kg][key][namespace] in the direct buffer (FerroKeyBuilder)");
        what.put("valueSerialize", "Flink serializer: value / list element into the direct buffer");
        what.put(
                "valueDeserialize",
                "Flink serializer: value / list element out of the direct buffer");
        what.put("mapValueSerialize", "Flink serializer: map value in");
        what.put("mapValueDeserialize", "Flink serializer: map value out");
        what.put("jniNoop", "an empty JNI call (NativeHooks.noop)");
        what.put(
                "jniTouch",
                "a JNI call reading 10 key bytes of the shared buffer and writing 8 back (NativeHooks.touch)");
        what.put(
                "rustLookup",
                "a lookup in the Rust store from Rust alone, valueGet's keys and data (NativeHooks.benchGetLoop; in the floor: "
                        + rustSource
                        + ")");
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map.Entry<String, String> e : what.entrySet()) {
            String c = e.getKey();
            Row in = floors.getOrDefault(c + "|in-memory", floors.get(c + "|"));
            Row oc = floors.getOrDefault(c + "|out-of-core", floors.get(c + "|"));
            String skipped = natives.get(c);
            md.append("| ").append(c).append(" | ").append(e.getValue()).append(" | ");
            if (in == null && oc == null) {
                md.append(skipped != null ? "skipped: " + skipped : "not run").append(" | |\n");
            } else {
                md.append(in == null ? "-" : fmt(in.score) + pm(in.error)).append(" | ");
                md.append(oc == null ? "-" : fmt(oc.score) + pm(oc.error)).append(" |\n");
            }
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("component", c);
            if (in != null) {
                j.put("in_memory_ns", round(in.score));
                j.put("in_memory_error", round(in.error));
            }
            if (oc != null) {
                j.put("out_of_core_ns", round(oc.score));
                j.put("out_of_core_error", round(oc.error));
            }
            if (in == null && oc == null) {
                j.put("skipped", skipped != null ? skipped : "not run");
            }
            out.add(j);
        }
        for (Map.Entry<String, Double> c : criterion.entrySet()) {
            boolean used = c.getKey().equals(CRITERION_HOT) && rustSource.startsWith("criterion");
            md.append("| criterion `")
                    .append(c.getKey())
                    .append(
                            "` | Rust alone, rust/engine/benches/lookup.rs"
                                    + " (`cargo bench`, its last run: ")
                    .append(criterionTime(c.getKey()))
                    .append(")")
                    .append(used ? "; **the floor's rustLookup in-memory**" : "")
                    .append(" | ")
                    .append(fmt(c.getValue()))
                    .append(" | |\n");
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("component", "criterion:" + c.getKey());
            j.put("ns", round(c.getValue()));
            out.add(j);
        }
        doc.put("floors", out);
        md.append(
                "\nThe floor of an operation = harness + keyPath + the serializer of its value (serialize"
                        + " for writes, deserialize for reads; map values for MapState) + jniTouch + rustLookup."
                        + " `x floor` = ferrostate's ns/op / floor: how far an operation is from the cheapest"
                        + " possible JNI access. A write's floor uses the lookup as its store part (there is no"
                        + " put floor); mapPutAll writes 10 entries and the iterating map benchmarks are per"
                        + " entry, so their multiples compare different things. `*` = partial floor (a"
                        + " component is missing, see above).\n");
    }

    private static void timerSection(
            StringBuilder md, Map<String, Row> timers, List<Map<String, Object>> results) {
        if (timers.isEmpty()) {
            return;
        }
        md.append("\n## Timers as SQL window operators use them\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "SqlWindowTimerBenchmark: `RowData` keys, %,d keys with an event-time timer per window"
                                + " (namespace: the window end); keys copied before `setCurrentKey` when the"
                                + " backend says `isSafeToReuseKVState() == false`, as the planner's window buffer"
                                + " does. registerAndFire: register, then the watermark fires them;"
                                + " registerAndDelete: register, then delete each. timers/ms, higher is better.%n%n",
                        SqlWindowTimerBenchmark.KEYS_PER_WINDOW));
        md.append(
                String.format(
                        Locale.ROOT,
                        "TimerBacklogBenchmark (the `backlog:` rows): %,d event-time timers pending (%,d"
                                + " steps of %,d, Long keys over %,d keys); each operation registers a timer"
                                + " one backlog ahead and the watermark fires (or the operator deletes) one of"
                                + " the oldest, so timers leave in event-time order out of the whole backlog;"
                                + " registerExisting registers pending timers again (as SQL window operators"
                                + " do at every flush of their buffer). ferrostate keeps its timers in its store"
                                + " (`state.backend.ferrostate.timer-service.factory: NATIVE`, the default),"
                                + " RocksDB in RocksDB (its default), HashMap on the heap.%n%n",
                        TimerBacklogBenchmark.TIMERS_PER_STEP * TimerBacklogBenchmark.BACKLOG_STEPS,
                        TimerBacklogBenchmark.BACKLOG_STEPS,
                        TimerBacklogBenchmark.TIMERS_PER_STEP,
                        TimerBacklogBenchmark.KEYS));
        md.append("| operation | HashMap | RocksDB | ferrostate | vs RocksDB | vs HashMap |\n");
        md.append("|---|---:|---:|---:|---:|---:|\n");
        for (String op :
                Arrays.asList(
                        "registerAndFire",
                        "registerAndDelete",
                        "backlog:registerAndFire",
                        "backlog:registerAndDelete")) {
            if (!timers.containsKey(op + "|FERROSTATE")) {
                continue;
            }
            Row ferro = timers.get(op + "|FERROSTATE");
            md.append("| ").append(op);
            for (String b : BACKENDS) {
                Row r = timers.get(op + "|" + b);
                md.append(" | ").append(r == null ? "-" : score(r));
                if (r != null) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("benchmark", op);
                    e.put("regime", "timers");
                    e.put("backend", BACKEND_IDS.get(b));
                    e.put("ops_per_ms", round(r.score));
                    e.put("error", round(r.error));
                    results.add(e);
                }
            }
            md.append(" | ").append(ratio(ferro, timers.get(op + "|ROCKSDB")));
            md.append(" | ").append(ratio(ferro, timers.get(op + "|HEAP"))).append(" |\n");
        }
    }

    private static void jobSection(
            StringBuilder md, Map<String, Row> job, List<Map<String, Object>> results) {
        if (job.isEmpty()) {
            return;
        }
        md.append("\n## The example job on a MiniCluster\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "SessionTrackerJob (ValueState with TTL, ListState, MapState per user), %,d generated"
                                + " events per job run, parallelism 1, a checkpoint every second, backend chosen by"
                                + " `state.backend.type` alone, 512 MiB managed memory; each measurement is one"
                                + " whole job run, start and end included.%n%n",
                        JobThroughputBenchmark.EVENTS));
        md.append(
                "| backend | events/s | ferrostate/RocksDB | ferrostate/HashMap |\n|---|---:|---:|---:|\n");
        Row ferro = job.get("FERROSTATE");
        for (String b : BACKENDS) {
            Row r = job.get(b);
            if (r == null) {
                continue;
            }
            md.append("| ")
                    .append(BACKEND_IDS.get(b))
                    .append(" | ")
                    .append(String.format(Locale.ROOT, "%,.0f", r.score * 1000))
                    .append(pm(r.error * 1000));
            md.append(" | ").append(b.equals("FERROSTATE") ? ratio(ferro, job.get("ROCKSDB")) : "");
            md.append(" | ").append(b.equals("FERROSTATE") ? ratio(ferro, job.get("HEAP")) : "");
            md.append(" |\n");
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("benchmark", "sessionTrackerJob");
            e.put("regime", "in-memory");
            e.put("backend", BACKEND_IDS.get(b));
            e.put("ops_per_ms", round(r.score));
            e.put("error", round(r.error));
            e.put("events_per_second", Math.round(r.score * 1000));
            results.add(e);
        }
    }

    private static void notes(StringBuilder md, String profile) {
        md.append("\n## Notes\n\n");
        md.append(
                "- Throughput benchmarks from flink-benchmarks' state suite, with its data and its"
                        + " per-invocation KeyValue; mapContains misses half the time, mapRemove and listAppend"
                        + " change the data as they run, as in Flink.\n");
        if (!profile.equals("full")) {
            md.append(
                    "- Short profiles load the lists once per trial; Flink (and `make bench-full`)"
                            + " reload them before every iteration, so listAppend lists grow a little longer"
                            + " here.\n");
        }
        md.append(
                "- Out-of-core lists are always loaded once per trial (one load writes ~640 MB). Out-of-core"
                        + " state is measured as loaded, without a full compaction first"
                        + " (`-Dferrostate.bench.out-of-core.compact=true` adds one for RocksDB and ferrostate).\n");
        md.append(
                "- RocksDB runs with Flink 1.20's defaults. Out-of-core, those keep whole (unpartitioned)"
                        + " index blocks in a 64 MiB block cache split into 64 shards, so most gets read an index"
                        + " block again: that, not the data, bounds its reads. The Flink option"
                        + " `state.backend.rocksdb.memory.partitioned-index-filters: true` removes it: the"
                        + " out-of-core runs also measure that RocksDB (`rocksdb-tuned`), and ferrostate is"
                        + " held to it.\n");
        md.append(
                "- Out-of-core reads go to files the OS page cache may still hold (24 GiB of RAM): the"
                        + " budget bounds the backends, not the kernel.\n");
        md.append(
                "- 2 noisy cores shared with other work: compare ratios within one run, not absolute"
                        + " numbers across runs.\n");
    }

    // ------------------------------------------------------------------------------------------

    static List<Row> readJmh(Path tmp) throws IOException {
        List<Row> rows = new ArrayList<>();
        if (!Files.isDirectory(tmp)) {
            return rows;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(tmp)) {
            files =
                    s.filter(
                                    p ->
                                            p.getFileName().toString().startsWith("jmh-")
                                                    && p.getFileName().toString().endsWith(".json"))
                            .sorted()
                            .collect(Collectors.toList());
        }
        for (Path f : files) {
            if (Files.size(f) == 0) {
                continue;
            }
            for (JsonNode n : Json.read(f)) {
                Row r = new Row();
                String full = n.path("benchmark").asText();
                String[] parts = full.split("\\.");
                r.benchmark = parts[parts.length - 1];
                r.clazz = parts[parts.length - 2];
                JsonNode params = n.path("params");
                r.regime = params.path("regime").asText("");
                r.backend = params.path("backend").asText("");
                JsonNode pm = n.path("primaryMetric");
                r.score = pm.path("score").asDouble(Double.NaN);
                r.error = number(pm.path("scoreError"));
                r.unit = pm.path("scoreUnit").asText();
                rows.add(r);
            }
        }
        return rows;
    }

    private static double number(JsonNode n) {
        if (n.isNumber()) {
            return n.asDouble();
        }
        try {
            return Double.parseDouble(n.asText());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    static Map<String, JsonNode> readMemory(Path dir) throws IOException {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            return m;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().collect(Collectors.toList())) {
                JsonNode n = Json.read(p);
                m.put(
                        n.path("benchmark").asText()
                                + "."
                                + n.path("backend").asText()
                                + "."
                                + n.path("regime").asText(),
                        n);
            }
        }
        return m;
    }

    static Map<String, String> readNatives(Path file) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return m;
        }
        Iterator<Map.Entry<String, JsonNode>> it = Json.read(file).fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isNull()) {
                m.put(e.getKey(), e.getValue().asText());
            }
        }
        return m;
    }

    /** The criterion benchmark whose mean stands in for rustLookup in-memory. */
    static final String CRITERION_HOT = "store_get_hot";

    static Path criterionDir() {
        String target = System.getenv("CARGO_TARGET_DIR");
        return Paths.get(
                        target != null
                                ? target
                                : System.getProperty("user.home") + "/.cache/ferrostate/target")
                .resolve("criterion");
    }

    static String criterionTime(String id) {
        try {
            return Files.getLastModifiedTime(
                            criterionDir().resolve(id).resolve("new/estimates.json"))
                    .toInstant()
                    .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    .toString();
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * Mean estimates (ns) of the criterion benchmarks of rust/engine/benches/lookup.rs, from the
     * last {@code cargo bench}: ids matching {@code -Dferrostate.bench.criterion} (a regex).
     */
    static Map<String, Double> readCriterion() {
        Map<String, Double> m = new TreeMap<>();
        java.util.regex.Pattern wanted =
                java.util.regex.Pattern.compile(
                        System.getProperty(
                                "ferrostate.bench.criterion", "lookup|hot_tier|store_get|hashmap"));
        Path dir = criterionDir();
        if (!Files.isDirectory(dir)) {
            return m;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p :
                    s.filter(x -> x.toString().endsWith("/new/estimates.json"))
                            .collect(Collectors.toList())) {
                String id = dir.relativize(p.getParent().getParent()).toString();
                if (!wanted.matcher(id).find()) {
                    continue;
                }
                JsonNode n = Json.read(p);
                double ns = n.path("mean").path("point_estimate").asDouble(Double.NaN);
                if (!Double.isNaN(ns)) {
                    m.put(id, ns);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no criterion results
        }
        return m;
    }

    /** The -Dferrostate.bench.* properties of this run (the forks got the same). */
    static List<String> overrides() {
        return System.getProperties().stringPropertyNames().stream()
                .filter(
                        k ->
                                k.startsWith("ferrostate.bench.")
                                        && !k.endsWith("memdir")
                                        && !k.endsWith("workdir"))
                .sorted()
                .map(k -> k + "=" + System.getProperty(k))
                .collect(Collectors.toList());
    }

    static String machine() {
        String cpu = "?";
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        long mem = -1;
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    mem = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return String.format(
                Locale.ROOT,
                "%s, %d cores, %s RAM, %s %s, Java %s (%s)",
                cpu,
                Runtime.getRuntime().availableProcessors(),
                mem > 0 ? String.format(Locale.ROOT, "%.0f GiB", mem / (double) (1L << 30)) : "?",
                System.getProperty("os.name"),
                System.getProperty("os.version"),
                System.getProperty("java.version"),
                System.getProperty("java.vm.name"));
    }

    private static String score(Row r) {
        return r == null ? "-" : fmt(r.score) + pm(r.error);
    }

    private static String pm(double error) {
        return Double.isNaN(error) ? " ± n/a" : " ± " + fmt(error);
    }

    private static String ratio(Row a, Row b) {
        if (a == null || b == null || b.score == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f", a.score / b.score);
    }

    static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        if (a >= 100) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static Object round(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return null;
        }
        return Math.round(v * 1000) / 1000.0;
    }

    static String mib(long bytes) {
        if (bytes == Long.MIN_VALUE) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }
}
