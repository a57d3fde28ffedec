package io.ferrostate.cluster;

import io.ferrostate.cluster.jobs.StateHeavyJob;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TaskManager that stays inside its process size (issue 17, item 2): on a real standalone Flink
 * cluster of one TaskManager ({@code taskmanager.memory.process.size} {@value #PROCESS_SIZE}, one
 * slot), {@link StateHeavyJob} writes, rewrites and reads back state several times the slot's
 * managed memory, with incremental checkpoints every 10 s, on ferrostate and then, in a fresh
 * TaskManager JVM, on RocksDB (Flink's defaults plus partitioned index and filters, as Flink
 * advises for state larger than memory). The TaskManager's RSS is sampled every second.
 *
 * <p>Asserted for ferrostate: the job finishes with exact output, and the peak RSS stays at or
 * below the process size; where the machine lets the test make a memory cgroup (v2 {@code
 * memory.max}, else v1 {@code memory.limit_in_bytes}) the TaskManager runs under a limit of the
 * process size and no OOM kill happens. RocksDB's figures are shown beside them. The report (stdout
 * and {@code target/real-cluster/memory-report.md}) says which limit applied, or why none.
 */
class RealClusterMemoryITCase {
    static final String PROCESS_SIZE = "1280m";
    static final long PROCESS_BYTES = 1280L << 20;
    static final long KEYS = 1_000_000;
    static final int VALUE_BYTES = 2048;

    private static Path work;
    private static Path jobJar;
    private static FlinkCluster cluster;

    @BeforeAll
    static void startCluster() throws IOException {
        // One cluster at a time: the ferrostate cluster the other classes share is done.
        FerroCluster.stopShared();
        work = FerroCluster.workDir("memory");
        Path testClasses = FlinkCluster.codeSource(StateHeavyJob.class.getName());
        jobJar =
                JarBuilder.create()
                        .addDirectory(
                                testClasses,
                                n -> n.startsWith("io/ferrostate/cluster/jobs/StateHeavyJob"))
                        .mainClass(StateHeavyJob.class.getName())
                        .write(work.resolve("state-heavy.jar"));
        cluster =
                FlinkCluster.builder()
                        .workDir(work.resolve("cluster"))
                        .libJar(FlinkCluster.ferrostateJar(work))
                        .ferrostateBackend(true)
                        .taskManagers(1)
                        .conf("taskmanager.numberOfTaskSlots", "1")
                        .conf("taskmanager.memory.process.size", PROCESS_SIZE)
                        .conf("execution.checkpointing.interval", "10 s")
                        .conf("restart-strategy.type", "none")
                        .conf("web.refresh-interval", "200")
                        .start();
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (cluster != null) {
            cluster.stop();
            // The state (GBs) and its checkpoints are of no use after the test.
            cluster.deleteWorkDir();
        }
    }

    /** One backend's run. */
    static final class Run {
        final String backend;
        String state;
        double seconds;
        long peakRss;
        long samples;
        Map<String, String> output;
        String limit;
        long oomKills = -1;
        long cgroupPeak = -1;

        Run(String backend) {
            this.backend = backend;
        }
    }

    @Test
    void aStateHeavyJobStaysInsideTheProcessSize() throws Exception {
        long managed = managedMemory();
        assertThat(KEYS * VALUE_BYTES)
                .as("the state is several times the managed memory (%d bytes)", managed)
                .isGreaterThan(4 * managed);
        Run ferro =
                run("ferrostate", List.of("-Dstate.backend.type=" + FlinkCluster.FERRO_FACTORY));
        Run rocks =
                run(
                        "rocksdb",
                        List.of(
                                "-Dstate.backend.type=rocksdb",
                                "-Dstate.backend.rocksdb.memory.partitioned-index-filters=true"));
        String report = report(managed, ferro, rocks);
        System.out.println(report);
        Files.write(
                work.getParent().resolve("memory-report.md"),
                report.getBytes(StandardCharsets.UTF_8));

        assertThat(ferro.state).as("ferrostate's job").isEqualTo("FINISHED");
        assertExact(ferro);
        assertThat(ferro.samples).as("RSS samples of ferrostate's run").isGreaterThan(5);
        assertThat(ferro.peakRss)
                .as("ferrostate's TaskManager peak RSS against its process size")
                .isBetween(1L, PROCESS_BYTES);
        if (ferro.oomKills >= 0) {
            assertThat(ferro.oomKills).as("OOM kills under the memory limit").isZero();
        }
        if ("FINISHED".equals(rocks.state)) {
            assertExact(rocks);
        }
    }

    private static void assertExact(Run r) {
        assertThat(r.output)
                .as("%s's output", r.backend)
                .containsEntry("written", Long.toString(2 * KEYS))
                .containsEntry("checked", Long.toString(2 * KEYS))
                .containsEntry("wrong", "0");
    }

    /** The managed memory of the TaskManager, from the REST API. */
    private static long managedMemory() {
        JsonNode tms = cluster.rest("taskmanagers").path("taskmanagers");
        assertThat(tms.size()).isEqualTo(1);
        String id = tms.get(0).path("id").asText();
        long managed =
                cluster.rest("taskmanagers/" + id)
                        .path("memoryConfiguration")
                        .path("managedMemory")
                        .asLong();
        assertThat(managed).as("managed memory").isPositive();
        return managed;
    }

    /** Runs the job on a fresh TaskManager JVM, sampling its RSS every second. */
    private static Run run(String backend, List<String> options) throws Exception {
        Run r = new Run(backend);
        for (int tm : new ArrayList<>(cluster.liveTaskManagers().keySet())) {
            cluster.killTaskManager(tm);
        }
        cluster.ensureTaskManagers(1);
        ProcessHandle tm = cluster.taskManagerHandles().values().iterator().next();
        try (MemoryLimit limit = MemoryLimit.apply(tm.pid(), PROCESS_BYTES, backend)) {
            r.limit = limit.description();
            RssSampler rss = new RssSampler(List.of(tm), 1000);
            rss.start();
            long t0 = System.nanoTime();
            List<String> runOptions = new ArrayList<>(List.of("-p", "1"));
            runOptions.addAll(options);
            String id =
                    cluster.submit(
                            runOptions,
                            jobJar,
                            "--keys",
                            Long.toString(KEYS),
                            "--value-bytes",
                            Integer.toString(VALUE_BYTES));
            try {
                r.state = cluster.waitForJob(id, Duration.ofMinutes(15));
            } finally {
                rss.stop();
                r.seconds = (System.nanoTime() - t0) / 1e9;
                r.peakRss = rss.peak();
                r.samples = rss.rounds();
                r.oomKills = limit.oomKills();
                r.cgroupPeak = limit.peakUsage();
            }
            r.output = cluster.userAccumulators(id);
            if (!"FINISHED".equals(r.state)) {
                r.state += ": " + cluster.rootExceptionSummary(id);
            }
        }
        return r;
    }

    private static String report(long managed, Run... runs) {
        StringBuilder md = new StringBuilder();
        md.append("# A TaskManager inside its process size (RealClusterMemoryITCase)\n\n");
        md.append(
                String.format(
                        Locale.ROOT,
                        "Flink %s standalone, one TaskManager of one slot, process size %s"
                                + " (managed memory %s), a fresh TaskManager JVM per backend;"
                                + " StateHeavyJob: %,d keys x %,d random bytes (%s of state, %.1fx"
                                + " the managed memory) written, rewritten and read back, incremental"
                                + " checkpoints every 10 s; RSS of the TaskManager sampled every second.%n%n",
                        FlinkCluster.DEFAULT_FLINK_VERSION,
                        PROCESS_SIZE,
                        mib(managed),
                        KEYS,
                        VALUE_BYTES,
                        mib(KEYS * VALUE_BYTES),
                        KEYS * VALUE_BYTES / (double) managed));
        md.append(
                "| backend | job | seconds | peak RSS | RSS samples | within process size |"
                        + " memory limit | cgroup peak usage (page cache included) | OOM kills |"
                        + " output (written / checked / wrong) |\n");
        md.append("|---|---|---:|---:|---:|---|---|---:|---:|---|\n");
        for (Run r : runs) {
            md.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %.0f | %s | %d | %s | %s | %s | %s | %s / %s / %s |%n",
                            r.backend,
                            r.state.replace("|", "/").replaceAll("\\s*\\R\\s*", " "),
                            r.seconds,
                            mib(r.peakRss),
                            r.samples,
                            r.peakRss <= PROCESS_BYTES ? "yes" : "**no**",
                            r.limit,
                            r.cgroupPeak < 0 ? "-" : mib(r.cgroupPeak),
                            r.oomKills < 0 ? "-" : Long.toString(r.oomKills),
                            r.output == null ? "-" : r.output.get("written"),
                            r.output == null ? "-" : r.output.get("checked"),
                            r.output == null ? "-" : r.output.get("wrong")));
        }
        return md.toString();
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%,d MiB", bytes >> 20);
    }
}
