package io.ferrostate.cluster;

import io.ferrostate.cluster.jobs.InJarFerroStateJob;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ferrostate inside a user's job jar: a cluster whose {@code lib/} has no ferrostate and whose
 * default backend is hashmap; the job jar carries ferrostate's classes and native library and sets
 * {@code env.setStateBackend(new FerroStateBackend())} in code. Two such jobs run in one
 * TaskManager at once (4 slots, 2 per job), each loading the native library in its own job class
 * loader; they are cancelled and resubmitted (three times), and the last pair runs to the end with
 * outputs equal to {@code Reference}'s. The TaskManager must stay the same live process throughout
 * and stop on SIGTERM at the end.
 *
 * <p>Library copies: the library is linked with {@code -z nodelete} (RocksDB's threads outlive a
 * class loader), so a copy stays mapped after its class loader is gone. Each class loader loads the
 * first of ferrostate's numbered copies that no live class loader holds; after each round the test
 * runs GCs in the TaskManager until no job class loader holds ferrostate's classes (nothing pins
 * them), and the next round loads the same copies again: after 8 job class loaders the TaskManager
 * maps at most 3 copies ({@code /proc/<tm pid>/maps}).
 */
class RealClusterClassLoaderITCase {

    private static final Pattern LOADED =
            Pattern.compile(
                    ".*Loaded ferrostate native library .* \\((?:copy|extracted to) (\\S+)\\) into class loader (\\S+)\\.$");

    /** Rounds of two jobs: all but the last cancelled. */
    private static final int ROUNDS = 4;

    /** Class loaders holding the library at once (two jobs), plus one for a late collection. */
    private static final int MAX_COPIES = 3;

    private static FlinkCluster cluster;
    private static Path work;
    private static Path jobJar;

    @BeforeAll
    static void startCluster() throws IOException {
        // One cluster at a time: the ferrostate cluster the other classes share is done.
        FerroCluster.stopShared();
        work = FerroCluster.workDir("classloader");
        // The job jar: the job class, ferrostate's jar (classes and native library) and the
        // examples' shaded jar (the session tracker, the datagen connector).
        Path testClasses = FlinkCluster.codeSource(InJarFerroStateJob.class.getName());
        jobJar =
                JarBuilder.create()
                        .addDirectory(testClasses, n -> n.startsWith("io/ferrostate/cluster/jobs/"))
                        .addJar(FlinkCluster.ferrostateJar(work))
                        .addJar(FlinkCluster.examplesJar(work))
                        .mainClass(InJarFerroStateJob.class.getName())
                        .write(work.resolve("session-tracker-with-ferrostate-inside.jar"));
        cluster =
                FlinkCluster.builder()
                        .workDir(work.resolve("cluster"))
                        .taskManagers(1)
                        .conf("taskmanager.numberOfTaskSlots", "4")
                        .conf("state.backend.type", "hashmap")
                        .conf("restart-strategy.type", "none")
                        .conf("web.refresh-interval", "200")
                        .start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.stop();
            assertThat(cluster.livePids()).as("JVMs of the cluster left after stop").isEmpty();
            assertThat(cluster.stragglerThreadDumps())
                    .as("JVMs that did not stop on SIGTERM (thread dumps)")
                    .isEmpty();
        }
    }

    @Test
    void twoJobsWithFerrostateInsideRunTogetherAndAreResubmittedWithoutHarm() throws Exception {
        try (Stream<Path> lib = Files.list(cluster.workDir().resolve("lib"))) {
            assertThat(lib.map(p -> p.getFileName().toString()))
                    .noneMatch(n -> n.contains("ferrostate"));
        }
        assertThat(
                        Files.readAllLines(
                                cluster.workDir().resolve("conf/flink-conf.yaml"),
                                StandardCharsets.UTF_8))
                .contains("state.backend.type: hashmap")
                .noneMatch(l -> l.contains("Ferro"));
        assertThat(cluster.liveTaskManagers()).hasSize(1);
        int tm = cluster.liveTaskManagers().keySet().iterator().next();
        long pid = cluster.liveTaskManagers().get(tm);
        Path tmLog = cluster.taskManagerLog(tm);

        List<String> rounds = new ArrayList<>();
        int submitted = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            boolean last = round == ROUNDS;
            List<ExampleJob> jobs = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int j = 0; j < 2; j++) {
                ExampleJob job =
                        last
                                // Bounded, but long enough (30 s at the source's rate) that
                                // both jobs are still running when the test has seen the first
                                // start and checkpoint, on a loaded machine too (at 5 s, the
                                // second job once finished before the test looked at it).
                                ? ExampleJob.session(
                                        work.resolve("out-" + round + "-" + j),
                                        "--events",
                                        "30000",
                                        "--users",
                                        "1000",
                                        "--summary-every",
                                        "10",
                                        "--rate",
                                        "1000",
                                        "--seed",
                                        Integer.toString(100 * round + j),
                                        "--checkpoint-interval",
                                        "500",
                                        "--parallelism",
                                        "2")
                                : ExampleJob.session(
                                        work.resolve("out-" + round + "-" + j),
                                        "--unbounded",
                                        "--users",
                                        "1000",
                                        "--rate",
                                        "2000",
                                        "--seed",
                                        Integer.toString(100 * round + j),
                                        "--checkpoint-interval",
                                        "500",
                                        "--parallelism",
                                        "2");
                job.withMainClass(InJarFerroStateJob.class.getName());
                jobs.add(job);
                ids.add(job.submit(cluster, jobJar, "-p", "2"));
                submitted++;
            }
            // Both run at once in the one TaskManager, and both checkpoint through ferrostate.
            for (String id : ids) {
                cluster.waitForAllTasksRunning(id, Duration.ofMinutes(2));
            }
            for (String id : ids) {
                cluster.waitForCheckpointAfter(id, 1, Duration.ofMinutes(1));
                assertThat(
                                cluster.rest("jobs/" + id + "/checkpoints/config")
                                        .path("state_backend")
                                        .asText())
                        .isEqualTo("ferrostate");
                assertThat(cluster.jobState(id)).isEqualTo("RUNNING");
            }
            if (last) {
                for (int j = 0; j < 2; j++) {
                    String state = cluster.waitForJob(ids.get(j), Duration.ofMinutes(2));
                    assertThat(state)
                            .as("root exception: %s", cluster.rootExceptionSummary(ids.get(j)))
                            .isEqualTo("FINISHED");
                    jobs.get(j).assertOutputMatchesReference();
                }
            } else {
                for (String id : ids) {
                    cluster.cancel(id);
                }
                for (String id : ids) {
                    assertThat(cluster.waitForJob(id, Duration.ofMinutes(1))).isEqualTo("CANCELED");
                }
            }
            // Once the TaskManager has released the jobs' class loaders, a GC collects them (and
            // the JVM unloads their library): nothing of ferrostate pins a job's class loader.
            String collected = awaitFerrostateClassesCollected(pid, Duration.ofMinutes(2));
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
                    .as("TaskManager pid %d", pid)
                    .contains(true);
            assertThat(cluster.liveTaskManagers()).containsEntry(tm, pid).hasSize(1);
            for (String id : ids) {
                assertThat(cluster.exceptionHistory(id)).as("failures of job %s", id).isEmpty();
            }
            List<String[]> loads = loads(tmLog);
            rounds.add(
                    String.format(
                            "round %d (%s): %d library loads so far, %d copies mapped, %s threads; %s",
                            round,
                            last ? "ran to the end" : "cancelled",
                            loads.size(),
                            mappedCopies(pid).size(),
                            threads(pid),
                            collected));
            assertThat(loads).as("one load per job class loader").hasSize(submitted);
        }

        List<String[]> loads = loads(tmLog);
        Set<String> files =
                loads.stream().map(l -> l[0]).collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> loaders =
                loads.stream().map(l -> l[1]).collect(Collectors.toCollection(LinkedHashSet::new));
        assertThat(loaders).as("a class loader of its own per job").hasSize(submitted);
        List<String> mapped = mappedCopies(pid);
        System.out.printf("[classloader] %s%n", String.join("; ", rounds));
        System.out.printf(
                "[classloader] %d jobs submitted, %d loads in %d class loaders from %d library files %s;"
                        + " %d library copies mapped in TaskManager pid %d (%s MiB each)%n",
                submitted,
                loads.size(),
                loaders.size(),
                files.size(),
                files,
                mapped.size(),
                pid,
                mappedSizeMiB(pid, mapped.isEmpty() ? null : mapped.get(0)));
        // -z nodelete: a copy stays mapped after its class loader is gone, and a later class
        // loader loads that same copy again: the copies are bounded by the class loaders that
        // held the library at once, not by the jobs ever submitted.
        assertThat(mapped).isNotEmpty().allMatch(files::contains);
        assertThat(files)
                .as("library files loaded by %d job class loaders", submitted)
                .hasSizeLessThanOrEqualTo(MAX_COPIES);
        assertThat(mapped)
                .as("library copies mapped after %d job class loaders", submitted)
                .hasSizeLessThanOrEqualTo(MAX_COPIES);
    }

    /** (extracted file, class loader) of each "Loaded ferrostate native library" line. */
    private static List<String[]> loads(Path log) throws IOException {
        List<String[]> l = new ArrayList<>();
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            Matcher m = LOADED.matcher(line);
            if (m.matches()) {
                l.add(new String[] {m.group(1), m.group(2)});
            }
        }
        return l;
    }

    /** The process's thread count (/proc/<pid>/status). */
    private static String threads(long pid) throws IOException {
        for (String line :
                Files.readAllLines(Paths.get("/proc/" + pid + "/status"), StandardCharsets.UTF_8)) {
            if (line.startsWith("Threads:")) {
                return line.substring("Threads:".length()).trim();
            }
        }
        return "?";
    }

    /** Distinct ferrostate library files mapped into the process. */
    private static List<String> mappedCopies(long pid) throws IOException {
        Set<String> paths = new LinkedHashSet<>();
        for (String line :
                Files.readAllLines(Paths.get("/proc/" + pid + "/maps"), StandardCharsets.UTF_8)) {
            int i = line.indexOf('/');
            if (i >= 0 && line.contains("libferrostate_jni")) {
                paths.add(line.substring(i).replace(" (deleted)", "").trim());
            }
        }
        return new ArrayList<>(paths);
    }

    /** Size of one mapped copy (sum of its mappings' address ranges), in MiB. */
    private static String mappedSizeMiB(long pid, String file) throws IOException {
        if (file == null) {
            return "-";
        }
        long bytes = 0;
        for (String line :
                Files.readAllLines(Paths.get("/proc/" + pid + "/maps"), StandardCharsets.UTF_8)) {
            if (line.contains(file)) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                bytes +=
                        Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16);
            }
        }
        return String.format("%.1f", bytes / 1048576.0);
    }

    /**
     * Runs full GCs in the TaskManager (jcmd GC.run) until no copy of ferrostate's loader class is
     * loaded any more (one per live job class loader that loaded it): the class loaders of finished
     * and cancelled jobs must be collectable. Polls: the TaskManager releases a job's class loader
     * once the job's slots are freed.
     */
    private static String awaitFerrostateClassesCollected(long pid, Duration timeout)
            throws Exception {
        String jcmd = Paths.get(System.getProperty("java.home"), "bin", "jcmd").toString();
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        int gcs = 0;
        long copies;
        do {
            run(jcmd, Long.toString(pid), "GC.run");
            gcs++;
            String out =
                    run(
                            jcmd,
                            Long.toString(pid),
                            "VM.class_hierarchy",
                            "io.ferrostate.flink.nativ.NativeLibraryLoader");
            copies =
                    out.lines()
                            .filter(
                                    l ->
                                            l.contains(
                                                    "io.ferrostate.flink.nativ.NativeLibraryLoader"))
                            .count();
            if (copies == 0) {
                return String.format(
                        "ferrostate classes of all job class loaders collected after %d GCs", gcs);
            }
            Thread.sleep(500);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(
                String.format(
                        "%d class loaders still hold ferrostate's classes in TaskManager pid %d after %d GCs in %s;"
                                + " see jcmd %d GC.class_histogram / VM.class_hierarchy",
                        copies, pid, gcs, timeout, pid));
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }
}
