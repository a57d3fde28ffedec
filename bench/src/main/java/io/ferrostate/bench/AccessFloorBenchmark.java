package io.ferrostate.bench;

import io.ferrostate.flink.FerroKeyBuilder;
import io.ferrostate.flink.nativ.DirectOutputView;

import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The floor under one ferrostate state access, the parts that do not depend on the data:
 *
 * <ul>
 *   <li>{@code harness}: what the suite's per-invocation {@code KeyValue} costs by itself (JMH's
 *       invocation-level setup and timestamps); every state benchmark pays it.
 *   <li>{@code keyPath}: the key group of a Long key and ferrostate's composite key {@code [key
 *       group][key][namespace]} built in the direct key buffer ({@code FerroKeyBuilder}, as {@code
 *       setCurrentKey} + a state access do).
 *   <li>{@code jniNoop}: an empty JNI call ({@code NativeHooks.noop()}).
 *   <li>{@code jniTouch}: a JNI call that reads the 10 key bytes from a shared direct buffer and
 *       writes 8 bytes back ({@code NativeHooks.touch}), what every access does at least.
 * </ul>
 *
 * Run in ns/op; the runner adds the serializer and store-lookup floors of the regime.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AccessFloorBenchmark {
    private static final int KEYS = 1 << 16;

    private final long[] keys = new long[KEYS];
    private int next;
    private FerroKeyBuilder<Long> keyBuilder;
    private ByteBuffer touchBuffer;
    private long touchHandle;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        for (int i = 0; i < KEYS; i++) {
            keys[i] = StateBenchmarkData.SETUP_KEYS.get(i);
        }
        keyBuilder =
                new FerroKeyBuilder<>(
                        LongSerializer.INSTANCE, 1, new DirectOutputView(256, v -> {}));
        if (Natives.REGISTER_TOUCH_BUFFER != null) {
            touchBuffer = ByteBuffer.allocateDirect(256);
            try {
                touchHandle = (long) Natives.REGISTER_TOUCH_BUFFER.invokeExact(touchBuffer);
            } catch (UnsatisfiedLinkError e) {
                touchHandle = 0;
            }
        }
        StateBenchmarkBase.valuePool = null;
        StateBenchmarkBase.mapValuePool = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Throwable {
        if (touchHandle != 0) {
            Natives.FREE_TOUCH_BUFFER.invokeExact(touchHandle);
            touchHandle = 0;
        }
    }

    private long nextKey() {
        int i = next;
        next = (i + 1) & (KEYS - 1);
        return keys[i];
    }

    @Benchmark
    public long harness(StateBenchmarkBase.KeyValue keyValue) {
        return keyValue.setUpKey;
    }

    @Benchmark
    public int keyPath() {
        long key = nextKey();
        int keyGroup =
                KeyGroupRangeAssignment.assignToKeyGroup(key, BenchBackends.NUMBER_OF_KEY_GROUPS);
        keyBuilder.setKeyAndKeyGroup(key, keyGroup);
        return keyBuilder.buildCompositeKeyNamespace(
                VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE);
    }

    @Benchmark
    public void jniNoop() throws Throwable {
        if (Natives.NOOP == null) {
            throw new IllegalStateException("NativeHooks.noop() is missing");
        }
        Natives.NOOP.invokeExact();
    }

    @Benchmark
    public int jniTouch() throws Throwable {
        if (touchHandle == 0) {
            throw new IllegalStateException("NativeHooks.touch is missing");
        }
        return (int) Natives.TOUCH.invokeExact(touchHandle, 10);
    }
}
