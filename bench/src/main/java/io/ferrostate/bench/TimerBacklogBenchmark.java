package io.ferrostate.bench;

import org.apache.flink.api.common.typeutils.base.LongSerializer;

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
import java.util.function.LongConsumer;

/**
 * Timer work with a million timers pending, as a job with long windows or cleanup timers has:
 * {@link #BACKLOG_STEPS} steps of {@link #TIMERS_PER_STEP} event-time timers are registered before
 * measuring; each operation then registers a timer one backlog ahead and the watermark fires the
 * oldest step, so timers fire in event-time order out of the whole backlog. {@code
 * registerAndDelete} deletes the oldest step instead of firing it. Long keys over {@link #KEYS}
 * keys, the window end as namespace. Each operation is one timer registered and one fired (or
 * deleted); {@code registerExisting} registers a pending timer again.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TimerBacklogBenchmark {
    static final int TIMERS_PER_STEP = 1_000;
    static final int BACKLOG_STEPS = 1_000;
    static final int KEYS = 100_000;
    private static final long STEP_MS = 1_000;

    @Param({"HEAP", "ROCKSDB", "FERROSTATE"})
    public String backend;

    private BenchBackends.Built<Long> built;
    private BenchTimers<Long> timers;
    private final Long[] keys = new Long[KEYS];
    private long step;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        built =
                BenchBackends.create(
                        BenchBackends.BackendType.valueOf(backend),
                        Regime.IN_MEMORY,
                        LongSerializer.INSTANCE);
        timers = new BenchTimers<>(built.backend, "backlog-timers", LongSerializer.INSTANCE);
        for (int i = 0; i < KEYS; i++) {
            keys[i] = (long) i * 7919;
        }
        for (long s = 1; s <= BACKLOG_STEPS; s++) {
            register(s);
        }
    }

    private Long key(long s, int i) {
        return keys[(int) ((s * TIMERS_PER_STEP + i) % KEYS)];
    }

    /** Runs {@code action} on the time of step {@code s} under each of the step's keys. */
    private void forEachTimer(long s, LongConsumer action) {
        long time = s * STEP_MS;
        for (int i = 0; i < TIMERS_PER_STEP; i++) {
            built.backend.setCurrentKey(key(s, i));
            action.accept(time);
        }
    }

    private void register(long s) {
        forEachTimer(s, time -> timers.service.registerEventTimeTimer(time, time));
    }

    /** Registers a step one backlog ahead; the watermark fires the oldest step. */
    @Benchmark
    @OperationsPerInvocation(TIMERS_PER_STEP)
    public long registerAndFire() throws Exception {
        step++;
        register(step + BACKLOG_STEPS);
        return timers.advanceWatermark(step * STEP_MS);
    }

    /** Registers a step one backlog ahead and deletes the oldest step. */
    @Benchmark
    @OperationsPerInvocation(TIMERS_PER_STEP)
    public void registerAndDelete() throws Exception {
        step++;
        register(step + BACKLOG_STEPS);
        forEachTimer(step, time -> timers.service.deleteEventTimeTimer(time, time));
    }

    /**
     * Registers again timers that are pending already (a step in the middle of the backlog), as SQL
     * window operators do: every flush of their mini-batch buffer registers the window timer of
     * each key it holds, whether or not an earlier flush did. The set keeps one of each.
     */
    @Benchmark
    @OperationsPerInvocation(TIMERS_PER_STEP)
    public void registerExisting() throws Exception {
        step++;
        register(BACKLOG_STEPS / 2 + step % (BACKLOG_STEPS / 2));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (built != null) {
            built.close();
        }
    }
}
