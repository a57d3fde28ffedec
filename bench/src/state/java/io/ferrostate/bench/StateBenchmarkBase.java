package io.ferrostate.bench;

import org.apache.flink.runtime.state.KeyedStateBackend;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.ferrostate.bench.StateBenchmarkData.MAP_KEYS;
import static io.ferrostate.bench.StateBenchmarkData.MAP_KEY_COUNT;
import static io.ferrostate.bench.StateBenchmarkData.MAP_VALUES;
import static io.ferrostate.bench.StateBenchmarkData.NEW_KEYS;
import static io.ferrostate.bench.StateBenchmarkData.NEW_KEY_COUNT;
import static io.ferrostate.bench.StateBenchmarkData.RANDOM_VALUES;
import static io.ferrostate.bench.StateBenchmarkData.RANDOM_VALUE_COUNT;
import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEYS;
import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEY_COUNT;

/**
 * Base of the state micro-benchmarks, shaped like flink-benchmarks' {@code StateBenchmarkBase}:
 * throughput in ops/ms, one keyed backend per trial, and a per-invocation {@link KeyValue} that
 * walks the pre-generated keys and values. The backend is a JMH parameter, so HashMap, RocksDB and
 * ferrostate run in one JMH run; the memory regime is another.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public abstract class StateBenchmarkBase {
    static AtomicInteger keyIndex = new AtomicInteger();

    /** Large values of the out-of-core regime (null in-memory: Flink's boxed shapes). */
    static byte[][] valuePool;

    static byte[][] mapValuePool;

    @Param({"HEAP", "ROCKSDB", "FERROSTATE"})
    public String backend;

    @Param({"in-memory", "out-of-core"})
    public String regime;

    final ThreadLocalRandom random = ThreadLocalRandom.current();

    protected Regime reg;
    protected BenchBackends.Built<Long> built;
    protected KeyedStateBackend<Long> keyedStateBackend;
    private MemoryProbe probe;

    /** Builds the backend of this trial (call first in the subclass's trial setup). */
    protected KeyedStateBackend<Long> createKeyedStateBackend() throws Exception {
        reg = Regime.of(regime);
        valuePool = Regime.pool(reg.valueBytes(), 11);
        mapValuePool = Regime.pool(reg.mapValueBytes(), 12);
        BenchBackends.BackendType type = BenchBackends.BackendType.valueOf(backend);
        probe = new MemoryProbe(backend, reg.id, reg.budgetBytes());
        built = BenchBackends.create(type, reg);
        keyedStateBackend = built.backend;
        return keyedStateBackend;
    }

    /** The data is loaded ({@code logicalBytes}: its size as the state serializes it). */
    protected void setupDone(long logicalBytes) {
        probe.setupDone(logicalBytes, BenchBackends.diskBytes(built.dir));
    }

    /**
     * A value for the setup data: Flink's random Long, or a copy of one of the large random values
     * (a copy, so the heap backend, which keeps the objects it is given, holds as many bytes as the
     * others).
     */
    Object setupValue() {
        return valuePool != null
                ? valuePool[random.nextInt(valuePool.length)].clone()
                : (Object) random.nextLong();
    }

    Object setupMapValue() {
        return mapValuePool != null
                ? mapValuePool[random.nextInt(mapValuePool.length)].clone()
                : (Object) random.nextDouble();
    }

    /**
     * Out-of-core, optionally ({@code -Dferrostate.bench.out-of-core.compact=true}) a full
     * compaction of the loaded state in RocksDB and in ferrostate before measuring, as Flink's list
     * benchmark does for RocksDB. Off by default: it costs 2-6 s per trial, and with Flink's
     * default RocksDB options the out-of-core reads are bound by index-block misses in the small
     * block cache, with or without it (smoke runs: valueGet 2.4-6 ops/ms either way).
     */
    void compactOutOfCore(org.apache.flink.api.common.state.StateDescriptor<?, ?> desc)
            throws Exception {
        if (reg == Regime.OUT_OF_CORE
                && Boolean.getBoolean("ferrostate.bench.out-of-core.compact")) {
            probe.mark("load_seconds");
            BenchBackends.compact(keyedStateBackend, desc);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) throws Exception {
        String method = params.getBenchmark();
        method = method.substring(method.lastIndexOf('.') + 1);
        try {
            if (probe != null) {
                probe.finish(method, built);
                probe.write();
            }
        } finally {
            if (built != null) {
                built.close();
                built = null;
            }
        }
    }

    private static int nextIndex() {
        int i = keyIndex.getAndIncrement();
        if (i == Integer.MAX_VALUE) {
            keyIndex.set(0);
        }
        return i;
    }

    /** The keys and values of one invocation, as flink-benchmarks' {@code KeyValue}. */
    @State(Scope.Thread)
    public static class KeyValue {
        long newKey;
        long setUpKey;
        long mapKey;
        Object mapValue;
        Object value;
        List<Object> listValue;

        @Setup(Level.Invocation)
        public void kvSetup() {
            int i = nextIndex();
            setUpKey = SETUP_KEYS.get(i % SETUP_KEY_COUNT);
            newKey = NEW_KEYS.get(i % NEW_KEY_COUNT);
            mapKey = MAP_KEYS.get(i % MAP_KEY_COUNT);
            byte[][] mp = mapValuePool;
            mapValue = mp != null ? mp[i % mp.length] : MAP_VALUES.get(i % MAP_KEY_COUNT);
            byte[][] vp = valuePool;
            value = vp != null ? vp[i % vp.length] : RANDOM_VALUES.get(i % RANDOM_VALUE_COUNT);
            listValue = Collections.singletonList(value);
        }

        @TearDown(Level.Invocation)
        public void kvTearDown() {
            listValue = null;
        }
    }
}
