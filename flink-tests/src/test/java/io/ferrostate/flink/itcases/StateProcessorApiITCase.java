package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.AggregatingState;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.SinkFunction;
import org.apache.flink.util.Collector;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 7: Flink's State Processor API reads a ferrostate savepoint (canonical and native) with
 * {@code SavepointReader.read(env, path, new FerroStateBackend())}, all five kinds, the TTL state
 * and the timers; and a savepoint bootstrapped with {@link SavepointWriter} on ferrostate restores
 * a streaming job on ferrostate, whose timers and state carry on exactly.
 */
class StateProcessorApiITCase {
    private static final int KEYS = 300;
    private static final long BEFORE = 1_500;
    private static final long AFTER = 3_000;

    static final Map<Long, String> READ = new ConcurrentHashMap<>();

    private static TestCluster cluster;
    private static File dir;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferro-spa").toFile();
        cluster = new TestCluster(new Configuration(), 2);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
        org.apache.flink.util.FileUtils.deleteDirectory(dir);
    }

    @BeforeEach
    void reset() {
        PhasedJob.reset();
        READ.clear();
    }

    private static StreamExecutionEnvironment streamingJob() {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        TestCluster.manualCheckpoints(new File(dir, "checkpoints")));
        env.setParallelism(2);
        env.setMaxParallelism(128);
        env.setStateBackend(new FerroStateBackend(true));
        PhasedJob.build(env, KEYS);
        return env;
    }

    @ParameterizedTest(name = "{0} savepoint")
    @EnumSource(SavepointFormatType.class)
    void readsEveryStateKindOfAFerrostateSavepoint(SavepointFormatType format) throws Exception {
        JobID job = cluster.submit(streamingJob(), SavepointRestoreSettings.none());
        cluster.awaitRunning(job);
        PhasedJob.emit(0, BEFORE);
        PhasedJob.awaitProcessed(BEFORE, TestCluster.TIMEOUT);
        String savepoint = cluster.savepoint(job, new File(dir, "savepoints"), format);
        cluster.cancel(job);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        SavepointReader.read(env, savepoint, new FerroStateBackend())
                .readKeyedState(OperatorIdentifier.forUid(PhasedJob.KEYED_UID), new Reader())
                .addSink(
                        new SinkFunction<String>() {
                            @Override
                            public void invoke(String value, Context context) {
                                READ.put(
                                        Long.parseLong(value.substring(0, value.indexOf(':'))),
                                        value);
                            }
                        });
        JobID read = cluster.submit(env, SavepointRestoreSettings.none());
        cluster.awaitSuccess(read);

        assertThat(READ).hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(READ.get(key))
                    .as("state of key %d read from the savepoint", key)
                    .isEqualTo(
                            PhasedJob.expected(key, BEFORE, KEYS)
                                    + ",timers=["
                                    + (Long.MAX_VALUE - 1)
                                    + "]");
        }
    }

    @Test
    void aSavepointWrittenWithSavepointWriterRestoresOnFerrostate() throws Exception {
        String path = new File(dir, "bootstrapped-" + System.nanoTime()).toURI().toString();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StateBootstrapTransformation<Long> transformation =
                OperatorTransformation.bootstrapWith(env.fromSequence(0, KEYS - 1))
                        .keyBy(k -> k, Types.LONG)
                        .transform(new Bootstrapper());
        SavepointWriter.newSavepoint(env, new FerroStateBackend(), 128)
                .withOperator(OperatorIdentifier.forUid(PhasedJob.KEYED_UID), transformation)
                .write(path);
        JobID write = cluster.submit(env, SavepointRestoreSettings.none());
        cluster.awaitSuccess(write);

        // The streaming job (its source and sink hold no state) goes on from the bootstrapped
        // state.
        JobID job =
                cluster.submit(
                        streamingJob(),
                        SavepointRestoreSettings.forPath(path, false, RestoreMode.NO_CLAIM));
        cluster.awaitRunning(job);
        PhasedJob.emit(BEFORE, AFTER);
        PhasedJob.finish();
        cluster.awaitSuccess(job);
        assertThat(PhasedJob.STATE_CLASSES).containsExactly("io.ferrostate.flink.FerroValueState");
        assertThat(PhasedJob.RESULTS).as("keys whose bootstrapped timer fired").hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(PhasedJob.RESULTS.get(key))
                    .as("state of key %d", key)
                    .isEqualTo(PhasedJob.expected(key, AFTER, KEYS));
        }
    }

    /** Reads the five kinds, the TTL state and the timers of a key. */
    static final class Reader extends KeyedStateReaderFunction<Long, String> {
        private transient ValueState<long[]> countAndSum;
        private transient ListState<Long> last;
        private transient MapState<Long, Long> buckets;
        private transient ReducingState<Long> reduced;
        private transient AggregatingState<Long, Long> average;
        private transient ValueState<Long> ttlCount;

        @Override
        public void open(Configuration parameters) {
            countAndSum = getRuntimeContext().getState(PhasedJob.countAndSumDescriptor());
            last = getRuntimeContext().getListState(PhasedJob.lastDescriptor());
            buckets = getRuntimeContext().getMapState(PhasedJob.bucketsDescriptor());
            reduced = getRuntimeContext().getReducingState(PhasedJob.reducedDescriptor());
            average = getRuntimeContext().getAggregatingState(PhasedJob.averageDescriptor());
            ttlCount = getRuntimeContext().getState(PhasedJob.ttlDescriptor());
        }

        @Override
        public void readKey(Long key, Context ctx, Collector<String> out) throws Exception {
            long[] cs = countAndSum.value();
            List<Long> l = new ArrayList<>();
            for (Long x : last.get()) {
                l.add(x);
            }
            Map<Long, Long> m = new TreeMap<>();
            for (Map.Entry<Long, Long> e : buckets.entries()) {
                m.put(e.getKey(), e.getValue());
            }
            Set<Long> timers = new TreeSet<>(ctx.registeredEventTimeTimers());
            out.collect(
                    AllStateKindsJob.format(key, cs[0], cs[1], l, m, reduced.get(), average.get())
                            + ",ttl="
                            + ttlCount.value()
                            + ",timers="
                            + timers);
        }
    }

    /** Writes, per key, the state the streaming job holds after events {@code [0, BEFORE)}. */
    static final class Bootstrapper extends KeyedStateBootstrapFunction<Long, Long> {
        private transient ValueState<long[]> countAndSum;
        private transient ListState<Long> last;
        private transient MapState<Long, Long> buckets;
        private transient ReducingState<Long> reduced;
        private transient AggregatingState<Long, Long> average;
        private transient ValueState<Long> ttlCount;

        @Override
        public void open(OpenContext openContext) {
            countAndSum = getRuntimeContext().getState(PhasedJob.countAndSumDescriptor());
            last = getRuntimeContext().getListState(PhasedJob.lastDescriptor());
            buckets = getRuntimeContext().getMapState(PhasedJob.bucketsDescriptor());
            reduced = getRuntimeContext().getReducingState(PhasedJob.reducedDescriptor());
            average = getRuntimeContext().getAggregatingState(PhasedJob.averageDescriptor());
            ttlCount = getRuntimeContext().getState(PhasedJob.ttlDescriptor());
        }

        @Override
        public void processElement(Long key, Context ctx) throws Exception {
            PhasedJob.Model m = PhasedJob.Model.of(key, BEFORE, KEYS);
            countAndSum.update(new long[] {m.count, m.sum});
            last.update(m.last);
            buckets.putAll(m.buckets);
            for (long i = key; i < BEFORE; i += KEYS) {
                reduced.add(i);
                average.add(i);
            }
            ttlCount.update(m.count);
            ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE - 1);
        }
    }
}
