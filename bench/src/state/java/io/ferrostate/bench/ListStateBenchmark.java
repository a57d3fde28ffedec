package io.ferrostate.bench;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEY_COUNT;

/**
 * flink-benchmarks' {@code ListStateBenchmark}: each of 500,000 keys holds a list of one element;
 * replace a list, create a new one, append to one, read one (and iterate it).
 *
 * <p>As in Flink, the lists are loaded before each iteration and cleared after it (then a full
 * compaction for the native backends, a GC for the heap one, and a pause), so appends never pile
 * up. That reload costs seconds per iteration; {@code -Dferrostate.bench.list.reset=trial} (the
 * short profile, and always in the out-of-core regime, where one load writes ~640 MB) loads once
 * per trial instead, and {@code -Dferrostate.bench.list.settle-ms} shortens Flink's 1 s pause.
 */
public class ListStateBenchmark extends StateBenchmarkBase {
    static final String STATE_NAME = "listState";

    private ListStateDescriptor<Object> stateDesc;
    private ListState<Object> listState;
    private boolean resetPerIteration;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        createKeyedStateBackend();
        stateDesc = new ListStateDescriptor<>(STATE_NAME, reg.valueSerializer());
        listState =
                keyedStateBackend.getPartitionedState(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, stateDesc);
        resetPerIteration =
                reg == Regime.IN_MEMORY
                        && "iteration"
                                .equals(
                                        System.getProperty(
                                                "ferrostate.bench.list.reset", "iteration"));
        keyIndex.set(0);
        if (!resetPerIteration) {
            load();
        }
        setupDone(SETUP_KEY_COUNT * reg.valueStateBytesPerKey());
    }

    private void load() throws Exception {
        for (int i = 0; i < SETUP_KEY_COUNT; ++i) {
            keyedStateBackend.setCurrentKey((long) i);
            listState.add(setupValue());
        }
        // One compacted file set, so every read meets the same layout (Flink does this for
        // RocksDB).
        BenchBackends.compact(keyedStateBackend, stateDesc);
    }

    @Setup(Level.Iteration)
    public void setUpPerIteration() throws Exception {
        if (resetPerIteration) {
            load();
        }
    }

    @TearDown(Level.Iteration)
    public void tearDownPerIteration() throws Exception {
        if (!resetPerIteration) {
            return;
        }
        keyedStateBackend.applyToAllKeys(
                VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE,
                stateDesc,
                (k, state) -> {
                    keyedStateBackend.setCurrentKey(k);
                    state.clear();
                });
        if (built.type == BenchBackends.BackendType.HEAP) {
            System.gc();
        } else {
            BenchBackends.compact(keyedStateBackend, stateDesc);
        }
        Thread.sleep(Long.getLong("ferrostate.bench.list.settle-ms", 1000));
    }

    @Benchmark
    public void listUpdate(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        listState.update(keyValue.listValue);
    }

    @Benchmark
    public void listAdd(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.newKey);
        listState.update(keyValue.listValue);
    }

    @Benchmark
    public void listAppend(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        listState.add(keyValue.value);
    }

    @Benchmark
    public Iterable<Object> listGet(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        return listState.get();
    }

    @Benchmark
    public void listGetAndIterate(KeyValue keyValue, Blackhole bh) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        Iterable<Object> iterable = listState.get();
        for (Object value : iterable) {
            bh.consume(value);
        }
    }
}
