package io.ferrostate.bench;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;

import java.io.IOException;

import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEY_COUNT;

/**
 * flink-benchmarks' {@code ValueStateBenchmark}: 500,000 keys with a value each, then updates of
 * existing keys, inserts of new keys and reads.
 */
public class ValueStateBenchmark extends StateBenchmarkBase {
    static final String STATE_NAME = "kvState";

    private ValueState<Object> valueState;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        createKeyedStateBackend();
        ValueStateDescriptor<Object> desc =
                new ValueStateDescriptor<>(STATE_NAME, reg.valueSerializer());
        valueState =
                keyedStateBackend.getPartitionedState(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, desc);
        for (int i = 0; i < SETUP_KEY_COUNT; ++i) {
            keyedStateBackend.setCurrentKey((long) i);
            valueState.update(setupValue());
        }
        compactOutOfCore(desc);
        keyIndex.set(0);
        setupDone(SETUP_KEY_COUNT * reg.valueStateBytesPerKey());
    }

    @Benchmark
    public void valueUpdate(KeyValue keyValue) throws IOException {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        valueState.update(keyValue.value);
    }

    @Benchmark
    public void valueAdd(KeyValue keyValue) throws IOException {
        keyedStateBackend.setCurrentKey(keyValue.newKey);
        valueState.update(keyValue.value);
    }

    @Benchmark
    public Object valueGet(KeyValue keyValue) throws IOException {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        return valueState.value();
    }
}
