package io.ferrostate.bench;

import io.ferrostate.examples.SessionTrackerJob;
import io.ferrostate.examples.SessionTrackerParams;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.FileUtils;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

/**
 * The example job, {@link SessionTrackerJob} (session ValueState with TTL, event ListState,
 * feature-count MapState per user), on a MiniCluster whose configuration picks the backend by
 * {@code state.backend.type} only, as a user would: {@value #EVENTS} generated events per
 * invocation, as fast as the source can go, parallelism 1, a checkpoint every second, summaries to
 * a discarding sink. Score: events per ms (the report shows events/s).
 *
 * <p>The MiniCluster lives for the trial; each invocation is a whole job (its start and end
 * included, as a user would see them). Managed memory of the TaskManager: the in-memory regime's
 * budget (512 MiB), so RocksDB and ferrostate get the same.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class JobThroughputBenchmark {
    static final int EVENTS = 200_000;

    @Param({"HEAP", "ROCKSDB", "FERROSTATE"})
    public String backend;

    private MiniCluster cluster;
    private StreamExecutionEnvironment env;
    private File checkpoints;
    private SessionTrackerParams params;
    private org.apache.flink.api.common.JobID lastJob;

    static String backendType(String backend) {
        switch (backend) {
            case "HEAP":
                return "hashmap";
            case "ROCKSDB":
                return "rocksdb";
            case "FERROSTATE":
                return "io.ferrostate.flink.FerroStateBackendFactory";
            default:
                throw new IllegalArgumentException(backend);
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        checkpoints =
                Files.createTempDirectory(BenchBackends.workRoot().toPath(), "bench-job-").toFile();
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", backendType(backend));
        conf.setString("execution.checkpointing.dir", checkpoints.toURI().toString());
        conf.setString("taskmanager.memory.managed.size", Regime.IN_MEMORY.budgetBytes() + "b");
        conf.setString(
                "state.backend.rocksdb.localdir",
                new File(checkpoints, "rocksdb").getAbsolutePath());
        conf.setString(
                "state.backend.ferrostate.localdir",
                new File(checkpoints, "ferrostate").getAbsolutePath());
        conf.setString("rest.bind-port", "0");
        cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(conf)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(1)
                                .build());
        cluster.start();
        URI rest = cluster.getRestAddress().get();
        env =
                StreamExecutionEnvironment.createRemoteEnvironment(
                        rest.getHost(), rest.getPort(), conf);
        env.setParallelism(1);
        params = new SessionTrackerParams();
        params.events = EVENTS;
        params.users = Integer.getInteger("ferrostate.bench.job.users", params.users);
        params.rate = 0;
        params.checkpointIntervalMs = 1000;
        params.parallelism = 1;
        SessionTrackerJob.configure(env, params);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        try {
            // The backend the JobManager loaded from state.backend.type must be the one asked for.
            if (cluster != null && lastJob != null) {
                String name =
                        cluster.getArchivedExecutionGraph(lastJob)
                                .get()
                                .getStateBackendName()
                                .orElse("?");
                String want =
                        backend.equals("HEAP")
                                ? "hashmap"
                                : backend.equals("ROCKSDB") ? "rocksdb" : "ferro";
                if (!name.toLowerCase(java.util.Locale.ROOT).contains(want)) {
                    throw new IllegalStateException(
                            "the job ran on state backend "
                                    + name
                                    + ", not "
                                    + backendType(backend));
                }
            }
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            FileUtils.deleteDirectoryQuietly(checkpoints);
        }
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public void sessionTrackerJob() throws Exception {
        // execute() clears the pipeline, so each invocation builds it again (microseconds).
        SessionTrackerJob.summaries(env, params).sinkTo(new DiscardingSink<>()).name("discard");
        org.apache.flink.core.execution.JobClient job =
                env.executeAsync("ferrostate bench: session tracker");
        lastJob = job.getJobID();
        job.getJobExecutionResult().get();
    }
}
