package io.ferrostate.bench;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.binary.BinaryRowData;
import org.apache.flink.table.data.writer.BinaryRowWriter;
import org.apache.flink.table.runtime.typeutils.RowDataSerializer;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.VarCharType;

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

import java.util.concurrent.TimeUnit;

/**
 * Timers as Flink's SQL window operators use them: {@code RowData} keys, one event-time timer per
 * key and window (namespace: the window's end), registered when a window buffer is flushed into
 * state, then fired by the watermark, or deleted. Keys are copied before {@code setCurrentKey}
 * exactly when the planner's {@code RecordsWindowBuffer} copies them: when the backend says {@code
 * isSafeToReuseKVState() == false} (HashMap; ferrostate with heap timers). RocksDB keeps its timers
 * in RocksDB (Flink's default timer service for it), ferrostate in its store (its default). Each
 * operation is one timer.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SqlWindowTimerBenchmark {
    /** Keys with a timer in each window (one flush of a window buffer). */
    static final int KEYS_PER_WINDOW = 1_000;

    private static final long WINDOW_MS = 2_000;

    @Param({"HEAP", "ROCKSDB", "FERROSTATE"})
    public String backend;

    private BenchBackends.Built<RowData> built;
    private BenchTimers<RowData> timers;
    private BinaryRowData[] keys;
    private boolean copyKeys;
    private long windowEnd = WINDOW_MS;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        RowDataSerializer keySerializer =
                new RowDataSerializer(new BigIntType(), new VarCharType(32));
        built =
                BenchBackends.create(
                        BenchBackends.BackendType.valueOf(backend),
                        Regime.IN_MEMORY,
                        keySerializer);
        copyKeys = !built.backend.isSafeToReuseKVState();
        timers = new BenchTimers<>(built.backend, "window-timers", keySerializer);
        keys = new BinaryRowData[KEYS_PER_WINDOW];
        for (int i = 0; i < KEYS_PER_WINDOW; i++) {
            BinaryRowData row = new BinaryRowData(2);
            BinaryRowWriter w = new BinaryRowWriter(row);
            w.writeLong(0, 1_000L + i);
            w.writeString(1, StringData.fromString("channel-" + (i % 97)));
            w.complete();
            keys[i] = row;
        }
    }

    private void setKey(int i) {
        BinaryRowData key = keys[i];
        built.backend.setCurrentKey(copyKeys ? key.copy() : key);
    }

    /** One window: a timer for each key, then the watermark passes the window and fires them. */
    @Benchmark
    @OperationsPerInvocation(KEYS_PER_WINDOW)
    public long registerAndFire() throws Exception {
        for (int i = 0; i < KEYS_PER_WINDOW; i++) {
            setKey(i);
            timers.service.registerEventTimeTimer(windowEnd, windowEnd - 1);
        }
        long fired = timers.advanceWatermark(windowEnd);
        windowEnd += WINDOW_MS;
        return fired;
    }

    /** One window: a timer for each key, then each deleted again (state cleared before firing). */
    @Benchmark
    @OperationsPerInvocation(KEYS_PER_WINDOW)
    public void registerAndDelete() throws Exception {
        for (int i = 0; i < KEYS_PER_WINDOW; i++) {
            setKey(i);
            timers.service.registerEventTimeTimer(windowEnd, windowEnd - 1);
        }
        for (int i = 0; i < KEYS_PER_WINDOW; i++) {
            setKey(i);
            timers.service.deleteEventTimeTimer(windowEnd, windowEnd - 1);
        }
        windowEnd += WINDOW_MS;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (built != null) {
            built.close();
        }
    }
}
