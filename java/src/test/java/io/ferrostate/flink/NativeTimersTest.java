package io.ferrostate.flink;

import io.ferrostate.flink.FerroStateOptions.TimerServiceFactory;
import io.ferrostate.flink.nativ.NativeLibrary;

import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringValueSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSet;
import org.apache.flink.streaming.api.operators.TimerHeapInternalTimer;
import org.apache.flink.streaming.api.operators.TimerSerializer;
import org.apache.flink.types.StringValue;
import org.apache.flink.util.CloseableIterator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Timers kept in the native store ({@code timer-service.factory: NATIVE}): the queue against a
 * model under random work far beyond its heap cache, and its timers through every kind of snapshot
 * ferrostate writes, restored on either setting, on Flink's HashMap backend, and rescaled.
 */
class NativeTimersTest {
    private static final String QUEUE = "_timer_state/event_test";
    private static final TimerSerializer<Integer, Long> SERIALIZER =
            new TimerSerializer<>(IntSerializer.INSTANCE, LongSerializer.INSTANCE);

    /** Total order of timers: priority first, then key and namespace (the model's order). */
    private static final Comparator<TimerHeapInternalTimer<Integer, Long>> ORDER =
            Comparator.<TimerHeapInternalTimer<Integer, Long>>comparingLong(
                            TimerHeapInternalTimer::getTimestamp)
                    .thenComparing(TimerHeapInternalTimer::getKey)
                    .thenComparing(TimerHeapInternalTimer::getNamespace);

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        Collections.reverse(toClose);
        for (AutoCloseable c : toClose) {
            c.close();
        }
        toClose.clear();
    }

    private static StateBackend ferro(boolean incremental, TimerServiceFactory timers) {
        return ferro(incremental, timers, FerroStateOptions.TIMER_HEAP_BUFFER.defaultValue());
    }

    /** With {@code heapBuffer} new timers per queue on the heap before they are written back. */
    private static StateBackend ferro(
            boolean incremental, TimerServiceFactory timers, int heapBuffer) {
        Configuration conf = new Configuration();
        conf.set(FerroStateOptions.TIMER_SERVICE_FACTORY, timers);
        conf.set(FerroStateOptions.TIMER_HEAP_BUFFER, heapBuffer);
        return new FerroStateBackend(incremental)
                .configure(conf, NativeTimersTest.class.getClassLoader());
    }

    @SuppressWarnings("unchecked")
    private AbstractKeyedStateBackend<Integer> backend(
            StateBackend backend, KeyGroupRange range, List<KeyedStateHandle> restore)
            throws Exception {
        MockEnvironment env = BackendTestUtils.env();
        AbstractKeyedStateBackend<Integer> b =
                (AbstractKeyedStateBackend<Integer>)
                        backend.createKeyedStateBackend(
                                new org.apache.flink.runtime.state
                                        .KeyedStateBackendParametersImpl<>(
                                        env,
                                        new org.apache.flink.api.common.JobID(),
                                        "test-op",
                                        IntSerializer.INSTANCE,
                                        128,
                                        range,
                                        env.getTaskKvStateRegistry(),
                                        org.apache.flink.runtime.state.ttl.TtlTimeProvider.DEFAULT,
                                        new org.apache.flink.metrics.groups
                                                .UnregisteredMetricsGroup(),
                                        restore,
                                        new org.apache.flink.core.fs.CloseableRegistry()));
        toClose.add(env);
        toClose.add(b::dispose);
        return b;
    }

    private static KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> queue(
            AbstractKeyedStateBackend<Integer> backend) {
        return backend.create(QUEUE, SERIALIZER);
    }

    private static TimerHeapInternalTimer<Integer, Long> timer(Random r) {
        return new TimerHeapInternalTimer<>(r.nextInt(5000), r.nextInt(300), (long) r.nextInt(3));
    }

    private static TimerHeapInternalTimer<Integer, Long> copy(
            TimerHeapInternalTimer<Integer, Long> t) {
        return new TimerHeapInternalTimer<>(t.getTimestamp(), t.getKey(), t.getNamespace());
    }

    private static long firstTimestamp(TreeSet<TimerHeapInternalTimer<Integer, Long>> model) {
        return model.isEmpty() ? Long.MAX_VALUE : model.first().getTimestamp();
    }

    /**
     * What an add or remove of {@code t} must answer: nothing changed when the set did not ({@code
     * changed}: a duplicate, an absent timer); else the head changed when {@code t} is earlier than
     * every other timer ({@code others}: the earliest of them), and it may say so only when {@code
     * t} is (or was) a first one ({@code first}: the earliest timestamp with {@code t}).
     */
    private static void assertHeadChange(
            boolean headChanged,
            boolean changed,
            TimerHeapInternalTimer<Integer, Long> t,
            long others,
            long first) {
        if (!changed) {
            assertThat(headChanged).as("%s changed nothing", t).isFalse();
            return;
        }
        if (t.getTimestamp() < others) {
            assertThat(headChanged).as("%s is the only first timer", t).isTrue();
        }
        if (headChanged) {
            assertThat(t.getTimestamp()).as("%s was reported first", t).isLessThanOrEqualTo(first);
        }
    }

    @Test
    void nativeTimersAreTheDefaultAndHeapTimersAnOption() throws Exception {
        assertThat(queue(backend(new FerroStateBackend(false), all(), List.of())))
                .isInstanceOf(io.ferrostate.flink.timers.FerroTimerQueue.class);
        assertThat(queue(backend(ferro(false, TimerServiceFactory.HEAP), all(), List.of())))
                .isInstanceOf(HeapPriorityQueueSet.class);
    }

    @Test
    void theHeapBufferMustHoldAtLeastOneTimer() {
        Configuration conf = new Configuration();
        conf.set(FerroStateOptions.TIMER_HEAP_BUFFER, 0);
        assertThatThrownBy(
                        () ->
                                new FerroStateBackend()
                                        .configure(conf, NativeTimersTest.class.getClassLoader()))
                .isInstanceOf(IllegalConfigurationException.class)
                .hasMessageContaining("timer-service.heap-buffer");
    }

    @Test
    void randomWorkMatchesAModel() throws Exception {
        // 16 fresh timers per key group: most adds overflow into the store.
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q =
                queue(
                        backend(
                                ferro(false, TimerServiceFactory.NATIVE, 16 * 128),
                                all(),
                                List.of()));
        TreeSet<TimerHeapInternalTimer<Integer, Long>> model = new TreeSet<>(ORDER);
        Random r = new Random(42);
        for (int i = 0; i < 60_000; i++) {
            int op = r.nextInt(10);
            if (op < 5) {
                TimerHeapInternalTimer<Integer, Long> t = timer(r);
                long firstBefore = firstTimestamp(model);
                boolean added = model.add(t);
                assertHeadChange(q.add(t), added, t, firstBefore, firstBefore);
            } else if (op < 7) {
                // Half of the removals take a first timer: the answer that matters.
                TimerHeapInternalTimer<Integer, Long> t =
                        op == 6 && !model.isEmpty() ? copy(model.first()) : timer(r);
                long firstBefore = firstTimestamp(model);
                boolean removed = model.remove(t);
                assertHeadChange(q.remove(t), removed, t, firstTimestamp(model), firstBefore);
            } else if (op < 9) {
                pollBoth(q, model);
            } else {
                assertSameHead(q, model);
            }
            if (i % 10_000 == 0) {
                assertThat(q.size()).isEqualTo(model.size());
            }
        }
        assertThat(q.size()).isEqualTo(model.size());
        assertThat(elements(q)).isEqualTo(new HashSet<>(model));
        List<TimerHeapInternalTimer<Integer, Long>> drained = drain(q);
        assertThat(new HashSet<>(drained)).isEqualTo(new HashSet<>(model));
        assertThat(timestamps(drained)).isEqualTo(timestamps(new ArrayList<>(model)));
        assertThat(q.isEmpty()).isTrue();
    }

    /**
     * The backend lets callers reuse key objects ({@code isSafeToReuseKVState()}: SQL's window
     * buffer sets one key object per flush and registers timers under it), so a timer waiting on
     * the heap must not share the caller's key: each keeps the key it was registered with, is found
     * again by an equal timer, and fires under its own key, before and after a write-back.
     */
    @Test
    void timersKeepTheirKeysWhenTheCallerReusesTheKeyObject() throws Exception {
        AbstractKeyedStateBackend<Integer> backend =
                backend(ferro(false, TimerServiceFactory.NATIVE), all(), List.of());
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<StringValue, Long>> q =
                backend.create(
                        "_timer_state/event_reused_keys",
                        new TimerSerializer<>(
                                StringValueSerializer.INSTANCE, LongSerializer.INSTANCE));
        StringValue reused = new StringValue();
        for (int i = 0; i < 100; i++) {
            reused.setValue("key-" + i);
            q.add(new TimerHeapInternalTimer<>(1000 - i, reused, 0L));
        }
        reused.setValue("key-7");
        assertThat(q.remove(new TimerHeapInternalTimer<>(993, reused, 0L))).isFalse();
        assertThat(q.size()).as("size() writes the timers back").isEqualTo(99);
        for (int i = 100; i < 150; i++) {
            reused.setValue("key-" + i);
            q.add(new TimerHeapInternalTimer<>(1000 - i, reused, 0L));
        }
        reused.setValue("key-120");
        q.remove(new TimerHeapInternalTimer<>(880, reused, 0L));
        reused.setValue("key-no-such-timer");
        List<String> fired = new ArrayList<>();
        TimerHeapInternalTimer<StringValue, Long> t;
        while ((t = q.poll()) != null) {
            assertThat(t.getKey().getValue()).isEqualTo("key-" + (1000 - t.getTimestamp()));
            fired.add(t.getKey().getValue());
        }
        assertThat(fired).hasSize(148).doesNotContain("key-7", "key-120");
    }

    /**
     * New timers wait on the heap until a snapshot, too many of them, or a listing writes them to
     * the store; a timer registered again after that sits in both places until it is taken. A few
     * key groups hold thousands of timers each (past the per-key-group limit of fresh ones), timers
     * move forward as session ends do, and the queue is checkpointed and restored mid-run (a
     * restored queue cannot tell which timers its store holds): the queue is the model throughout.
     */
    @Test
    void freshAndStoredTimersAreOneSet() throws Exception {
        KeyGroupRange range = new KeyGroupRange(0, 1);
        List<Integer> keys = new ArrayList<>();
        for (int k = 0; keys.size() < 400; k++) {
            if (range.contains(
                    org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup(
                            k, 128))) {
                keys.add(k);
            }
        }
        // 4,096 fresh timers per key group.
        StateBackend ferro = ferro(false, TimerServiceFactory.NATIVE, 2 * 4096);
        AbstractKeyedStateBackend<Integer> backend = backend(ferro, range, List.of());
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q = queue(backend);
        TreeSet<TimerHeapInternalTimer<Integer, Long>> model = new TreeSet<>(ORDER);
        Random r = new Random(7);
        java.util.function.Supplier<TimerHeapInternalTimer<Integer, Long>> anyTimer =
                () ->
                        new TimerHeapInternalTimer<>(
                                r.nextInt(20_000),
                                keys.get(r.nextInt(keys.size())),
                                (long) r.nextInt(4));
        for (int i = 1; i <= 120_000; i++) {
            int op = r.nextInt(20);
            if (op < 10) {
                TimerHeapInternalTimer<Integer, Long> t = anyTimer.get();
                long before = model.isEmpty() ? Long.MAX_VALUE : model.first().getTimestamp();
                boolean added = model.add(t);
                boolean headChanged = q.add(t);
                // Timers of one timestamp in different key groups have no order between them.
                if (!added) {
                    assertThat(headChanged).as("a duplicate changes nothing").isFalse();
                } else if (t.getTimestamp() < before) {
                    assertThat(headChanged).as("%s is the new head", t).isTrue();
                }
            } else if (op < 12 && !model.isEmpty()) {
                // A session's end moves: its timer is deleted and a later one registered.
                TimerHeapInternalTimer<Integer, Long> old = model.ceiling(anyTimer.get());
                if (old == null) {
                    old = model.last();
                }
                model.remove(old);
                q.remove(old);
                TimerHeapInternalTimer<Integer, Long> moved =
                        new TimerHeapInternalTimer<>(
                                old.getTimestamp() + 1 + r.nextInt(500),
                                old.getKey(),
                                old.getNamespace());
                model.add(moved);
                q.add(moved);
            } else if (op < 13) {
                TimerHeapInternalTimer<Integer, Long> t = anyTimer.get();
                model.remove(t);
                q.remove(t);
            } else if (op < 18) {
                pollBoth(q, model);
            } else {
                assertSameHead(q, model);
            }
            if (i % 15_000 == 0) {
                // A checkpoint writes the fresh timers back; every other one restores from it.
                KeyedStateHandle handle = snapshot(backend, i, false);
                if (i % 30_000 == 0) {
                    backend = backend(ferro, range, List.of(handle));
                    q = queue(backend);
                    assertThat(elements(q)).isEqualTo(new HashSet<>(model));
                }
            }
        }
        assertThat(model.size())
                .as("key groups hold more timers than they keep fresh")
                .isGreaterThan(2 * 4096);
        assertThat(q.size()).isEqualTo(model.size());
        List<TimerHeapInternalTimer<Integer, Long>> drained = drain(q);
        assertThat(new HashSet<>(drained)).isEqualTo(new HashSet<>(model));
        assertThat(timestamps(drained)).isEqualTo(timestamps(new ArrayList<>(model)));
    }

    /**
     * The heap buffer holds timers that fire soon and writes those registered far ahead at once: a
     * burst of timers that fire within the burst's range keeps each key group's full share on the
     * heap (256 here) however often it overflows; a backlog (each new timer after every stored one,
     * the oldest fired) shrinks the share to {@code ADAPTED_MIN_FRESH} (16) per key group, before
     * and after a restore; bursts after it grow the share back. The queue is the model throughout.
     */
    @Test
    void theHeapBufferKeepsTimersThatFireSoonAndWritesThoseFarAhead() throws Exception {
        StateBackend ferro = ferro(false, TimerServiceFactory.NATIVE, 128 * 256);
        FerroKeyedStateBackend<Integer> backend =
                (FerroKeyedStateBackend<Integer>) backend(ferro, all(), List.of());
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q = queue(backend);
        TreeSet<TimerHeapInternalTimer<Integer, Long>> model = new TreeSet<>(ORDER);
        Random r = new Random(11);
        long time = 0;
        // Bursts of 400 timers per key group (past the 256 it holds), then the watermark fires
        // them.
        for (int burst = 0; burst < 3; burst++) {
            fireBurst(q, model, r, time);
            assertThat(backend.heapTimers())
                    .as("timers of a burst wait on the heap past an overflow")
                    .isGreaterThan(128 * 64);
            drainUpTo(q, model, time + 999);
            time += 1000;
        }
        // A backlog: 200 steps of 640 timers, then each step registers one backlog ahead and fires
        // the oldest.
        long steps = 200;
        for (long step = 0; step < steps; step++) {
            addStep(q, model, time + step);
        }
        int mostOnHeap = 0;
        for (long step = 0; step < 400; step++) {
            if (step == 200) {
                // A restored queue does not know its greatest stored timer: it adapts all the same.
                KeyedStateHandle handle = snapshot(backend, 1, false);
                backend = (FerroKeyedStateBackend<Integer>) backend(ferro, all(), List.of(handle));
                q = queue(backend);
            }
            addStep(q, model, time + steps + step);
            drainUpTo(q, model, time + step);
            if (step % 200 >= 100) {
                mostOnHeap = Math.max(mostOnHeap, backend.heapTimers());
            }
        }
        assertThat(mostOnHeap)
                .as("a backlog's timers are written, not held")
                .isPositive()
                .isLessThanOrEqualTo(128 * 16);
        drainUpTo(q, model, Long.MAX_VALUE);
        time += steps + 400;
        for (int burst = 0; burst < 6; burst++) {
            fireBurst(q, model, r, time);
            drainUpTo(q, model, time + 999);
            time += 1000;
        }
        fireBurst(q, model, r, time);
        assertThat(backend.heapTimers())
                .as("bursts after a backlog grow the buffer back")
                .isGreaterThan(128 * 64);
        drainUpTo(q, model, Long.MAX_VALUE);
        assertThat(q.isEmpty()).isTrue();
    }

    /** Adds 400 timers per key group (on average) at times within 1,000 of {@code from}. */
    private static void fireBurst(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model,
            Random r,
            long from) {
        addBoth(
                q,
                model,
                128 * 400,
                i -> new TimerHeapInternalTimer<>(from + r.nextInt(1000), r.nextInt(1 << 20), 0L));
    }

    /** Adds 640 timers (5 per key group on average) at {@code time}. */
    private static void addStep(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model,
            long time) {
        addBoth(q, model, 640, i -> new TimerHeapInternalTimer<>(time, (int) (time * 640 + i), 0L));
    }

    /** Adds {@code n} timers, the i-th made by {@code timer}, to the queue and the model. */
    private static void addBoth(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model,
            int n,
            java.util.function.IntFunction<TimerHeapInternalTimer<Integer, Long>> timer) {
        for (int i = 0; i < n; i++) {
            TimerHeapInternalTimer<Integer, Long> t = timer.apply(i);
            model.add(t);
            q.add(t);
        }
    }

    /** Polls the queue and the model while their first timer is due at {@code watermark}. */
    private static void drainUpTo(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model,
            long watermark) {
        while (!model.isEmpty() && model.first().getTimestamp() <= watermark) {
            pollBoth(q, model);
        }
        assertSameHead(q, model);
    }

    /**
     * A disk that fails while a checkpoint writes fresh timers back (in the middle: the store's set
     * batch fills after some thousands of them) fails that checkpoint, and the set still holds
     * every timer, stored or fresh: it fires them in order, and the next checkpoint, once the disk
     * is back, restores them all.
     */
    @Test
    void aWriteBackThatFailsMidwayLosesNoTimer() throws Exception {
        KeyGroupRange range = new KeyGroupRange(0, 127);
        StateBackend ferro = ferro(false, TimerServiceFactory.NATIVE);
        AbstractKeyedStateBackend<Integer> backend = backend(ferro, range, List.of());
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q = queue(backend);
        TreeSet<TimerHeapInternalTimer<Integer, Long>> model = new TreeSet<>(ORDER);
        Random r = new Random(11);
        java.util.function.Supplier<TimerHeapInternalTimer<Integer, Long>> anyTimer =
                () ->
                        new TimerHeapInternalTimer<>(
                                r.nextInt(1_000_000), r.nextInt(100_000), (long) r.nextInt(4));
        for (int i = 0; i < 10_000; i++) {
            TimerHeapInternalTimer<Integer, Long> t = anyTimer.get();
            model.add(t);
            q.add(t);
        }
        snapshot(backend, 1, false);
        // Fresh timers (about 300 per key group: under the fresh bound of 512, beyond the heap
        // cache of the stored ones), some the same as stored.
        List<TimerHeapInternalTimer<Integer, Long>> stored = new ArrayList<>(model);
        for (int i = 0; i < 40_000; i++) {
            TimerHeapInternalTimer<Integer, Long> t =
                    i % 10 == 0 ? stored.get(r.nextInt(stored.size())) : anyTimer.get();
            model.add(t);
            q.add(t);
        }
        NativeLibrary.setFailWrites(true);
        try {
            AbstractKeyedStateBackend<Integer> failing = backend;
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> snapshot(failing, 2, false))
                    .hasStackTraceContaining("fault injection");
        } finally {
            NativeLibrary.setFailWrites(false);
        }
        // Most timers go (a timer the set forgot it had written would come back), some fire.
        List<TimerHeapInternalTimer<Integer, Long>> all = new ArrayList<>(model);
        Collections.shuffle(all, r);
        for (TimerHeapInternalTimer<Integer, Long> t : all.subList(0, all.size() * 3 / 5)) {
            model.remove(t);
            q.remove(t);
        }
        for (int i = 0; i < 2_000; i++) {
            pollBoth(q, model);
        }
        assertThat(q.size()).isEqualTo(model.size());
        KeyedStateHandle handle = snapshot(backend, 3, false);
        AbstractKeyedStateBackend<Integer> restored = backend(ferro, range, List.of(handle));
        List<TimerHeapInternalTimer<Integer, Long>> drained = drain(queue(restored));
        assertThat(new HashSet<>(drained)).isEqualTo(new HashSet<>(model));
        assertThat(drained).hasSize(model.size());
        assertThat(timestamps(drained)).isEqualTo(timestamps(new ArrayList<>(model)));
    }

    /** Timers written on one setting and snapshot kind, restored on another backend/setting. */
    @Test
    void timersSurviveEverySnapshotOnEverySetting() throws Exception {
        for (TimerServiceFactory from : TimerServiceFactory.values()) {
            for (TimerServiceFactory to : TimerServiceFactory.values()) {
                for (boolean incremental : new boolean[] {true, false}) {
                    // Incremental: native checkpoints; otherwise full ones (canonical layout).
                    roundTrip(ferro(incremental, from), ferro(incremental, to), false);
                }
                roundTrip(ferro(true, from), ferro(true, to), true);
            }
            // Canonical savepoints move timers between ferrostate and Flink's HashMap backend.
            roundTrip(ferro(true, from), new HashMapStateBackend(), true);
            roundTrip(new HashMapStateBackend(), ferro(true, from), true);
        }
    }

    private void roundTrip(StateBackend from, StateBackend to, boolean savepoint) throws Exception {
        String what =
                (savepoint ? "savepoint " : "checkpoint ") + describe(from) + " -> " + describe(to);
        AbstractKeyedStateBackend<Integer> source = backend(from, all(), List.of());
        // Key/value state too, so timers sit beside a state in the snapshot.
        for (int key = 0; key < 300; key++) {
            source.setCurrentKey(key);
            value(source).update((long) key * 7);
        }
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q = queue(source);
        Set<TimerHeapInternalTimer<Integer, Long>> expected = fill(q, 3000, 7);
        Random r = new Random(8);
        for (int i = 0; i < 500; i++) {
            TimerHeapInternalTimer<Integer, Long> polled = q.poll();
            expected.remove(polled);
            TimerHeapInternalTimer<Integer, Long> t = timer(r);
            q.add(t);
            expected.add(t);
        }
        KeyedStateHandle second = snapshot(source, 2, savepoint);

        AbstractKeyedStateBackend<Integer> restored = backend(to, all(), List.of(second));
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> back =
                queue(restored);
        assertThat(back.size()).as(what).isEqualTo(expected.size());
        for (int key = 0; key < 300; key++) {
            restored.setCurrentKey(key);
            assertThat(value(restored).value()).as(what).isEqualTo(key * 7L);
        }
        List<TimerHeapInternalTimer<Integer, Long>> order = new ArrayList<>(expected);
        order.sort(ORDER);
        List<TimerHeapInternalTimer<Integer, Long>> drained = drain(back);
        assertThat(new HashSet<>(drained)).as(what).isEqualTo(expected);
        assertThat(timestamps(drained)).as(what).isEqualTo(timestamps(order));
        // What a restored backend writes restores again (the moved timers included).
        for (TimerHeapInternalTimer<Integer, Long> t : order.subList(0, 100)) {
            back.add(t);
        }
        AbstractKeyedStateBackend<Integer> again =
                backend(from, all(), List.of(snapshot(restored, 3, savepoint)));
        assertThat(new HashSet<>(drain(queue(again))))
                .as(what + " and back")
                .isEqualTo(new HashSet<>(order.subList(0, 100)));
    }

    @Test
    void timersFollowTheirKeyGroupsOnRescaling() throws Exception {
        for (boolean incremental : new boolean[] {true, false}) {
            StateBackend backend = ferro(incremental, TimerServiceFactory.NATIVE);
            AbstractKeyedStateBackend<Integer> left =
                    backend(backend, new KeyGroupRange(0, 63), List.of());
            AbstractKeyedStateBackend<Integer> right =
                    backend(backend, new KeyGroupRange(64, 127), List.of());
            Set<TimerHeapInternalTimer<Integer, Long>> all = new HashSet<>();
            Random r = new Random(3);
            for (int i = 0; i < 4000; i++) {
                TimerHeapInternalTimer<Integer, Long> t = timer(r);
                int kg =
                        org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup(
                                t.getKey(), 128);
                queue(kg < 64 ? left : right).add(t);
                all.add(t);
            }
            List<KeyedStateHandle> handles =
                    List.of(snapshot(left, 1, false), snapshot(right, 1, false));
            Set<TimerHeapInternalTimer<Integer, Long>> union = new HashSet<>();
            for (KeyGroupRange range :
                    new KeyGroupRange[] {
                        new KeyGroupRange(0, 31),
                        new KeyGroupRange(32, 95),
                        new KeyGroupRange(96, 127)
                    }) {
                AbstractKeyedStateBackend<Integer> part = backend(backend, range, handles);
                for (TimerHeapInternalTimer<Integer, Long> t : drain(queue(part))) {
                    assertThat(
                                    range.contains(
                                            org.apache.flink.runtime.state.KeyGroupRangeAssignment
                                                    .assignToKeyGroup(t.getKey(), 128)))
                            .isTrue();
                    assertThat(union.add(t)).isTrue();
                }
            }
            assertThat(union).as("incremental=" + incremental).isEqualTo(all);
        }
    }

    /**
     * The queue takes a timer's key group from the backend when the timer's key is the object last
     * given to {@code setCurrentKey}, and hashes the key otherwise: timers under the current key,
     * under an equal key object, and under the current key after its key group was set by other
     * means all land in the key group their key hashes to, and leave in order.
     */
    @Test
    void timersUnderTheCurrentKeyLandInTheKeyGroupOfTheirKey() throws Exception {
        AbstractKeyedStateBackend<Integer> b =
                backend(new FerroStateBackend(false), all(), List.of());
        KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q = queue(b);
        TreeSet<TimerHeapInternalTimer<Integer, Long>> model = new TreeSet<>(ORDER);
        Random r = new Random(11);
        for (int i = 0; i < 3000; i++) {
            // Above Integer's cache: an equal key is another object.
            Integer key = 1000 + r.nextInt(400);
            b.setCurrentKey(key);
            Integer keyOfTimer = key;
            switch (i % 3) {
                case 0:
                    break;
                case 1:
                    keyOfTimer = Integer.valueOf(key.intValue());
                    assertThat(keyOfTimer).isNotSameAs(key);
                    break;
                default:
                    b.setCurrentKeyGroupIndex(
                            (org.apache.flink.runtime.state.KeyGroupRangeAssignment
                                                    .assignToKeyGroup(key, 128)
                                            + 1)
                                    % 128);
            }
            TimerHeapInternalTimer<Integer, Long> t =
                    new TimerHeapInternalTimer<>(r.nextInt(5000), keyOfTimer, (long) r.nextInt(3));
            long firstBefore = firstTimestamp(model);
            boolean added = model.add(t);
            assertHeadChange(q.add(t), added, t, firstBefore, firstBefore);
            if (r.nextInt(4) == 0) {
                // A timer deleted under its key, the current one.
                long first = firstTimestamp(model);
                TimerHeapInternalTimer<Integer, Long> gone = model.pollFirst();
                b.setCurrentKey(gone.getKey());
                assertHeadChange(q.remove(gone), true, gone, firstTimestamp(model), first);
            }
        }
        for (int kg = 0; kg < 128; kg++) {
            Set<TimerHeapInternalTimer<Integer, Long>> expected = new HashSet<>();
            for (TimerHeapInternalTimer<Integer, Long> t : model) {
                if (org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup(
                                t.getKey(), 128)
                        == kg) {
                    expected.add(t);
                }
            }
            assertThat(q.getSubsetForKeyGroup(kg)).as("key group %s", kg).isEqualTo(expected);
        }
        assertThat(timestamps(drain(q))).isEqualTo(timestamps(new ArrayList<>(model)));
    }

    private static org.apache.flink.api.common.state.ValueState<Long> value(
            AbstractKeyedStateBackend<Integer> backend) throws Exception {
        return backend.getPartitionedState(
                org.apache.flink.runtime.state.VoidNamespace.INSTANCE,
                org.apache.flink.runtime.state.VoidNamespaceSerializer.INSTANCE,
                new org.apache.flink.api.common.state.ValueStateDescriptor<>("v", Long.class));
    }

    private static KeyGroupRange all() {
        return new KeyGroupRange(0, 127);
    }

    private static String describe(StateBackend backend) {
        return backend instanceof FerroStateBackend
                ? "ferrostate(incremental="
                        + ((FerroStateBackend) backend).isIncrementalCheckpointsEnabled()
                        + ", timers="
                        + ((FerroStateBackend) backend).getTimerServiceFactory()
                        + ")"
                : backend.getClass().getSimpleName();
    }

    private static KeyedStateHandle snapshot(
            AbstractKeyedStateBackend<Integer> backend, long id, boolean savepoint)
            throws Exception {
        if (savepoint) {
            java.util.concurrent.RunnableFuture<
                            org.apache.flink.runtime.state.SnapshotResult<KeyedStateHandle>>
                    future =
                            new org.apache.flink.runtime.state.SnapshotStrategyRunner<>(
                                            "canonical savepoint",
                                            new org.apache.flink.runtime.state
                                                    .SavepointSnapshotStrategy<>(
                                                    backend.savepoint().getSnapshotResources()),
                                            new org.apache.flink.core.fs.CloseableRegistry(),
                                            org.apache.flink.runtime.state.SnapshotExecutionType
                                                    .ASYNCHRONOUS)
                                    .snapshot(
                                            id,
                                            id,
                                            new org.apache.flink.runtime.state.memory
                                                    .MemCheckpointStreamFactory(64 << 20),
                                            new org.apache.flink.runtime.checkpoint
                                                    .CheckpointOptions(
                                                    org.apache.flink.runtime.checkpoint
                                                            .SavepointType.savepoint(
                                                            org.apache.flink.core.execution
                                                                    .SavepointFormatType.CANONICAL),
                                                    org.apache.flink.runtime.state
                                                            .CheckpointStorageLocationReference
                                                            .getDefault()));
            future.run();
            return future.get().getJobManagerOwnedSnapshot();
        }
        java.util.concurrent.RunnableFuture<
                        org.apache.flink.runtime.state.SnapshotResult<KeyedStateHandle>>
                future =
                        backend.snapshot(
                                id,
                                id,
                                new org.apache.flink.runtime.state.memory
                                        .MemCheckpointStreamFactory(64 << 20),
                                // A full checkpoint shares no earlier files, so its handle
                                // restores without Flink's checkpoint coordinator.
                                new org.apache.flink.runtime.checkpoint.CheckpointOptions(
                                        org.apache.flink.runtime.checkpoint.CheckpointType
                                                .FULL_CHECKPOINT,
                                        org.apache.flink.runtime.state
                                                .CheckpointStorageLocationReference.getDefault()));
        future.run();
        return future.get().getJobManagerOwnedSnapshot();
    }

    private static Set<TimerHeapInternalTimer<Integer, Long>> fill(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            int n,
            long seed) {
        Random r = new Random(seed);
        Set<TimerHeapInternalTimer<Integer, Long>> added = new HashSet<>();
        for (int i = 0; i < n; i++) {
            TimerHeapInternalTimer<Integer, Long> t = timer(r);
            q.add(t);
            added.add(t);
        }
        return added;
    }

    private static List<TimerHeapInternalTimer<Integer, Long>> drain(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q) {
        List<TimerHeapInternalTimer<Integer, Long>> out = new ArrayList<>();
        for (TimerHeapInternalTimer<Integer, Long> t = q.poll(); t != null; t = q.poll()) {
            out.add(t);
        }
        return out;
    }

    private static Set<TimerHeapInternalTimer<Integer, Long>> elements(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q)
            throws Exception {
        Set<TimerHeapInternalTimer<Integer, Long>> out = new HashSet<>();
        try (CloseableIterator<TimerHeapInternalTimer<Integer, Long>> it = q.iterator()) {
            it.forEachRemaining(out::add);
        }
        return out;
    }

    /**
     * Polls the queue and the model: the same timestamp first (timers of one timestamp in different
     * key groups have no order between them), and the polled timer was in the model.
     */
    private static void pollBoth(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model) {
        TimerHeapInternalTimer<Integer, Long> polled = q.poll();
        if (model.isEmpty()) {
            assertThat(polled).isNull();
        } else {
            assertThat(polled).isNotNull();
            assertThat(polled.getTimestamp()).isEqualTo(model.first().getTimestamp());
            assertThat(model.remove(polled)).as("polled %s", polled).isTrue();
        }
    }

    private static void assertSameHead(
            KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, Long>> q,
            TreeSet<TimerHeapInternalTimer<Integer, Long>> model) {
        TimerHeapInternalTimer<Integer, Long> head = q.peek();
        assertThat(head == null ? null : head.getTimestamp())
                .isEqualTo(model.isEmpty() ? null : model.first().getTimestamp());
    }

    private static List<Long> timestamps(List<TimerHeapInternalTimer<Integer, Long>> timers) {
        List<Long> out = new ArrayList<>();
        for (TimerHeapInternalTimer<Integer, Long> t : timers) {
            out.add(t.getTimestamp());
        }
        return out;
    }
}
