package io.ferrostate.bench;

import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.nativ.NativeResults;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a trial leaves behind besides its score: the process RSS (before the backend was built and
 * at the end), the heap, ferrostate's own accounting ({@code memoryUsage()}: hot tier, RocksDB,
 * budget) and counters ({@code stats()}: RocksDB reads, writes, hot hits, evictions), the files on
 * disk and the time the data took to load. One JSON file per trial in {@code
 * -Dferrostate.bench.memdir}, which the runner merges into the report.
 */
final class MemoryProbe {
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final long started = System.nanoTime();

    MemoryProbe(String backend, String regime, long budget) {
        values.put("backend", backend);
        values.put("regime", regime);
        values.put("budget_bytes", budget);
        values.put("rss_before_bytes", status("VmRSS"));
        values.put("rss_anon_before_bytes", status("RssAnon"));
    }

    /** Records the seconds since the probe started under {@code key}. */
    void mark(String key) {
        values.put(key, (System.nanoTime() - started) / 1e9);
    }

    /** The data is loaded: how long it took, what it is, what it takes on disk. */
    void setupDone(long logicalStateBytes, long diskBytes) {
        values.put("setup_seconds", (System.nanoTime() - started) / 1e9);
        values.put("logical_state_bytes", logicalStateBytes);
        values.put("disk_bytes_after_setup", diskBytes);
        values.put("rss_after_setup_bytes", status("VmRSS"));
    }

    /** End of the trial, before the backend is disposed. */
    void finish(String benchmark, BenchBackends.Built<?> built) {
        values.put("benchmark", benchmark);
        values.put("rss_end_bytes", status("VmRSS"));
        values.put("rss_peak_bytes", status("VmHWM"));
        values.put("rss_anon_end_bytes", status("RssAnon"));
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        values.put("heap_used_bytes", heap.getUsed());
        values.put("heap_committed_bytes", heap.getCommitted());
        values.put("disk_bytes_end", BenchBackends.diskBytes(built == null ? null : built.dir));
        FerroKeyedStateBackend<?> ferro = built == null ? null : built.ferro();
        if (ferro != null && !ferro.isDisposed()) {
            try {
                NativeResults.StoreMemory usage = ferro.store().memoryUsage();
                values.put("ferro_hot_bytes", usage.hotBytes);
                values.put("ferro_rocksdb_bytes", usage.rocksdbBytes);
                values.put("ferro_budget_bytes", usage.budget);
                values.put("ferro_allocator_allocated_bytes", usage.allocatorAllocatedBytes);
                values.put("ferro_allocator_resident_bytes", usage.allocatorResidentBytes);
            } catch (RuntimeException e) {
                values.put("ferro_memory_error", String.valueOf(e.getMessage()));
            }
            try {
                NativeResults.StoreCounters stats = ferro.store().stats();
                values.put("ferro_rocksdb_reads", stats.rocksdbReads);
                values.put("ferro_rocksdb_writes", stats.rocksdbWrites);
                values.put("ferro_hot_hits", stats.hotHits);
                values.put("ferro_evictions", stats.evictions);
            } catch (RuntimeException | LinkageError e) {
                // stats() is newer than memoryUsage(); an older jar simply has none.
            }
        }
    }

    void write() {
        String dir = System.getProperty("ferrostate.bench.memdir");
        if (dir == null || dir.isEmpty()) {
            return;
        }
        String name =
                values.get("benchmark") + "." + values.get("backend") + "." + values.get("regime");
        try {
            Path d = Paths.get(dir);
            Files.createDirectories(d);
            Files.write(
                    d.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".json"),
                    Json.write(values).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            System.err.println("ferrostate bench: could not write the memory record: " + e);
        }
    }

    /** A size line of /proc/self/status ("VmRSS: 123 kB"), in bytes; -1 if unreadable. */
    static long status(String key) {
        try {
            List<String> lines = Files.readAllLines(Paths.get("/proc/self/status"));
            for (String line : lines) {
                if (line.startsWith(key + ":")) {
                    String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }
}
