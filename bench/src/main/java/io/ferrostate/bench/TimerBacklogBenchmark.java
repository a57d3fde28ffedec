package io.ferrostate.bench;

import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.metrics.groups.UnregisteredMetricGroups;
import org.apache.flink.streaming.api.operators.InternalTimeServiceManagerImpl;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.KeyContext;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.tasks.StreamTaskCancellationContext;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;

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

import java.util.Collections;
import java.util.concurrent.TimeUnit;

/**
 * Timer work with a million timers pending, as a job with long windows or cleanup timers has:
 * {@link #BACKLOG_STEPS} steps of {@link #TIMERS_PER_STEP} event-time timers are registered before
 * measuring; each operation then registers a timer one backlog ahead and the watermark fires the
 * oldest step, so timers fire in event-time order out of the whole backlog. {@code
 * registerAndDelete} deletes the oldest step instead of firing it. Long keys over {@link #KEYS}
 * keys, the window end as namespace. Each operation is one timer registered and one fired (or
 * deleted).
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
    private InternalTimeServiceManagerImpl<Long> manager;
    private InternalTimerService<Long> timers;
    private final Long[] keys = new Long[KEYS];
    private long step;
    private long fired;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        built =
                BenchBackends.create(
                        BenchBackends.BackendType.valueOf(backend),
                        Regime.IN_MEMORY,
                        LongSerializer.INSTANCE);
        KeyContext keyContext =
                new KeyContext() {
                    @Override
                    public void setCurrentKey(Object key) {
                        built.backend.setCurrentKey((Long) key);
                    }

                    @Override
                    public Object getCurrentKey() {
                        return built.backend.getCurrentKey();
                    }
                };
        manager =
                InternalTimeServiceManagerImpl.create(
                        UnregisteredMetricGroups.createUnregisteredTaskMetricGroup()
                                .getIOMetricGroup(),
                        built.backend,
                        getClass().getClassLoader(),
                        keyContext,
                        new TestProcessingTimeService(),
                        Collections.emptyList(),
                        StreamTaskCancellationContext.alwaysRunning());
        timers =
                manager.getInternalTimerService(
                        "backlog-timers",
                        LongSerializer.INSTANCE,
                        LongSerializer.INSTANCE,
                        new Triggerable<Long, Long>() {
                            @Override
                            public void onEventTime(InternalTimer<Long, Long> timer) {
                                fired++;
                            }

                            @Override
                            public void onProcessingTime(InternalTimer<Long, Long> timer) {}
                        });
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

    private void register(long s) {
        long time = s * STEP_MS;
        for (int i = 0; i < TIMERS_PER_STEP; i++) {
            built.backend.setCurrentKey(key(s, i));
            timers.registerEventTimeTimer(time, time);
        }
    }

    /** Registers a step one backlog ahead; the watermark fires the oldest step. */
    @Benchmark
    @OperationsPerInvocation(TIMERS_PER_STEP)
    public long registerAndFire() throws Exception {
        step++;
        register(step + BACKLOG_STEPS);
        manager.advanceWatermark(new Watermark(step * STEP_MS));
        return fired;
    }

    /** Registers a step one backlog ahead and deletes the oldest step. */
    @Benchmark
    @OperationsPerInvocation(TIMERS_PER_STEP)
    public void registerAndDelete() throws Exception {
        step++;
        register(step + BACKLOG_STEPS);
        long time = step * STEP_MS;
        for (int i = 0; i < TIMERS_PER_STEP; i++) {
            built.backend.setCurrentKey(key(step, i));
            timers.deleteEventTimeTimer(time, time);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (built != null) {
            built.close();
        }
    }
}
