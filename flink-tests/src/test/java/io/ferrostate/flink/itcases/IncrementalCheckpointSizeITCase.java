package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichSourceFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.Collector;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 1, from Flink's own checkpoint statistics: after a first checkpoint of more than 100 MB of
 * state, changing 1% of the keys gives a checkpoint that uploads less than 10% of the first; and
 * once later checkpoints subsume the earlier ones, the files that no retained checkpoint references
 * are gone from the checkpoint directory.
 *
 * <p>Every checkpoint is triggered by the test. Before the first one the task compacts the store
 * fully: RocksDB's background compactions, which rewrite files whenever level 0 fills, would
 * otherwise land at a random point between two checkpoints (every incremental RocksDB checkpoint
 * uploads what a compaction rewrote). With level 0 empty, the 1% change adds one file.
 */
class IncrementalCheckpointSizeITCase {
    private static final int KEYS = 105_000;
    private static final int VALUE_BYTES = 1024;
    private static final long MB = 1L << 20;

    private static final long COMPACT = -2;

    static final LinkedBlockingQueue<long[]> COMMANDS = new LinkedBlockingQueue<>();
    static final AtomicLong PROCESSED = new AtomicLong();
    static final AtomicLong COMPACTIONS = new AtomicLong();

    @TempDir Path tmp;

    @Test
    void onePercentChangedUploadsUnderTenPercentAndSubsumedFilesAreDeleted() throws Exception {
        Path checkpoints = tmp.resolve("checkpoints");
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("256m"));
        conf.setString("state.checkpoints.num-retained", "1");
        try (TestCluster cluster = new TestCluster(conf, 1)) {
            Configuration jobConf = TestCluster.manualCheckpoints(checkpoints.toFile());
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
            env.setParallelism(1);
            env.setMaxParallelism(128);
            env.setStateBackend(new FerroStateBackend(true));
            env.getCheckpointConfig()
                    .setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toUri()));
            env.addSource(new Source(), "commands", Types.LONG)
                    .keyBy(e -> e < 0 ? e : e % KEYS, Types.LONG)
                    .transform("values", Types.VOID, new CompactingOperator())
                    .addSink(new DiscardingSink<>());
            COMMANDS.clear();
            PROCESSED.set(0);
            COMPACTIONS.set(0);

            JobID job = cluster.submit(env, SavepointRestoreSettings.none());
            cluster.awaitRunning(job);

            // Every key gets a 1 KB random value, then the store is compacted.
            run(0, KEYS);
            compact();
            String first = cluster.checkpoint(job);
            // Read now: one checkpoint is retained, so the next one subsumes this one.
            Set<Path> firstFiles = new HashSet<>(TestCluster.allFiles(TestCluster.metadata(first)));

            // 1% of the keys get a new value.
            run(KEYS, KEYS + KEYS / 100);
            String second = cluster.checkpoint(job);
            Set<Path> secondFiles =
                    new HashSet<>(TestCluster.allFiles(TestCluster.metadata(second)));

            AbstractCheckpointStats s1 = stats(cluster, job, first);
            AbstractCheckpointStats s2 = stats(cluster, job, second);
            System.out.printf(
                    "first checkpoint: state %d MB, uploaded %d MB; after 1%% changed: state %d MB, uploaded %d KB%n",
                    s1.getStateSize() / MB,
                    s1.getCheckpointedSize() / MB,
                    s2.getStateSize() / MB,
                    s2.getCheckpointedSize() / 1024);
            assertThat(s1.getCheckpointedSize())
                    .as("the first checkpoint uploads all state")
                    .isGreaterThanOrEqualTo(100 * MB);
            assertThat(s2.getStateSize())
                    .as("the second checkpoint still holds all state")
                    .isGreaterThanOrEqualTo(100 * MB);
            assertThat(s2.getCheckpointedSize())
                    .as("1%% changed uploads under 10%% of the first checkpoint")
                    .isLessThan(s1.getCheckpointedSize() / 10);

            // Change another 1% and rewrite every file: the files of the first two checkpoints
            // are no longer needed once the third subsumes them.
            run(2L * KEYS, 2L * KEYS + KEYS / 100);
            compact();
            String third = cluster.checkpoint(job);
            Set<Path> referenced = new HashSet<>(TestCluster.allFiles(TestCluster.metadata(third)));
            Set<Path> obsolete = new HashSet<>(firstFiles);
            obsolete.addAll(secondFiles);
            obsolete.removeAll(referenced);
            assertThat(obsolete)
                    .as("files of earlier checkpoints the third no longer needs")
                    .isNotEmpty();

            Path jobDir = TestCluster.toPath(first).getParent();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                Set<Path> left =
                        obsolete.stream().filter(Files::exists).collect(Collectors.toSet());
                Set<Path> shared = new HashSet<>(TestCluster.filesUnder(jobDir.resolve("shared")));
                shared.removeAll(referenced);
                boolean oldDirsGone =
                        !Files.exists(TestCluster.toPath(first))
                                && !Files.exists(TestCluster.toPath(second));
                if (left.isEmpty() && shared.isEmpty() && oldDirsGone) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    assertThat(left).as("files of subsumed checkpoints still there").isEmpty();
                    assertThat(shared)
                            .as("shared files no retained checkpoint references")
                            .isEmpty();
                    assertThat(oldDirsGone)
                            .as("directories of subsumed checkpoints are gone")
                            .isTrue();
                }
                Thread.sleep(50);
            }
            assertThat(referenced).allMatch(Files::exists);
            cluster.cancel(job);
        }
    }

    private static void run(long from, long to) throws InterruptedException {
        long target = PROCESSED.get() + (to - from);
        COMMANDS.add(new long[] {from, to});
        await(PROCESSED, target);
    }

    private static void compact() throws InterruptedException {
        long target = COMPACTIONS.get() + 1;
        COMMANDS.add(new long[] {COMPACT});
        await(COMPACTIONS, target);
    }

    private static void await(AtomicLong counter, long target) throws InterruptedException {
        long deadline = System.nanoTime() + TestCluster.TIMEOUT.toNanos();
        while (counter.get() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("counter at " + counter.get() + ", expected " + target);
            }
            Thread.sleep(5);
        }
    }

    private static AbstractCheckpointStats stats(TestCluster cluster, JobID job, String pointer)
            throws Exception {
        String dir = TestCluster.toPath(pointer).getFileName().toString();
        long id = Long.parseLong(dir.substring(dir.indexOf('-') + 1));
        long deadline = System.nanoTime() + TestCluster.TIMEOUT.toNanos();
        while (true) {
            List<AbstractCheckpointStats> history =
                    cluster.miniCluster
                            .getExecutionGraph(job)
                            .get()
                            .getCheckpointStatsSnapshot()
                            .getHistory()
                            .getCheckpoints();
            for (AbstractCheckpointStats s : history) {
                if (s.getCheckpointId() == id && s.getStatus() == CheckpointStatsStatus.COMPLETED) {
                    return s;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no statistics for checkpoint " + id);
            }
            Thread.sleep(20);
        }
    }

    /** A value of {@code VALUE_BYTES} random bytes, determined by key and version. */
    static byte[] value(long key, long version) {
        byte[] b = new byte[VALUE_BYTES];
        long x = key * 0x9E3779B97F4A7C15L + version * 0xBF58476D1CE4E5B9L + 1;
        for (int i = 0; i < VALUE_BYTES; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            for (int j = 0; j < 8; j++) {
                b[i + j] = (byte) (x >>> (8 * j));
            }
        }
        return b;
    }

    /** Emits events {@code [from, to)} or a compaction request. */
    static final class Source extends RichSourceFunction<Long> {
        private volatile boolean running = true;

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            while (running) {
                long[] c = COMMANDS.poll(20, TimeUnit.MILLISECONDS);
                if (c == null) {
                    continue;
                }
                synchronized (ctx.getCheckpointLock()) {
                    if (c[0] == COMPACT) {
                        ctx.collect(COMPACT);
                    } else {
                        for (long i = c[0]; i < c[1]; i++) {
                            ctx.collect(i);
                        }
                    }
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    static ValueStateDescriptor<byte[]> descriptor() {
        return new ValueStateDescriptor<>("blob", BytePrimitiveArraySerializer.INSTANCE);
    }

    /** Event {@code e}: key {@code e % KEYS} gets value version {@code e / KEYS}. */
    static final class Writer extends KeyedProcessFunction<Long, Long, Void> {
        private transient ValueState<byte[]> blob;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            blob = getRuntimeContext().getState(descriptor());
        }

        @Override
        public void processElement(Long e, Context ctx, Collector<Void> out) throws Exception {
            blob.update(value(e % KEYS, e / KEYS));
            PROCESSED.incrementAndGet();
        }
    }

    /** Runs {@link Writer}; on a compaction request, compacts the store fully. */
    static final class CompactingOperator extends KeyedProcessOperator<Long, Long, Void> {
        CompactingOperator() {
            super(new Writer());
        }

        @Override
        public void processElement(StreamRecord<Long> element) throws Exception {
            if (element.getValue() == COMPACT) {
                ((FerroKeyedStateBackend<?>) getKeyedStateBackend()).compactState(descriptor());
                COMPACTIONS.incrementAndGet();
                return;
            }
            super.processElement(element);
        }
    }
}
