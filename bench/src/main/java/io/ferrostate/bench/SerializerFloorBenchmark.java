package io.ferrostate.bench;

import io.ferrostate.flink.nativ.DirectInputView;
import io.ferrostate.flink.nativ.DirectOutputView;

import org.apache.flink.api.common.typeutils.TypeSerializer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The Flink serializer part of the floor: a value (Long in-memory, 1,280 bytes out-of-core) and a
 * map value (Double / 128 bytes) written into and read from a direct buffer with ferrostate's own
 * views, as {@code FerroValueState} / {@code FerroMapState} do around each native call.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SerializerFloorBenchmark {
    private static final int VALUES = 1024;

    @Param({"in-memory", "out-of-core"})
    public String regime;

    private final Object[] values = new Object[VALUES];
    private final Object[] mapValues = new Object[VALUES];
    private int next;
    private TypeSerializer<Object> valueSerializer;
    private TypeSerializer<Object> mapValueSerializer;
    private DirectOutputView out;
    private DirectOutputView valueBytes;
    private DirectOutputView mapValueBytes;
    private final DirectInputView in = new DirectInputView();

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Regime reg = Regime.of(regime);
        valueSerializer = reg.valueSerializer();
        mapValueSerializer = reg.mapValueSerializer();
        byte[][] pool = Regime.pool(reg.valueBytes(), 11);
        byte[][] mapPool = Regime.pool(reg.mapValueBytes(), 12);
        for (int i = 0; i < VALUES; i++) {
            values[i] = pool != null ? pool[i] : StateBenchmarkData.RANDOM_VALUES.get(i);
            mapValues[i] =
                    mapPool != null
                            ? mapPool[i]
                            : StateBenchmarkData.MAP_VALUES.get(
                                    i % StateBenchmarkData.MAP_KEY_COUNT);
        }
        out = new DirectOutputView(4096, v -> {});
        valueBytes = new DirectOutputView(4096, v -> {});
        valueSerializer.serialize(values[0], valueBytes);
        mapValueBytes = new DirectOutputView(4096, v -> {});
        mapValueSerializer.serialize(mapValues[0], mapValueBytes);
    }

    private int nextIndex() {
        int i = next;
        next = (i + 1) & (VALUES - 1);
        return i;
    }

    @Benchmark
    public int valueSerialize() throws IOException {
        out.clear();
        valueSerializer.serialize(values[nextIndex()], out);
        return out.position();
    }

    @Benchmark
    public Object valueDeserialize() throws IOException {
        return valueSerializer.deserialize(in.reset(valueBytes.buffer(), 0, valueBytes.position()));
    }

    @Benchmark
    public int mapValueSerialize() throws IOException {
        out.clear();
        mapValueSerializer.serialize(mapValues[nextIndex()], out);
        return out.position();
    }

    @Benchmark
    public Object mapValueDeserialize() throws IOException {
        return mapValueSerializer.deserialize(
                in.reset(mapValueBytes.buffer(), 0, mapValueBytes.position()));
    }
}
