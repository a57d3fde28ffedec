package io.ferrostate.flink23;

import io.ferrostate.flink.FerroStateBackend;
import io.ferrostate.flink.FerroStateOptions;
import io.ferrostate.flink.async.FerroAsyncKeyedStateBackend;
import io.ferrostate.flink.async.FerroStateExecutor;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.v2.ListStateDescriptor;
import org.apache.flink.api.common.state.v2.MapStateDescriptor;
import org.apache.flink.api.common.state.v2.State;
import org.apache.flink.api.common.state.v2.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.asyncprocessing.AsyncFutureImpl;
import org.apache.flink.core.asyncprocessing.InternalAsyncFuture;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.asyncprocessing.AsyncRequestContainer;
import org.apache.flink.runtime.asyncprocessing.EpochManager;
import org.apache.flink.runtime.asyncprocessing.RecordContext;
import org.apache.flink.runtime.asyncprocessing.StateExecutor;
import org.apache.flink.runtime.asyncprocessing.StateRequest;
import org.apache.flink.runtime.asyncprocessing.StateRequestHandler;
import org.apache.flink.runtime.asyncprocessing.StateRequestType;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.AsyncKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.runtime.state.v2.adaptor.CompleteStateIterator;
import org.apache.flink.runtime.state.v2.internal.InternalPartitionedState;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ferrostate's state executor against a model of sequential execution: batches of value, list and
 * map requests, in runs of reads (one native multi-get, hot-tier hits first), runs of writes (one
 * native multi-put) and requests in between, over keys held in the hot tier, only in RocksDB, or
 * nowhere; values too large for the hot tier and for the executor's answer buffer; the same key
 * read and written within one batch. Every request's answer must be what running the batch one
 * request at a time gives.
 */
class BatchedStateRequestsTest {

    private static final int MAX_PARALLELISM = 128;
    private static final int KEYS = 3_000;

    private MockEnvironment env;
    private AsyncKeyedStateBackend<Integer> backend;
    private StateExecutor executor;

    private State value;
    private State list;
    private State map;

    /** What sequential execution gives: the model the executor is held to. */
    private final Map<Integer, String> values = new HashMap<>();

    private final Map<Integer, List<Integer>> lists = new HashMap<>();
    private final Map<Integer, TreeMap<Integer, String>> maps = new HashMap<>();

    /** The requests of the batch being built, each with the answer sequential execution gives. */
    private final List<Tuple2<InternalAsyncFuture<Object>, Object>> expected = new ArrayList<>();

    private AsyncRequestContainer<StateRequest<?, ?, ?, ?>> batch;

    /** The batches offered since {@link #startBatch}. */
    private final List<CompletableFuture<Void>> submitted = new ArrayList<>();

    /** Requests the executor failed (reported on its thread). */
    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();

    private void open(boolean inline) throws Exception {
        env = MockEnvironment.builder().build();
        env.setCheckpointStorageAccess(
                new JobManagerCheckpointStorage().createCheckpointStorage(new JobID()));
        backend =
                new FerroStateBackend()
                        .configure(
                                new Configuration()
                                        .set(FerroStateOptions.ASYNC_INLINE_EXECUTION, inline),
                                getClass().getClassLoader())
                        .createAsyncKeyedStateBackend(
                                new KeyedStateBackendParametersImpl<>(
                                        env,
                                        new JobID(),
                                        "batched",
                                        IntSerializer.INSTANCE,
                                        MAX_PARALLELISM,
                                        new KeyGroupRange(0, MAX_PARALLELISM - 1),
                                        env.getTaskKvStateRegistry(),
                                        TtlTimeProvider.DEFAULT,
                                        new UnregisteredMetricsGroup(),
                                        (name, v) -> {},
                                        Collections.emptyList(),
                                        new CloseableRegistry(),
                                        1.0d));
        backend.setup(new RequestsFromTheTestOnly());
        executor = backend.createStateExecutor();
        value =
                backend.getOrCreateKeyedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("value", StringSerializer.INSTANCE));
        list =
                backend.getOrCreateKeyedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ListStateDescriptor<>("list", IntSerializer.INSTANCE));
        map =
                backend.getOrCreateKeyedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new MapStateDescriptor<>(
                                "map", IntSerializer.INSTANCE, StringSerializer.INSTANCE));
    }

    @AfterEach
    void close() throws Exception {
        if (env == null) {
            return;
        }
        if (backend != null) {
            backend.dispose();
            backend.close();
        }
        env.close();
    }

    /**
     * With inline execution the task thread runs what the hot tier answers and hands the rest over;
     * a batch offered while another is still on the executor thread must wait its turn. Each round
     * offers its requests in three batches without waiting in between.
     */
    @ParameterizedTest(name = "inline execution {0}")
    @ValueSource(booleans = {true, false})
    void batchesAnswerAsSequentialExecutionWouldHotAndCold(boolean inline) throws Exception {
        open(inline);
        long batchedBefore = FerroStateExecutor.batchedRequests();
        long callsBefore = FerroStateExecutor.batchCalls();
        long inlineBefore = FerroStateExecutor.inlineRequests();
        Random random = new Random(20261204);

        // Every key gets a value, a list and some map entries, in one batch of writes.
        startBatch();
        for (int k = 0; k < KEYS; k++) {
            request(value, StateRequestType.VALUE_UPDATE, "v" + k, k);
            request(list, StateRequestType.LIST_ADD, k, k);
            for (int e = 0; e < 3; e++) {
                request(map, StateRequestType.MAP_PUT, Tuple2.of(e * 7 + k % 5, "e" + k), k);
            }
        }
        // One value larger than any answer buffer the executor keeps, one larger than its first.
        request(value, StateRequestType.VALUE_UPDATE, repeat('x', 5 << 20), 0);
        request(value, StateRequestType.VALUE_UPDATE, repeat('y', 100_000), 1);
        runBatch();

        for (int round = 1; round <= 8; round++) {
            if (round % 3 == 0) {
                // Everything back to RocksDB: the reads of this round are multi-gets from disk.
                ((FerroAsyncKeyedStateBackend<Integer>) backend).dropHotTier();
            }
            startBatch();
            for (int k = 0; k < 4; k++) {
                request(value, StateRequestType.VALUE_GET, null, k);
            }
            int nextBatch = 1_300;
            while (expected.size() < 4_000) {
                if (expected.size() >= nextBatch) {
                    submitBatch();
                    nextBatch += 1_300;
                }
                int kind = random.nextInt(3);
                int length = 1 + random.nextInt(120);
                for (int i = 0; i < length; i++) {
                    int k = random.nextInt(KEYS + KEYS / 10);
                    if (kind == 0) {
                        read(random, k);
                    } else if (kind == 1) {
                        write(random, k);
                    } else {
                        other(random, k);
                    }
                }
            }
            runBatch();
        }

        long batched = FerroStateExecutor.batchedRequests() - batchedBefore;
        long calls = FerroStateExecutor.batchCalls() - callsBefore;
        // Most requests of these batches are in runs of reads or writes, each run one or two
        // native calls (short runs among the other requests bring the mean down to about 10).
        assertThat(batched).isGreaterThan(8 * 4_000 / 2);
        assertThat(calls).isLessThan(batched / 4);
        long inlined = FerroStateExecutor.inlineRequests() - inlineBefore;
        if (inline) {
            assertThat(inlined).isPositive();
        } else {
            assertThat(inlined).isZero();
        }
    }

    /**
     * An operator may create a state while its earlier requests still execute on the executor
     * thread; the store serves one thread at a time, so creating it waits for them (the new state
     * is then usable at once, and the earlier answers are what sequential execution gives).
     */
    @Test
    void stateCreatedWhileABatchRunsWaitsForIt() throws Exception {
        open(false);
        startBatch();
        for (int k = 0; k < KEYS; k++) {
            request(value, StateRequestType.VALUE_UPDATE, "v" + k, k);
        }
        runBatch();
        // Cold reads: the executor thread is busy with them for a while.
        ((FerroAsyncKeyedStateBackend<Integer>) backend).dropHotTier();
        startBatch();
        for (int round = 0; round < 4; round++) {
            for (int k = 0; k < KEYS; k++) {
                request(value, StateRequestType.VALUE_GET, null, k);
            }
        }
        submitBatch();
        State late =
                backend.getOrCreateKeyedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("late", StringSerializer.INSTANCE));
        assertThat(submitted.get(0)).as("the batch offered before the state was created").isDone();
        runBatch();

        // The model keeps one map of values; the write comes first, so it answers for "late".
        startBatch();
        request(late, StateRequestType.VALUE_UPDATE, "late", 7);
        request(late, StateRequestType.VALUE_GET, null, 7);
        runBatch();
    }

    /**
     * Creating a state waits for the executor thread to be idle, so on that thread it would wait
     * for itself forever: it is refused there with an exception instead (Flink runs state-future
     * callbacks in the task's mailbox, so only a misbehaving caller gets there; this harness runs
     * them on the thread that completes the future).
     */
    @Test
    void creatingAStateOnTheExecutorThreadIsRefused() throws Exception {
        open(false);
        startBatch();
        request(value, StateRequestType.VALUE_UPDATE, "v", 1);
        request(value, StateRequestType.VALUE_GET, null, 1);
        CompletableFuture<Throwable> created = new CompletableFuture<>();
        expected.get(1)
                .f0
                .thenAccept(
                        v -> {
                            try {
                                backend.getOrCreateKeyedState(
                                        VoidNamespace.INSTANCE,
                                        VoidNamespaceSerializer.INSTANCE,
                                        new ValueStateDescriptor<>(
                                                "callback", StringSerializer.INSTANCE));
                                created.complete(null);
                            } catch (Throwable t) {
                                created.complete(t);
                            }
                        });
        submitBatch();
        // Without the check this times out: the executor thread waits for itself.
        assertThat(created.get(1, TimeUnit.MINUTES))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("its own thread");
        runBatch();
    }

    private void read(Random random, int k) {
        switch (random.nextInt(4)) {
            case 0:
                request(value, StateRequestType.VALUE_GET, null, k);
                break;
            case 1:
                request(list, StateRequestType.LIST_GET, null, k);
                break;
            case 2:
                request(map, StateRequestType.MAP_GET, random.nextInt(40), k);
                break;
            default:
                request(map, StateRequestType.MAP_CONTAINS, random.nextInt(40), k);
        }
    }

    private void write(Random random, int k) {
        int choice = random.nextInt(100);
        if (choice < 40) {
            request(value, StateRequestType.VALUE_UPDATE, valueOfSize(random), k);
        } else if (choice < 45) {
            request(value, StateRequestType.VALUE_UPDATE, null, k);
        } else if (choice < 50) {
            request(value, StateRequestType.CLEAR, null, k);
        } else if (choice < 85) {
            String v = random.nextInt(20) == 0 ? null : "m" + random.nextInt(1000);
            request(map, StateRequestType.MAP_PUT, Tuple2.of(random.nextInt(40), v), k);
        } else {
            request(map, StateRequestType.MAP_REMOVE, random.nextInt(40), k);
        }
    }

    /** Requests that are neither point reads nor point writes, between the runs. */
    private void other(Random random, int k) {
        switch (random.nextInt(6)) {
            case 0:
                request(list, StateRequestType.LIST_ADD, random.nextInt(), k);
                break;
            case 1:
                request(map, StateRequestType.MAP_IS_EMPTY, null, k);
                break;
            case 2:
                request(map, StateRequestType.MAP_ITER_KEY, null, k);
                break;
            case 3:
                if (random.nextInt(4) == 0) {
                    request(random.nextBoolean() ? map : list, StateRequestType.CLEAR, null, k);
                } else {
                    request(value, StateRequestType.VALUE_GET, null, k);
                }
                break;
            case 4:
                request(value, StateRequestType.VALUE_UPDATE, "o" + random.nextInt(), k);
                break;
            default:
                request(map, StateRequestType.MAP_GET, random.nextInt(40), k);
        }
    }

    /** Mostly short values; now and then one beyond the hot tier's limit or the answer buffer. */
    private static String valueOfSize(Random random) {
        int r = random.nextInt(2_000);
        int size = r == 0 ? 3 << 20 : r < 10 ? 40_000 + random.nextInt(100_000) : 1 + r % 60;
        return repeat((char) ('a' + random.nextInt(26)), size);
    }

    private static String repeat(char c, int size) {
        StringBuilder b = new StringBuilder(size);
        for (int i = 0; i < size; i++) {
            b.append(c);
        }
        return b.toString();
    }

    private void startBatch() {
        batch = executor.createRequestContainer();
        expected.clear();
        submitted.clear();
    }

    /** Offers the batch built so far and starts the next, without waiting for it. */
    private void submitBatch() {
        submitted.add(executor.executeBatchRequests(batch));
        batch = executor.createRequestContainer();
    }

    private void runBatch() throws Exception {
        submitBatch();
        for (CompletableFuture<Void> done : submitted) {
            done.get();
        }
        assertThat(failures).isEmpty();
        for (int i = 0; i < expected.size(); i++) {
            Tuple2<InternalAsyncFuture<Object>, Object> e = expected.get(i);
            assertThat(e.f0.isDone()).as("request %s answered", i).isTrue();
            Object got = e.f0.get();
            if (got instanceof CompleteStateIterator) {
                List<Object> elements = new ArrayList<>();
                ((CompleteStateIterator<?>) got).getCurrentCache().forEach(elements::add);
                got = e.f1 instanceof HashSet ? new HashSet<>(elements) : elements;
            }
            assertThat(got).as("answer of request %s", i).isEqualTo(e.f1);
        }
    }

    /** Offers a request and records what sequential execution answers, updating the model. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private void request(State state, StateRequestType type, Object payload, int key) {
        RecordContext<Integer> context =
                new RecordContext<>(
                        key,
                        key,
                        c -> {},
                        KeyGroupRangeAssignment.assignToKeyGroup(key, MAX_PARALLELISM),
                        new EpochManager.Epoch(0),
                        0);
        context.setNamespace((InternalPartitionedState) state, VoidNamespace.INSTANCE);
        AsyncFutureImpl<Object> future =
                new AsyncFutureImpl<>(
                        task -> {
                            try {
                                task.run();
                            } catch (Exception e) {
                                throw new AssertionError(e);
                            }
                        },
                        // Runs on the executor thread: record, never throw there.
                        (message, t) -> failures.add(new AssertionError(message, t)));
        batch.offer(new StateRequest(state, type, false, payload, future, context));
        expected.add(Tuple2.of(future, answer(state, type, payload, key)));
    }

    private Object answer(State state, StateRequestType type, Object payload, int key) {
        TreeMap<Integer, String> m = maps.get(key);
        List<Integer> l = lists.get(key);
        switch (type) {
            case VALUE_GET:
                return values.get(key);
            case VALUE_UPDATE:
                if (payload == null) {
                    values.remove(key);
                } else {
                    values.put(key, (String) payload);
                }
                return null;
            case CLEAR:
                if (state == value) {
                    values.remove(key);
                } else if (state == list) {
                    lists.remove(key);
                } else {
                    maps.remove(key);
                }
                return null;
            case LIST_GET:
                return l == null ? Collections.emptyList() : new ArrayList<>(l);
            case LIST_ADD:
                lists.computeIfAbsent(key, x -> new ArrayList<>()).add((Integer) payload);
                return null;
            case MAP_GET:
                return m == null ? null : m.get(payload);
            case MAP_CONTAINS:
                return m != null && m.containsKey(payload);
            case MAP_PUT:
                Tuple2<?, ?> entry = (Tuple2<?, ?>) payload;
                maps.computeIfAbsent(key, x -> new TreeMap<>())
                        .put((Integer) entry.f0, (String) entry.f1);
                return null;
            case MAP_REMOVE:
                if (m != null) {
                    m.remove(payload);
                }
                return null;
            case MAP_IS_EMPTY:
                return m == null || m.isEmpty();
            case MAP_ITER_KEY:
                return m == null ? new HashSet<>() : new HashSet<>(m.keySet());
            default:
                throw new IllegalArgumentException(Objects.toString(type));
        }
    }

    /** The test offers its requests to the executor itself; nothing goes through a handler. */
    private static final class RequestsFromTheTestOnly implements StateRequestHandler {
        @Override
        public <IN, OUT> InternalAsyncFuture<OUT> handleRequest(
                State state, StateRequestType type, IN payload) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <IN, OUT> OUT handleRequestSync(State state, StateRequestType type, IN payload) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <N> void setCurrentNamespaceForState(
                InternalPartitionedState<N> state, N namespace) {
            throw new UnsupportedOperationException();
        }
    }
}
