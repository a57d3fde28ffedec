package io.ferrostate.sql;

import io.ferrostate.nexmark.NexmarkQuery;
import io.ferrostate.nexmark.check.Check;
import io.ferrostate.nexmark.check.CheckFiles;
import io.ferrostate.nexmark.table.NexmarkTableFactory;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.util.FileUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One run of a Nexmark query on a MiniCluster (whichever the test registered), into a check sink
 * that keeps the result rows ({@code lines} mode), on one backend.
 */
final class NexmarkRun {
    static final int PARALLELISM = 2;

    private final NexmarkQuery query;
    private final Map<String, String> source;
    private final Path dir;
    private final Configuration conf = new Configuration();

    /**
     * @param eventRate events per second of event time: low enough that windows close many times
     * @param dir working directory: checkpoints and the check files under it
     */
    NexmarkRun(String query, long events, long eventRate, Path dir) {
        this.query = NexmarkQuery.load(query);
        this.source = NexmarkQuery.events(events);
        this.source.put(NexmarkTableFactory.EVENT_RATE.key(), Long.toString(eventRate));
        this.dir = dir;
        conf.set(
                CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                dir.resolve("checkpoints").toUri().toString());
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(200));
    }

    /** Limits each source reader to this many events per second of wall-clock time. */
    NexmarkRun throttle(long eventsPerSecond) {
        source.put(NexmarkTableFactory.THROTTLE.key(), Long.toString(eventsPerSecond));
        return this;
    }

    /** Resumes from this savepoint or retained checkpoint. */
    NexmarkRun restoreFrom(String path) {
        conf.set(StateRecoveryOptions.SAVEPOINT_PATH, path);
        return this;
    }

    Path output() {
        return dir.resolve("result");
    }

    /** Submits the query on {@code backend}; the job runs in the background. */
    JobClient start(SqlBackend backend) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        backend.configure(new Configuration(conf)));
        env.setParallelism(PARALLELISM);
        StreamTableEnvironment tEnv = StreamTableEnvironment.create(env);
        tEnv.getConfig().addConfiguration(NexmarkQuery.tableOptions());
        TableResult result = query.submit(tEnv, source, output().toUri().toString(), "lines");
        return result.getJobClient().orElseThrow(() -> new IllegalStateException("no job client"));
    }

    /** Runs the query on {@code backend} to the end; its check. */
    Check run(SqlBackend backend) throws Exception {
        start(backend).getJobExecutionResult().get();
        return result();
    }

    /** The check of the finished job. */
    Check result() throws IOException {
        return CheckFiles.read(output());
    }

    /**
     * A test's working directory. Not JUnit's {@code @TempDir}: the JobManager discards subsumed
     * checkpoints in the background, also after a job ended, and JUnit's clean-up would race it;
     * {@link #deleteEventually} retries instead.
     */
    static Path newDirectory() throws IOException {
        return Files.createTempDirectory("ferrostate-sql-");
    }

    /** Deletes {@code dir}, retrying while Flink still discards checkpoint files in it. */
    static void deleteEventually(Path dir) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                FileUtils.deleteDirectory(dir.toFile());
                return;
            } catch (IOException e) {
                if (attempt >= 100) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /** Fails, naming a few of the rows that differ, unless the two results are equal. */
    static void assertSameResult(String what, Check expected, Check actual) {
        if (expected.lines().equals(actual.lines())) {
            return;
        }
        Map<String, Long> diff = new TreeMap<>(expected.lines());
        actual.lines()
                .forEach((row, n) -> diff.merge(row, -n, (a, b) -> a + b == 0 ? null : a + b));
        List<String> missing = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        long missingRows = 0;
        long extraRows = 0;
        for (Map.Entry<String, Long> e : diff.entrySet()) {
            if (e.getValue() > 0) {
                missingRows += e.getValue();
                if (missing.size() < 5) {
                    missing.add(e.getKey() + " x" + e.getValue());
                }
            } else {
                extraRows -= e.getValue();
                if (extra.size() < 5) {
                    extra.add(e.getKey() + " x" + -e.getValue());
                }
            }
        }
        throw new AssertionError(
                String.format(
                        "%s: %d result rows expected (HashMap), %d produced; %d missing (first: %s),"
                                + " %d extra (first: %s)",
                        what,
                        expected.rows(),
                        actual.rows(),
                        missingRows,
                        missing,
                        extraRows,
                        extra));
    }
}
