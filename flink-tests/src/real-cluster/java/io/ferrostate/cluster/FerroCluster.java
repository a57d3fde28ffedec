package io.ferrostate.cluster;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The real Flink cluster the ferrostate real-cluster tests share ({@link
 * FlinkCluster#DEFAULT_FLINK_VERSION}: 1.20.5 in flink-tests, 2.3.0 in flink-tests-2.3, each with
 * the ferrostate jar of its line), as a user sets it up: ferrostate's jar in {@code lib/}, and in
 * the configuration file {@code state.backend: io.ferrostate.flink.FerroStateBackendFactory} (on
 * 1.20 the older key, as users write it; {@code state.backend.type} on Flink 2), a checkpoint
 * directory and incremental checkpoints on; plus what the drills need: a fixed-delay restart
 * strategy, the fault-injection file option, and DEBUG logging of the asynchronous checkpoint parts
 * (to kill a TaskManager while its upload runs).
 *
 * <p>Started once per test JVM by the first test class that asks for it (a parameter of a
 * {@code @BeforeAll} method of a class extended with {@link Resolver}), stopped when JUnit closes
 * its root context: starting a cluster costs ~15 s, so the jobs, faults and savepoint tests share
 * it. Each test leaves it with two live TaskManagers.
 */
public final class FerroCluster {

    /** TaskManagers (2 slots each) the tests expect alive. */
    public static final int TASK_MANAGERS = 2;

    public static final String FAIL_WRITES_OPTION =
            "state.backend.ferrostate.debug.fail-writes-file";

    private final FlinkCluster cluster;
    private final Path work;
    private final Path examplesJar;
    private final Path failWritesFile;

    private FerroCluster(FlinkCluster cluster, Path work, Path examplesJar, Path failWritesFile) {
        this.cluster = cluster;
        this.work = work;
        this.examplesJar = examplesJar;
        this.failWritesFile = failWritesFile;
    }

    public FlinkCluster cluster() {
        return cluster;
    }

    /** A fresh directory under this run's work dir. */
    public Path scratch(String name) {
        try {
            return Files.createDirectories(
                    work.resolve(name + "-" + System.nanoTime() % 1_000_000_000L));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The examples' job jar, copied into the work dir (a rebuild cannot change it mid-run). */
    public Path examplesJar() {
        return examplesJar;
    }

    /** While this file exists, ferrostate's writes fail (the fault-injection option). */
    public Path failWritesFile() {
        return failWritesFile;
    }

    /**
     * A new working directory for one cluster, {@code target/real-cluster/<prefix>-<time>} of the
     * module that runs the tests: its Flink configuration, logs, checkpoints and job jars stay
     * there for a look after the run.
     */
    public static Path workDir(String prefix) throws IOException {
        Path base = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")));
        String time =
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        Path work = base.resolve("target/real-cluster").resolve(prefix + "-" + time);
        Files.createDirectories(work);
        return work.toAbsolutePath();
    }

    // --------------------------------------------------------------------------------------------

    private static FerroCluster start() throws IOException {
        Path work = FerroCluster.workDir("ferrostate");
        long t0 = System.nanoTime();
        Path flinkHome = FlinkCluster.flinkHome(FlinkCluster.DEFAULT_FLINK_VERSION);
        Path examples =
                Files.copy(
                        FlinkCluster.examplesJar(work),
                        work.resolve("ferrostate-examples.jar"),
                        StandardCopyOption.REPLACE_EXISTING);
        Path failWrites = work.resolve("FAIL-WRITES");
        FlinkCluster c =
                FlinkCluster.builder()
                        .flinkHome(flinkHome)
                        .workDir(work.resolve("cluster"))
                        .libJar(FlinkCluster.ferrostateJar(work))
                        .ferrostateBackend(true)
                        .taskManagers(TASK_MANAGERS)
                        .conf("restart-strategy.type", "fixed-delay")
                        .conf("restart-strategy.fixed-delay.attempts", "100")
                        .conf("restart-strategy.fixed-delay.delay", "1 s")
                        .conf(FAIL_WRITES_OPTION, failWrites.toString())
                        // REST views of jobs (states, checkpoints) at most 200 ms old.
                        .conf("web.refresh-interval", "200")
                        // Task metrics in REST (records in/out) at most 500 ms old.
                        .conf("metrics.fetcher.update-interval", "500")
                        .logLevel(
                                "org.apache.flink.streaming.runtime.tasks.AsyncCheckpointRunnable",
                                "DEBUG")
                        .start();
        System.out.printf(
                "[timing] shared ferrostate cluster up in %d ms (%s)%n",
                (System.nanoTime() - t0) / 1_000_000, work);
        return new FerroCluster(c, work, examples, failWrites);
    }

    /** The shared cluster while it runs (null before the first use and after a stop). */
    private static Holder running;

    /**
     * Stops the shared cluster now if it runs, e.g. before a test class starts a cluster of its
     * own: one cluster at a time. A later {@link Resolver} parameter starts a new one.
     */
    public static synchronized void stopShared() {
        if (running != null) {
            running.close();
        }
    }

    /** Stops the cluster when JUnit closes the root context (or {@link #stopShared()}). */
    private static final class Holder implements ExtensionContext.Store.CloseableResource {
        final FerroCluster value;
        private boolean closed;

        Holder(FerroCluster value) {
            this.value = value;
        }

        @Override
        public void close() {
            synchronized (FerroCluster.class) {
                if (closed) {
                    return;
                }
                closed = true;
                if (running == this) {
                    running = null;
                }
            }
            long t0 = System.nanoTime();
            value.cluster.stop();
            System.out.printf(
                    "[timing] shared ferrostate cluster stopped in %d ms; JVMs left: %s; thread dumps of"
                            + " JVMs that ignored SIGTERM: %s%n",
                    (System.nanoTime() - t0) / 1_000_000,
                    value.cluster.livePids(),
                    value.cluster.stragglerThreadDumps());
        }
    }

    /**
     * Resolves {@code FerroCluster} parameters: {@code @ExtendWith(FerroCluster.Resolver.class)}.
     */
    public static final class Resolver implements ParameterResolver {
        @Override
        public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
            return p.getParameter().getType() == FerroCluster.class;
        }

        @Override
        public Object resolveParameter(ParameterContext p, ExtensionContext c) {
            Holder h;
            synchronized (FerroCluster.class) {
                if (running == null) {
                    try {
                        running = new Holder(start());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    // Closed with the root context at the latest, also when a test failed.
                    c.getRoot()
                            .getStore(ExtensionContext.Namespace.create(FerroCluster.class))
                            .put("cluster-" + System.identityHashCode(running), running);
                }
                h = running;
            }
            h.value.cluster.ensureTaskManagers(TASK_MANAGERS);
            return h.value;
        }
    }
}
