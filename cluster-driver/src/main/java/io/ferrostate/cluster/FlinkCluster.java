package io.ferrostate.cluster;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real standalone Flink cluster (one JobManager and N TaskManagers, each its own JVM, started by
 * Flink's own scripts) for ferrostate's real-cluster tests. A thin driver of {@code
 * flink-tests/cluster/cluster.sh}; the distribution comes from {@code cluster/flink-dist.sh}
 * (Flink's released binaries from PyPI, cached in {@code ~/.cache/ferrostate/flink-dist}).
 *
 * <pre>{@code
 * try (FlinkCluster cluster = FlinkCluster.builder()
 *         .workDir(dir)
 *         .libJar(FlinkCluster.ferrostateJar(dir))          // into the cluster's lib/
 *         .ferrostateBackend(true)                          // state.backend: ...FerroStateBackendFactory
 *         .conf("restart-strategy.type", "none")
 *         .start()) {
 *     String job = cluster.submit(List.of("-p", "4"), jar, "--records", "1000");
 *     assertThat(cluster.waitForJob(job, Duration.ofMinutes(5))).isEqualTo("FINISHED");
 * }
 * }</pre>
 *
 * <p>{@link #close()} stops every process of the cluster (kill -9 of stragglers). A watchdog
 * started by cluster.sh also stops it if this JVM dies without closing it.
 */
public final class FlinkCluster implements AutoCloseable {

    /**
     * The Flink release the real-cluster tests run on: {@code -Dferrostate.cluster.flink-version}
     * (flink-tests-2.3 sets 2.3.0), else 1.20.5 (ferrostate-flink builds against 1.20.0).
     */
    public static final String DEFAULT_FLINK_VERSION =
            System.getProperty("ferrostate.cluster.flink-version", "1.20.5");

    public static final String FERRO_FACTORY = "io.ferrostate.flink.FerroStateBackendFactory";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(5);

    private final Path workDir;
    private final Path flinkHome;
    private final URI restUrl;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private boolean stopped;

    private FlinkCluster(Path workDir, Path flinkHome, URI restUrl) {
        this.workDir = workDir;
        this.flinkHome = flinkHome;
        this.restUrl = restUrl;
    }

    public static Builder builder() {
        return new Builder();
    }

    // --------------------------------------------------------------------------------------------
    //  Locations

    /**
     * {@code flink-tests/cluster}, from the module directory surefire runs in (flink-tests, the
     * root, or a sibling module such as flink-tests-2.3).
     */
    public static Path scriptsDir() {
        String override = System.getProperty("ferrostate.cluster.scripts");
        if (override != null) {
            return Paths.get(override).toAbsolutePath();
        }
        Path base = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")));
        for (Path p :
                List.of(
                        base.resolve("cluster"),
                        base.resolve("flink-tests/cluster"),
                        base.resolve("../flink-tests/cluster"))) {
            if (Files.isRegularFile(p.resolve("cluster.sh"))) {
                return p.toAbsolutePath();
            }
        }
        throw new IllegalStateException("cluster scripts not found under " + base.toAbsolutePath());
    }

    /**
     * Assembles (or reuses the cached) Flink distribution of the given version with flink-dist.sh
     * and returns its FLINK_HOME.
     */
    public static Path flinkHome(String version) {
        String out =
                run(
                        null,
                        COMMAND_TIMEOUT.multipliedBy(4),
                        scriptsDir().resolve("flink-dist.sh").toString(),
                        version);
        return Paths.get(lastLine(out));
    }

    /**
     * The ferrostate jar the tests run against: {@code -Dferrostate.jar=...} if set, else where the
     * test classpath has {@code FerroStateBackendFactory} from: the installed jar (with {@code -pl
     * flink-tests}) or, in a reactor build, {@code java/target/classes} jarred into {@code
     * scratchDir}.
     */
    public static Path ferrostateJar(Path scratchDir) {
        String override = System.getProperty("ferrostate.jar");
        if (override != null && !override.isEmpty()) {
            Path p = Paths.get(override).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("-Dferrostate.jar=" + p + " does not exist");
            }
            return p;
        }
        try {
            Class<?> factory = Class.forName(FERRO_FACTORY);
            Path location =
                    Paths.get(factory.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(location)) {
                return location;
            }
            if (Files.isDirectory(location)) {
                return JarBuilder.create()
                        .addDirectory(location)
                        .write(scratchDir.resolve("ferrostate-flink-classes.jar"));
            }
            throw new IllegalStateException("unexpected code source " + location);
        } catch (ClassNotFoundException | URISyntaxException e) {
            throw new IllegalStateException(
                    "ferrostate is not on the test classpath; build it with"
                            + " `mvn install -DskipTests -pl java -am` or pass -Dferrostate.jar=...",
                    e);
        }
    }

    /**
     * The examples' job jar (io.ferrostate:ferrostate-examples: SessionTrackerJob, WindowedJob; no
     * ferrostate classes in it): {@code -Dferrostate.examples.jar=...} if set, else where the test
     * classpath has the examples from: the shaded jar (reactor {@code verify}, or installed), or,
     * when it is a classes directory, those classes plus flink-connector-datagen jarred into {@code
     * scratchDir}.
     */
    public static Path examplesJar(Path scratchDir) {
        String override = System.getProperty("ferrostate.examples.jar");
        if (override != null && !override.isEmpty()) {
            Path p = Paths.get(override).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(
                        "-Dferrostate.examples.jar=" + p + " does not exist");
            }
            return p;
        }
        Path location = codeSource("io.ferrostate.examples.SessionTrackerJob");
        if (Files.isRegularFile(location)) {
            return location;
        }
        Path datagen = codeSource("org.apache.flink.connector.datagen.source.DataGeneratorSource");
        return JarBuilder.create()
                .addDirectory(location)
                .addJar(datagen, n -> !n.startsWith("META-INF/"))
                .mainClass("io.ferrostate.examples.SessionTrackerJob")
                .write(scratchDir.resolve("ferrostate-examples-job.jar"));
    }

    /**
     * The Nexmark job jar (io.ferrostate:ferrostate-nexmark: the generator, the queries, the check
     * sink; no ferrostate or Flink classes in it): the jar the test classpath has it from, or its
     * classes directory jarred into {@code scratchDir}. Where the test classpath also has the check
     * sink's Flink 2.x class ({@code CheckSink2}, compiled by flink-tests-2.3 against Flink 2.3),
     * the job jar gets it too.
     */
    public static Path nexmarkJar(Path scratchDir) {
        Path location = codeSource("io.ferrostate.nexmark.NexmarkJob");
        Path flink2 = optionalCodeSource(NEXMARK_FLINK_2_SINK);
        if (Files.isRegularFile(location) && flink2 == null) {
            return location;
        }
        JarBuilder jar = JarBuilder.create();
        if (flink2 != null) {
            String entry = NEXMARK_FLINK_2_SINK.replace('.', '/') + ".class";
            jar.addDirectory(flink2, entry::equals);
        }
        if (Files.isRegularFile(location)) {
            jar.addJar(location);
        } else {
            jar.addDirectory(location);
        }
        return jar.mainClass("io.ferrostate.nexmark.NexmarkJob")
                .write(scratchDir.resolve("ferrostate-nexmark-job.jar"));
    }

    private static final String NEXMARK_FLINK_2_SINK = "io.ferrostate.nexmark.check.CheckSink2";

    /** Where a class of the test classpath comes from, or null when it is not there. */
    private static Path optionalCodeSource(String className) {
        try {
            Class.forName(className, false, FlinkCluster.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return null;
        }
        return codeSource(className);
    }

    /** The jar or classes directory a class of the test classpath comes from. */
    public static Path codeSource(String className) {
        try {
            Class<?> c = Class.forName(className, false, FlinkCluster.class.getClassLoader());
            return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (ClassNotFoundException | URISyntaxException e) {
            throw new IllegalStateException(className + " is not on the test classpath", e);
        }
    }

    // --------------------------------------------------------------------------------------------
    //  Cluster commands

    /** Submits with {@code bin/flink run -d [runOptions] jar [args]}; returns the job id. */
    public String submit(List<String> runOptions, Path jar, String... args) {
        List<String> a = new ArrayList<>(runOptions);
        a.add(jar.toAbsolutePath().toString());
        a.addAll(Arrays.asList(args));
        return lastLine(cluster("submit", a.toArray(new String[0])));
    }

    public String submit(Path jar, String... args) {
        return submit(List.of(), jar, args);
    }

    /**
     * Polls the REST API until the job is FINISHED, FAILED or CANCELED; returns that state.
     *
     * @throws IllegalStateException if it is not terminal within the timeout
     */
    public String waitForJob(String jobId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String state = null;
        while (System.nanoTime() < deadline) {
            state = jobState(jobId);
            if ("FINISHED".equals(state) || "FAILED".equals(state) || "CANCELED".equals(state)) {
                return state;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException(
                "job " + jobId + " not terminal after " + timeout + " (state " + state + ")");
    }

    public String jobState(String jobId) {
        return rest("jobs/" + jobId).path("state").asText();
    }

    /** User accumulators of a job, name to value (as the REST API renders them). */
    public Map<String, String> userAccumulators(String jobId) {
        Map<String, String> m = new LinkedHashMap<>();
        for (JsonNode a : rest("jobs/" + jobId + "/accumulators").path("user-task-accumulators")) {
            m.put(a.path("name").asText(), a.path("value").asText());
        }
        return m;
    }

    /** {@code counts} of {@code /jobs/<id>/checkpoints}: completed, failed, restored, ... */
    public JsonNode checkpointCounts(String jobId) {
        return rest("jobs/" + jobId + "/checkpoints").path("counts");
    }

    /** {@code /jobs/<id>/checkpoints}: counts, latest completed/restored/failed, history. */
    public JsonNode checkpoints(String jobId) {
        return rest("jobs/" + jobId + "/checkpoints");
    }

    /** Entries of the job's exception history (newest first), each with its stacktrace. */
    public List<JsonNode> exceptionHistory(String jobId) {
        List<JsonNode> l = new ArrayList<>();
        rest("jobs/" + jobId + "/exceptions?maxExceptions=50")
                .path("exceptionHistory")
                .path("entries")
                .forEach(l::add);
        return l;
    }

    /**
     * Waits until the job is RUNNING with every task RUNNING (or FINISHED); returns the time it
     * waited.
     */
    public Duration waitForAllTasksRunning(String jobId, Duration timeout)
            throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            JsonNode job = rest("jobs/" + jobId);
            String state = job.path("state").asText();
            boolean all = job.path("vertices").size() > 0;
            for (JsonNode v : job.path("vertices")) {
                String vs = v.path("status").asText();
                all &= vs.equals("RUNNING") || vs.equals("FINISHED");
            }
            if (state.equals("RUNNING") && all) {
                return Duration.ofNanos(System.nanoTime() - t0);
            }
            if (state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED")) {
                throw new IllegalStateException(
                        "job " + jobId + " is " + state + " (waiting for RUNNING)");
            }
            last = state;
            Thread.sleep(100);
        }
        throw new IllegalStateException(
                "job " + jobId + " not running after " + timeout + " (state " + last + ")");
    }

    /** Id of the latest completed checkpoint, -1 if none. */
    /**
     * Waits until the job's exception history has a failure at or after {@code sinceMs} (e.g. a
     * killed TaskManager detected); false if none came within the timeout.
     */
    public boolean waitForFailureSince(String jobId, long sinceMs, Duration timeout)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (System.currentTimeMillis() < deadline) {
            for (JsonNode e : exceptionHistory(jobId)) {
                if (e.path("timestamp").asLong() >= sinceMs) {
                    return true;
                }
            }
            Thread.sleep(50);
        }
        return false;
    }

    public long latestCompletedCheckpoint(String jobId) {
        JsonNode c = checkpoints(jobId).path("latest").path("completed");
        return c.isMissingNode() || c.isNull() ? -1 : c.path("id").asLong(-1);
    }

    /** Waits until a checkpoint with an id greater than {@code after} has completed; returns it. */
    public long waitForCheckpointAfter(String jobId, long after, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            long id = latestCompletedCheckpoint(jobId);
            if (id > after) {
                return id;
            }
            String state = jobState(jobId);
            if (state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED")) {
                throw new IllegalStateException(
                        "job "
                                + jobId
                                + " is "
                                + state
                                + " (waiting for a checkpoint after "
                                + after
                                + ")");
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no checkpoint after " + after + " within " + timeout);
    }

    /** The job's root exception as the REST API reports it (empty if none). */
    public String rootException(String jobId) {
        return rest("jobs/" + jobId + "/exceptions").path("root-exception").asText("");
    }

    /** First line and "Caused by" lines of the job's root exception (for assertion messages). */
    public String rootExceptionSummary(String jobId) {
        String[] lines = rootException(jobId).split("\n");
        StringBuilder b = new StringBuilder(lines[0]);
        for (String l : lines) {
            if (l.startsWith("Caused by")) {
                b.append('\n').append(l);
            }
        }
        return b.toString();
    }

    public void cancel(String jobId) {
        cluster("cancel", jobId);
    }

    /** Triggers a savepoint into {@code dir}; returns its path. */
    public String savepoint(String jobId, Path dir, String... options) {
        List<String> a = new ArrayList<>(List.of(jobId, dir.toAbsolutePath().toString()));
        a.addAll(Arrays.asList(options));
        return lastLine(cluster("savepoint", a.toArray(new String[0])));
    }

    /** {@code bin/flink stop --savepointPath dir [--drain] job}; returns the savepoint path. */
    public String stopWithSavepoint(String jobId, Path dir, boolean drain) {
        List<String> a = new ArrayList<>(List.of(jobId, dir.toAbsolutePath().toString()));
        if (drain) {
            a.add("--drain");
        }
        return lastLine(cluster("stop-with-savepoint", a.toArray(new String[0])));
    }

    /** kill -9 of TaskManager {@code n} (0-based start order); returns its pid. */
    public long killTaskManager(int n) {
        return Long.parseLong(lastLine(cluster("kill-tm", Integer.toString(n))));
    }

    /** kill -9 of the JobManager; returns its pid. */
    public long killJobManager() {
        return Long.parseLong(lastLine(cluster("kill-jm")));
    }

    /**
     * kill -9 of TaskManager {@code n} straight from this JVM (no script in between), for kills
     * that must land within milliseconds of an event; returns its pid.
     */
    public long killTaskManagerNow(int n) {
        Long pid = liveTaskManagers().get(n);
        if (pid == null) {
            throw new IllegalStateException("TaskManager " + n + " is not running");
        }
        ProcessHandle p =
                ProcessHandle.of(pid)
                        .orElseThrow(() -> new IllegalStateException("no process " + pid));
        // Guard against a recycled pid: it must be one of this cluster's JVMs.
        if (!livePids().contains(pid)) {
            throw new IllegalStateException("pid " + pid + " is not a JVM of this cluster");
        }
        p.destroyForcibly();
        try {
            p.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(
                    "TaskManager " + n + " (pid " + pid + ") did not die", e);
        }
        return pid;
    }

    /**
     * Handles of the live TaskManagers (index to process), checked to be this cluster's JVMs, for
     * {@link #killNow(ProcessHandle)} within a millisecond of an event: looking the pid up then (a
     * script run and a scan of all processes) takes 100 ms or more on a loaded machine. A handle
     * carries the process's start time, so it never kills a recycled pid.
     */
    public Map<Integer, ProcessHandle> taskManagerHandles() {
        List<Long> ours = livePids();
        Map<Integer, ProcessHandle> m = new LinkedHashMap<>();
        for (Map.Entry<Integer, Long> e : liveTaskManagers().entrySet()) {
            if (ours.contains(e.getValue())) {
                ProcessHandle.of(e.getValue()).ifPresent(h -> m.put(e.getKey(), h));
            }
        }
        return m;
    }

    /**
     * SIGKILL of a process of {@link #taskManagerHandles()}; waits until it is gone (for a process
     * that is not our child the JDK notices that by polling). Returns when the signal was sent
     * (epoch ms).
     */
    public static long killNow(ProcessHandle p) {
        if (!p.destroyForcibly()) {
            throw new IllegalStateException("could not kill pid " + p.pid() + " (gone already?)");
        }
        long sent = System.currentTimeMillis();
        try {
            p.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("pid " + p.pid() + " did not die", e);
        }
        return sent;
    }

    /** TaskManagers started so far that are alive: index (start order) to pid. */
    public Map<Integer, Long> liveTaskManagers() {
        Map<Integer, Long> m = new LinkedHashMap<>();
        for (String line : cluster("tm-pids").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[2].equals("alive")) {
                m.put(Integer.parseInt(f[0]), Long.parseLong(f[1]));
            }
        }
        return m;
    }

    /** Starts TaskManagers until {@code n} are alive and registered. */
    public void ensureTaskManagers(int n) {
        while (liveTaskManagers().size() < n) {
            startTaskManager();
        }
    }

    /** Starts one more TaskManager and waits until it is registered; returns its index. */
    public int startTaskManager() {
        return Integer.parseInt(lastLine(cluster("start-tm")));
    }

    /** GET on the REST API, e.g. {@code rest("taskmanagers")}. */
    /**
     * The TaskManagers (their numbers: cluster.sh starts TaskManager n with resource id {@code
     * tm-n}) that run tasks of the job now.
     */
    public java.util.SortedSet<Integer> taskManagersOf(String jobId) {
        java.util.SortedSet<Integer> tms = new java.util.TreeSet<>();
        for (JsonNode v : rest("jobs/" + jobId).path("vertices")) {
            for (JsonNode t :
                    rest("jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers")
                            .path("taskmanagers")) {
                String id = t.path("taskmanager-id").asText();
                if (id.startsWith("tm-")) {
                    tms.add(Integer.parseInt(id.substring(3)));
                }
            }
        }
        return tms;
    }

    public JsonNode rest(String path) {
        try {
            HttpRequest req =
                    HttpRequest.newBuilder(restUrl.resolve("/" + path))
                            .timeout(Duration.ofSeconds(30))
                            .GET()
                            .build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() / 100 != 2) {
                throw new IllegalStateException(
                        "GET " + path + ": HTTP " + resp.statusCode() + ": " + resp.body());
            }
            return JSON.readTree(resp.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Number of TaskManagers the JobManager knows. */
    public int registeredTaskManagers() {
        return rest("taskmanagers").path("taskmanagers").size();
    }

    /**
     * Stops every process of the cluster; idempotent. Logs and checkpoints stay in the work dir.
     */
    public synchronized void stop() {
        if (!stopped) {
            cluster("stop");
            stopped = true;
        }
    }

    @Override
    public void close() {
        stop();
    }

    /**
     * Thread dumps {@code cluster.sh stop} took of JVMs that did not stop on SIGTERM within 10 s
     * before it killed them (expected none).
     */
    public List<Path> stragglerThreadDumps() {
        try (Stream<Path> s = Files.list(logDir())) {
            return s.filter(p -> p.getFileName().toString().startsWith("jstack-"))
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** PIDs of this cluster's JVMs that are still alive (expected empty after {@link #stop()}). */
    public List<Long> livePids() {
        String needle = "-Dlog.file=" + logDir() + "/";
        return ProcessHandle.allProcesses()
                .filter(
                        p ->
                                p.info().commandLine().map(c -> c.contains(needle)).orElse(false)
                                        || p.info()
                                                .arguments()
                                                .map(a -> String.join(" ", a).contains(needle))
                                                .orElse(false))
                .map(ProcessHandle::pid)
                .collect(Collectors.toList());
    }

    // --------------------------------------------------------------------------------------------
    //  Logs and locations

    public Path workDir() {
        return workDir;
    }

    /** The distribution's Flink major version (from its {@code lib/flink-dist-*.jar}). */
    public int flinkMajorVersion() {
        try (Stream<Path> jars = Files.list(flinkHome.resolve("lib"))) {
            String name =
                    jars.map(p -> p.getFileName().toString())
                            .filter(n -> n.startsWith("flink-dist-") && n.endsWith(".jar"))
                            .findFirst()
                            .orElseThrow(() -> new IllegalStateException("no flink-dist jar"));
            return Integer.parseInt(name.substring("flink-dist-".length()).split("\\.")[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The configuration file cluster.sh wrote: {@code conf/flink-conf.yaml} on Flink 1.x, {@code
     * conf/config.yaml} on Flink 2 (which reads nothing else).
     */
    public Path configFile() {
        return workDir.resolve(
                flinkMajorVersion() >= 2 ? "conf/config.yaml" : "conf/flink-conf.yaml");
    }

    /** The key that names the state backend: {@code state.backend} (1.x) or its Flink 2 form. */
    public String stateBackendKey() {
        return flinkMajorVersion() >= 2 ? "state.backend.type" : "state.backend";
    }

    public Path flinkHome() {
        return flinkHome;
    }

    public URI restUrl() {
        return restUrl;
    }

    public Path logDir() {
        return workDir.resolve("log");
    }

    public Path checkpointDir() {
        return workDir.resolve("checkpoints");
    }

    public Path savepointDir() {
        return workDir.resolve("savepoints");
    }

    /** The log file of TaskManager {@code n} (Flink's daemon id is the start index). */
    public Path taskManagerLog(int n) {
        for (Path p : taskManagerLogs()) {
            if (p.getFileName().toString().matches("flink-.*-taskexecutor-" + n + "-.*\\.log")) {
                return p;
            }
        }
        throw new IllegalStateException("no log of TaskManager " + n + " in " + logDir());
    }

    /** TaskManager log files, in start order (rolled files excluded). */
    public List<Path> taskManagerLogs() {
        return logs("taskexecutor");
    }

    public List<Path> jobManagerLogs() {
        return logs("standalonesession");
    }

    private List<Path> logs(String daemon) {
        try (Stream<Path> s = Files.list(logDir())) {
            return s.filter(
                            p ->
                                    p.getFileName()
                                            .toString()
                                            .matches("flink-.*-" + daemon + "-\\d+-.*\\.log"))
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines of the given logs that contain {@code needle}. */
    public static List<String> grep(List<Path> logs, String needle) {
        List<String> hits = new ArrayList<>();
        for (Path p : logs) {
            try (Stream<String> lines = Files.lines(p, StandardCharsets.UTF_8)) {
                lines.filter(l -> l.contains(needle)).forEach(hits::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return hits;
    }

    /** Deletes the work dir (call after {@link #stop()}, e.g. when a test passed). */
    public void deleteWorkDir() throws IOException {
        if (!Files.exists(workDir)) {
            return;
        }
        Files.walkFileTree(
                workDir,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException exc)
                            throws IOException {
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    // --------------------------------------------------------------------------------------------
    //  Process plumbing

    private String cluster(String command, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(scriptsDir().resolve("cluster.sh").toString());
        cmd.add("-w");
        cmd.add(workDir.toString());
        cmd.add(command);
        cmd.addAll(Arrays.asList(args));
        return run(workDir, COMMAND_TIMEOUT, cmd.toArray(new String[0]));
    }

    /**
     * Runs a script with bash; returns its stdout. Its stderr (progress, Flink's CLI output) goes
     * to {@code <workDir>/log/harness.log} and, on failure, into the exception.
     */
    private static String run(Path workDir, Duration timeout, String... command) {
        List<String> cmd = new ArrayList<>();
        cmd.add("bash");
        cmd.addAll(Arrays.asList(command));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // The cluster runs on the JDK the tests run on, unless JAVA_HOME says otherwise.
        pb.environment().putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
        Path err;
        try {
            err = Files.createTempFile("ferrostate-cluster-", ".err");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pb.redirectError(err.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        try {
            Process p = pb.start();
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            System.err.print(stderr);
            if (workDir != null && Files.isDirectory(workDir.resolve("log"))) {
                Files.writeString(
                        workDir.resolve("log/harness.log"),
                        "$ " + String.join(" ", cmd) + "\n" + stderr + out,
                        StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            }
            if (!done) {
                p.destroyForcibly();
                throw new IllegalStateException(
                        "timed out after " + timeout + ": " + cmd + "\n" + stderr);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(
                        "exit "
                                + p.exitValue()
                                + ": "
                                + String.join(" ", cmd)
                                + "\n"
                                + stderr
                                + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            try {
                Files.deleteIfExists(err);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private static String lastLine(String out) {
        String[] lines = out.trim().split("\n");
        String last = lines[lines.length - 1].trim();
        if (last.isEmpty()) {
            throw new IllegalStateException("no output");
        }
        return last;
    }

    // --------------------------------------------------------------------------------------------

    /** Options of {@code cluster.sh start}. */
    public static final class Builder {
        private String flinkVersion = DEFAULT_FLINK_VERSION;
        private Path flinkHome;
        private Path workDir;
        private final List<Path> libJars = new ArrayList<>();
        private boolean ferrostateBackend;
        private int taskManagers = 2;
        private final List<String> confLines = new ArrayList<>();
        private final List<String> logLevels = new ArrayList<>();

        private Builder() {}

        /**
         * Flink release to assemble with flink-dist.sh (default {@link #DEFAULT_FLINK_VERSION}).
         */
        public Builder flinkVersion(String version) {
            this.flinkVersion = version;
            return this;
        }

        /** An existing FLINK_HOME instead of flink-dist.sh's. */
        public Builder flinkHome(Path home) {
            this.flinkHome = home;
            return this;
        }

        /** Where conf/, lib/, log/, checkpoints/ ... of this cluster go (required). */
        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** A jar for the cluster's lib/ (Flink's parent classloader), e.g. ferrostate's. */
        public Builder libJar(Path jar) {
            this.libJars.add(jar);
            return this;
        }

        /**
         * Writes {@code state.backend: io.ferrostate.flink.FerroStateBackendFactory} ({@code
         * state.backend.type} on Flink 2).
         */
        public Builder ferrostateBackend(boolean on) {
            this.ferrostateBackend = on;
            return this;
        }

        public Builder taskManagers(int n) {
            this.taskManagers = n;
            return this;
        }

        /** An extra configuration entry; later entries override the defaults. */
        public Builder conf(String key, String value) {
            this.confLines.add(key + ": " + value);
            return this;
        }

        /** A logger level in the cluster's log4j configuration, e.g. a class at DEBUG. */
        public Builder logLevel(String logger, String level) {
            this.logLevels.add(logger + "=" + level);
            return this;
        }

        public FlinkCluster start() {
            if (workDir == null) {
                throw new IllegalStateException("workDir is required");
            }
            try {
                Files.createDirectories(workDir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path wd = workDir.toAbsolutePath().normalize();
            Path home = flinkHome != null ? flinkHome : FlinkCluster.flinkHome(flinkVersion);
            List<String> cmd = new ArrayList<>();
            cmd.add(scriptsDir().resolve("cluster.sh").toString());
            cmd.add("start");
            for (Path j : libJars) {
                cmd.add("--ferrostate-jar");
                cmd.add(j.toAbsolutePath().toString());
            }
            if (ferrostateBackend) {
                cmd.add("--ferrostate");
            }
            for (String l : logLevels) {
                cmd.add("--log-level");
                cmd.add(l);
            }
            cmd.add("--taskmanagers");
            cmd.add(Integer.toString(taskManagers));
            cmd.add("--owner-pid");
            cmd.add(Long.toString(ProcessHandle.current().pid()));
            cmd.add(home.toString());
            cmd.add(wd.toString());
            cmd.addAll(confLines);
            String out = run(null, COMMAND_TIMEOUT, cmd.toArray(new String[0]));
            FlinkCluster c = new FlinkCluster(wd, home, URI.create(lastLine(out)));
            // Belt and braces next to cluster.sh's watchdog: stop on a normal JVM exit too.
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        try {
                                            c.stop();
                                        } catch (RuntimeException ignored) {
                                            // best effort
                                        }
                                    },
                                    "flink-cluster-stop"));
            return c;
        }
    }
}
