package io.ferrostate.bench;

import io.ferrostate.flink.FerroKeyBuilder;
import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEYS;
import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEY_COUNT;

/**
 * The store part of the floor: a lookup in ferrostate's Rust store from Rust alone, on the very
 * data {@link ValueStateBenchmark} loads (500,000 keys, the regime's values and budget), in the
 * order {@code valueGet} reads them. One JNI call ({@code NativeHooks.benchGetLoop}) looks up
 * {@value #BATCH} composite keys laid back to back in a direct buffer, so JNI's share per lookup is
 * negligible.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StoreLookupFloorBenchmark {
    static final int BATCH = 1024;
    private static final int SLICES = 256;

    @Param({"in-memory", "out-of-core"})
    public String regime;

    private BenchBackends.Built<Long> built;
    private NativeStore store;
    private int stateId;
    private int keyLength;
    private final ByteBuffer[] slices = new ByteBuffer[SLICES];
    private int next;
    private MemoryProbe probe;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        if (Natives.BENCH_GET_LOOP == null) {
            throw new IllegalStateException(
                    "NativeHooks.benchGetLoop(NativeStore, int, ByteBuffer, int, int) is missing: see bench/README.md");
        }
        Regime reg = Regime.of(regime);
        probe = new MemoryProbe("FERROSTATE", reg.id, reg.budgetBytes());
        built = BenchBackends.create(BenchBackends.BackendType.FERROSTATE, reg);
        FerroKeyedStateBackend<Long> ferro = built.ferro();
        ValueStateDescriptor<Object> desc =
                new ValueStateDescriptor<>(ValueStateBenchmark.STATE_NAME, reg.valueSerializer());
        ValueState<Object> state =
                ferro.getPartitionedState(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, desc);
        byte[][] pool = Regime.pool(reg.valueBytes(), 11);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < SETUP_KEY_COUNT; ++i) {
            ferro.setCurrentKey((long) i);
            state.update(
                    pool != null
                            ? pool[random.nextInt(pool.length)].clone()
                            : (Object) random.nextLong());
        }
        if (reg == Regime.OUT_OF_CORE
                && Boolean.getBoolean("ferrostate.bench.out-of-core.compact")) {
            ferro.compactState(desc);
        }
        probe.setupDone(
                SETUP_KEY_COUNT * reg.valueStateBytesPerKey(), BenchBackends.diskBytes(built.dir));
        store = ferro.store();
        stateId = ferro.getKvStateInformation().get(ValueStateBenchmark.STATE_NAME).stateId;

        // The composite keys valueGet builds, in valueGet's order.
        FerroKeyBuilder<Long> kb =
                new FerroKeyBuilder<>(
                        LongSerializer.INSTANCE,
                        ferro.getKeyGroupPrefixBytes(),
                        new DirectOutputView(256, v -> {}));
        kb.setKeyAndKeyGroup(0L, 0);
        keyLength =
                kb.buildCompositeKeyNamespace(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE);
        ByteBuffer all = ByteBuffer.allocateDirect(SLICES * BATCH * keyLength);
        for (int i = 0; i < SLICES * BATCH; i++) {
            long key = SETUP_KEYS.get(i % SETUP_KEY_COUNT);
            kb.setKeyAndKeyGroup(
                    key,
                    KeyGroupRangeAssignment.assignToKeyGroup(
                            key, BenchBackends.NUMBER_OF_KEY_GROUPS));
            int len =
                    kb.buildCompositeKeyNamespace(
                            VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE);
            byte[] bytes = kb.copy(len);
            all.position(i * keyLength);
            all.put(bytes);
        }
        for (int s = 0; s < SLICES; s++) {
            all.limit((s + 1) * BATCH * keyLength).position(s * BATCH * keyLength);
            slices[s] = all.slice();
            all.clear();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) throws Exception {
        try {
            if (probe != null) {
                probe.finish("rustLookup", built);
                probe.write();
            }
        } finally {
            if (built != null) {
                built.close();
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long rustLookup() throws Throwable {
        ByteBuffer keys = slices[next];
        next = (next + 1) & (SLICES - 1);
        return (long) Natives.BENCH_GET_LOOP.invokeExact(store, stateId, keys, keyLength, BATCH);
    }
}
