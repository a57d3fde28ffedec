package io.ferrostate.flink.async;

import io.ferrostate.flink.nativ.DirectInputView;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.PointAccess;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.asyncprocessing.AsyncRequestContainer;
import org.apache.flink.runtime.asyncprocessing.RecordContext;
import org.apache.flink.runtime.asyncprocessing.StateExecutor;
import org.apache.flink.runtime.asyncprocessing.StateRequest;
import org.apache.flink.runtime.asyncprocessing.StateRequestType;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.internal.InternalKvState;
import org.apache.flink.runtime.state.internal.InternalListState;
import org.apache.flink.runtime.state.internal.InternalMapState;
import org.apache.flink.runtime.state.internal.InternalValueState;
import org.apache.flink.runtime.state.v2.adaptor.CompleteStateIterator;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Executes the state requests of a {@link FerroAsyncKeyedStateBackend} on one thread of its own,
 * the only thread that touches the backend's store while requests are in flight. A batch (what
 * Flink's async execution controller collected) runs in one task on that thread; each request is
 * answered from the store under the key and namespace it carries (hot-tier hits without a RocksDB
 * read). Reads of lists and maps are answered with the whole collection. While no batch is in
 * flight, the task thread that offers a batch executes as much of it as memory answers itself
 * ({@link #run}); Flink completes state futures through the task's mailbox whichever thread
 * completes them, so callbacks run as they would after the executor thread.
 */
@Internal
public final class FerroStateExecutor implements StateExecutor {

    private static final Logger LOG = LoggerFactory.getLogger(FerroStateExecutor.class);

    /** Batches queued or running beyond which Flink's controller is asked to wait. */
    private static final int MAX_QUEUED_BATCHES = 4;

    /** Requests executed by every executor of this class loader (tests read it). */
    private static final AtomicLong EXECUTED = new AtomicLong();

    private static final AtomicLong BATCHED = new AtomicLong();
    private static final AtomicLong BATCH_CALLS = new AtomicLong();
    private static final AtomicLong INLINE = new AtomicLong();

    private final FerroAsyncKeyedStateBackend<?> backend;
    private final ExecutorService thread;

    /** The thread {@link #thread} runs on (the latest, should it ever be replaced). */
    private volatile Thread executorThread;

    private final AtomicInteger queuedBatches = new AtomicInteger();
    private final PointBatches points;
    private final boolean inline;
    private volatile Throwable failure;

    /**
     * @param inline whether the task thread executes what it can of a batch itself while the
     *     executor thread is idle (see {@link #run})
     */
    FerroStateExecutor(FerroAsyncKeyedStateBackend<?> backend, boolean inline) {
        this.backend = backend;
        this.inline = inline;
        ThreadFactory threads = new ExecutorThreadFactory("ferrostate-state-executor");
        this.thread =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = threads.newThread(r);
                            executorThread = t;
                            return t;
                        });
        this.points = new PointBatches();
    }

    @Override
    public CompletableFuture<Void> executeBatchRequests(
            AsyncRequestContainer<StateRequest<?, ?, ?, ?>> container) {
        checkNotFailed();
        Batch batch = new Batch(((Requests) container).drain(), backend);
        if (inline && queuedBatches.get() == 0) {
            // Nothing in flight: the store is the task thread's until it hands work over.
            Throwable inlineFailure = run(batch, true);
            if (inlineFailure != null) {
                failure = inlineFailure;
            }
            if (batch.isDone()) {
                return inlineFailure == null
                        ? CompletableFuture.completedFuture(null)
                        : CompletableFuture.failedFuture(inlineFailure);
            }
            // Even after a failure: every request gets its answer or its error.
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        queuedBatches.incrementAndGet();
        thread.execute(
                () -> {
                    Throwable batchFailure = run(batch, false);
                    queuedBatches.decrementAndGet();
                    if (batchFailure == null) {
                        done.complete(null);
                    } else {
                        failure = batchFailure;
                        done.completeExceptionally(batchFailure);
                    }
                });
        return done;
    }

    /**
     * Executes a batch from where it stopped, in its order: each maximal run of point reads (value,
     * list and map entry gets) goes to the store as one multi-get, each run of two or more point
     * writes (value updates, value clears, map entry puts and removes) as one multi-put; other
     * requests run one by one. Runs never reorder requests, so the batch sees exactly what running
     * it one by one would. Returns the first failure, or null.
     *
     * <p>On the task thread ({@code onTaskThread}, the executor thread idle) it executes only what
     * needs no RocksDB read: point reads the hot tier answers, point writes, list writes (appends
     * never read) and any request on a state the hot tier holds whole ({@link #fromMemory}). It
     * stops at the first request that may have to read RocksDB: a map iterated or checked for
     * emptiness, or a list or map cleared, while the hot tier does not hold the whole state; or a
     * run of reads some of which the hot tier could not answer. Those reads are kept in {@link
     * Batch#misses} (the run's hits are answered here: reads only, so no request sees another's
     * effect out of order) and the executor thread, which runs the rest, reads them from RocksDB
     * without asking the hot tier again. This spares the two thread hand-overs per batch that
     * dominate when batches are small (a job whose records share few keys sends batches of one
     * request) and state is in memory.
     */
    private Throwable run(Batch batch, boolean onTaskThread) {
        List<StateRequest<?, ?, ?, ?>> requests = batch.requests;
        Access[] accesses = batch.accesses;
        int n = requests.size();
        Throwable batchFailure = null;
        if (!batch.misses.isEmpty()) {
            batchFailure = points.readThrough(batch.misses);
            batch.misses.clear();
        }
        int start = batch.next;
        int i = start;
        while (i < n) {
            Access access = accesses[i];
            int end = i + 1;
            while (access != Access.OTHER && end < n && accesses[end] == access) {
                end++;
            }
            Throwable t;
            if (access == Access.OTHER) {
                if (onTaskThread && !fromMemory(batch, i)) {
                    break;
                }
                t = executeOne(requests.get(i), batch.states[i]);
            } else if (access == Access.READ && onTaskThread) {
                t = points.read(requests.subList(i, end), batch.states(i, end), batch);
            } else if (end - i < 2) {
                t = executeOne(requests.get(i), batch.states[i]);
            } else if (access == Access.READ) {
                t = points.read(requests.subList(i, end), batch.states(i, end), null);
            } else {
                t = points.write(requests.subList(i, end), batch.states(i, end));
            }
            if (t != null && batchFailure == null) {
                batchFailure = t;
            }
            i = end;
            if (!batch.misses.isEmpty()) {
                break;
            }
        }
        batch.next = i;
        if (onTaskThread) {
            INLINE.addAndGet(i - start - batch.misses.size());
        }
        return batchFailure;
    }

    /**
     * Whether the task thread may execute a request that is neither a point read nor a point write
     * without reading RocksDB: a list write (lists are appended to or replaced without reading
     * them), or any request on a state of ours the hot tier holds whole (a map is then iterated
     * from memory). The second is asked of the store once per state and batch; it is a hint about
     * where the answer comes from, not about what it is (the request runs the same code on either
     * thread), so a write of the same batch that makes the hot tier evict does not make it wrong.
     */
    private boolean fromMemory(Batch batch, int i) {
        InternalKvState<?, ?, ?> state = batch.states[i];
        if (!(state instanceof PointAccess)) {
            return false;
        }
        switch (batch.requests.get(i).getRequestType()) {
            case LIST_ADD:
            case LIST_ADD_ALL:
            case LIST_UPDATE:
                return true;
            default:
        }
        if (batch.inMemory == null) {
            batch.inMemory = new IdentityHashMap<>(4);
        }
        return batch.inMemory.computeIfAbsent(
                state, s -> ((PointAccess) s).store().isInMemory(((PointAccess) s).stateId()));
    }

    /** State requests executed so far by ferrostate's executors in this class loader. */
    @VisibleForTesting
    public static long executedRequests() {
        return EXECUTED.get();
    }

    /**
     * State requests executed so far in batched native calls (a multi-get or multi-put of two or
     * more requests) by ferrostate's executors in this class loader.
     */
    @VisibleForTesting
    public static long batchedRequests() {
        return BATCHED.get();
    }

    /**
     * State requests executed so far on the task thread that issued them (the executor thread idle,
     * the state in the hot tier) by the executors of this class loader.
     */
    @VisibleForTesting
    public static long inlineRequests() {
        return INLINE.get();
    }

    /** Native multi-get and multi-put calls made so far by the executors of this class loader. */
    @VisibleForTesting
    public static long batchCalls() {
        return BATCH_CALLS.get();
    }

    @Override
    public AsyncRequestContainer<StateRequest<?, ?, ?, ?>> createRequestContainer() {
        return new Requests();
    }

    /** Runs one request on the executor thread and waits for it (Flink's synchronous API). */
    @Override
    public void executeRequestSync(StateRequest<?, ?, ?, ?> request) {
        checkNotFailed();
        InternalKvState<?, ?, ?> state = backend.rawState(request.getState());
        Throwable t;
        try {
            // Nothing in flight: no other thread touches the store, run it here.
            t =
                    inline && queuedBatches.get() == 0
                            ? executeOne(request, state)
                            : thread.submit(() -> executeOne(request, state)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlinkRuntimeException("Interrupted while waiting for a state request", e);
        } catch (ExecutionException e) {
            t = e.getCause();
        }
        if (t != null) {
            ExceptionUtils.rethrow(t);
        }
    }

    /**
     * Waits until every batch offered so far has run, so that the calling (task) thread may touch
     * the store: the executor thread then holds nothing of it until the next batch is offered.
     * Called on the executor thread itself it would wait for itself forever: it refuses instead.
     */
    void awaitIdle() {
        if (Thread.currentThread() == executorThread) {
            throw new IllegalStateException(
                    "ferrostate's state executor cannot wait for its own thread to be idle");
        }
        if (queuedBatches.get() == 0) {
            return;
        }
        try {
            // One thread, in order: the no-op runs after every batch queued before it.
            thread.submit(() -> {}).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlinkRuntimeException("Interrupted while waiting for state requests", e);
        } catch (ExecutionException e) {
            throw new FlinkRuntimeException("ferrostate's state executor failed", e.getCause());
        }
    }

    @Override
    public boolean fullyLoaded() {
        return queuedBatches.get() >= MAX_QUEUED_BATCHES;
    }

    @Override
    public void shutdown() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(1, TimeUnit.MINUTES)) {
                LOG.warn("ferrostate's state executor did not finish its requests in a minute");
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
    }

    private void checkNotFailed() {
        if (failure != null) {
            throw new FlinkRuntimeException("ferrostate's state executor failed before", failure);
        }
    }

    /** Executes a request and completes its future; returns what failed it, or null. */
    private Throwable executeOne(StateRequest<?, ?, ?, ?> request, InternalKvState<?, ?, ?> state) {
        try {
            Object result = execute(request, state);
            EXECUTED.incrementAndGet();
            complete(request, result);
            return null;
        } catch (Throwable t) {
            return fail(request, t);
        }
    }

    /** Fails a request's future with {@code t} and returns {@code t}. */
    private static Throwable fail(StateRequest<?, ?, ?, ?> request, Throwable t) {
        request.getFuture()
                .completeExceptionally(
                        "ferrostate failed a " + request.getRequestType() + " request", t);
        return t;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void complete(StateRequest<?, ?, ?, ?> request, Object result) {
        ((StateRequest) request).getFuture().complete(result);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Object execute(StateRequest<?, ?, ?, ?> request, InternalKvState<?, ?, ?> raw)
            throws Exception {
        InternalKvState state = prepare(request, raw);
        Object payload = request.getPayload();
        switch (request.getRequestType()) {
            case CLEAR:
                state.clear();
                return null;
            case VALUE_GET:
            case REDUCING_GET:
            case AGGREGATING_GET:
                return ((InternalValueState) state).value();
            case VALUE_UPDATE:
            case REDUCING_ADD:
            case AGGREGATING_ADD:
                ((InternalValueState) state).update(payload);
                return null;
            case LIST_GET:
                return new CompleteStateIterator<>((Iterable) ((InternalListState) state).get());
            case LIST_ADD:
                ((InternalListState) state).add(payload);
                return null;
            case LIST_UPDATE:
                ((InternalListState) state).update((List) payload);
                return null;
            case LIST_ADD_ALL:
                ((InternalListState) state).addAll((List) payload);
                return null;
            case MAP_GET:
                return ((InternalMapState) state).get(payload);
            case MAP_CONTAINS:
                return ((InternalMapState) state).contains(payload);
            case MAP_PUT:
                Tuple2 entry = (Tuple2) payload;
                ((InternalMapState) state).put(entry.f0, entry.f1);
                return null;
            case MAP_PUT_ALL:
                ((InternalMapState) state).putAll((Map) payload);
                return null;
            case MAP_REMOVE:
                ((InternalMapState) state).remove(payload);
                return null;
            case MAP_IS_EMPTY:
                return ((InternalMapState) state).isEmpty();
            case MAP_ITER:
                List<Map.Entry> entries = new ArrayList<>();
                for (Object o : ((InternalMapState) state).entries()) {
                    Map.Entry e = (Map.Entry) o;
                    entries.add(new AbstractMap.SimpleImmutableEntry(e.getKey(), e.getValue()));
                }
                return new CompleteStateIterator<>(entries);
            case MAP_ITER_KEY:
                List keys = new ArrayList();
                for (Object k : ((InternalMapState) state).keys()) {
                    keys.add(k);
                }
                return new CompleteStateIterator<>(keys);
            case MAP_ITER_VALUE:
                List values = new ArrayList();
                for (Object v : ((InternalMapState) state).values()) {
                    values.add(v);
                }
                return new CompleteStateIterator<>(values);
            default:
                throw new UnsupportedOperationException(
                        "ferrostate does not execute " + request.getRequestType() + " requests");
        }
    }

    /**
     * Sets the backend's current key and {@code state}'s namespace to the request's and returns
     * {@code state}: the raw state the request works on, looked up when the request was offered
     * (null if this backend did not create the request's state).
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private InternalKvState prepare(StateRequest<?, ?, ?, ?> request, InternalKvState state) {
        if (state == null) {
            throw new IllegalStateException(
                    "State " + request.getState() + " was not created by this backend");
        }
        RecordContext context = request.getRecordContext();
        AbstractKeyedStateBackend sync = backend.sync();
        sync.setCurrentKeyAndKeyGroup(context.getKey(), context.getKeyGroup());
        state.setCurrentNamespace(request.getNamespace());
        return state;
    }

    /** How a request reaches the store: in a multi-get, in a multi-put, or alone. */
    private enum Access {
        READ,
        WRITE,
        OTHER;

        static Access of(StateRequest<?, ?, ?, ?> request, InternalKvState<?, ?, ?> state) {
            if (!(state instanceof PointAccess)) {
                return OTHER;
            }
            switch (request.getRequestType()) {
                case VALUE_GET:
                case REDUCING_GET:
                case AGGREGATING_GET:
                case LIST_GET:
                case MAP_GET:
                case MAP_CONTAINS:
                    return READ;
                case VALUE_UPDATE:
                case REDUCING_ADD:
                case AGGREGATING_ADD:
                case MAP_PUT:
                case MAP_REMOVE:
                    return WRITE;
                case CLEAR:
                    // Clearing a value is a point write; clearing a list or map is not.
                    return state instanceof InternalValueState ? WRITE : OTHER;
                default:
                    return OTHER;
            }
        }
    }

    /**
     * The buffers of batched point accesses and the code that fills and reads them (see {@link
     * NativeStore#getMany} and {@link NativeStore#putMany}). Executor thread only.
     */
    private final class PointBatches {
        private final DirectOutputView requests = new DirectOutputView(16 << 10, 1 << 20, v -> {});
        private final DirectOutputView misses = new DirectOutputView(16 << 10, 1 << 20, v -> {});
        private final DirectOutputView writes = new DirectOutputView(64 << 10, 4 << 20, v -> {});
        private ByteBuffer answers = allocateAnswers(ANSWERS);
        private final DirectInputView in = new DirectInputView();

        /**
         * Answers a run of point reads: first what the hot tier holds (those futures complete while
         * RocksDB still reads the rest), then the misses in one more call; with {@code spill}, the
         * requests the hot tier cannot answer are added to it (in their order) instead of being
         * read from RocksDB.
         */
        Throwable read(
                List<StateRequest<?, ?, ?, ?>> run,
                List<InternalKvState<?, ?, ?>> runStates,
                Batch spill) {
            return read(run, runStates, true, spill);
        }

        /**
         * Answers point reads the hot tier is known not to hold, in one pass through both tiers.
         */
        Throwable readThrough(List<Miss> misses) {
            List<StateRequest<?, ?, ?, ?>> run = new ArrayList<>(misses.size());
            List<InternalKvState<?, ?, ?>> runStates = new ArrayList<>(misses.size());
            for (Miss miss : misses) {
                run.add(miss.request());
                runStates.add(miss.state());
            }
            return read(run, runStates, false, null);
        }

        /** With {@code spill}, the misses go to its {@link Batch#misses}. */
        private Throwable read(
                List<StateRequest<?, ?, ?, ?>> run,
                List<InternalKvState<?, ?, ?>> runStates,
                boolean hotFirst,
                Batch spill) {
            int n = run.size();
            int[] ends = new int[n];
            PointAccess[] states = new PointAccess[n];
            NativeStore store;
            try {
                requests.clear();
                for (int k = 0; k < n; k++) {
                    StateRequest<?, ?, ?, ?> request = run.get(k);
                    PointAccess state = (PointAccess) prepare(request, runStates.get(k));
                    Object userKey =
                            request.getRequestType() == StateRequestType.MAP_GET
                                            || request.getRequestType()
                                                    == StateRequestType.MAP_CONTAINS
                                    ? request.getPayload()
                                    : null;
                    int keyLength = state.buildPointKey(userKey);
                    requests.writeInt(state.stateId());
                    requests.writeInt(keyLength);
                    requests.write(state.store().keyView().buffer(), 0, keyLength);
                    ends[k] = requests.position();
                    states[k] = state;
                }
                store = states[0].store();
            } catch (Throwable t) {
                return failAll(run, 0, t);
            }
            int[] all = new int[n];
            for (int k = 0; k < n; k++) {
                all[k] = k;
            }
            if (!hotFirst) {
                return answer(store, run, states, ends, requests, all, n, false, null);
            }
            IntList notHot = new IntList(n);
            Throwable failure = answer(store, run, states, ends, requests, all, n, true, notHot);
            if (spill != null) {
                for (int m = 0; m < notHot.size; m++) {
                    int k = notHot.items[m];
                    spill.misses.add(new Miss(run.get(k), runStates.get(k)));
                }
                notHot.size = 0;
            }
            // Even after a failure: every request not answered yet gets its answer or its error.
            if (notHot.size > 0) {
                misses.clear();
                for (int m = 0; m < notHot.size; m++) {
                    int k = notHot.items[m];
                    int start = k == 0 ? 0 : ends[k - 1];
                    misses.write(requests.buffer(), start, ends[k] - start);
                }
                Throwable missed =
                        answer(
                                store,
                                run,
                                states,
                                ends,
                                misses,
                                notHot.items,
                                notHot.size,
                                false,
                                null);
                failure = failure == null ? missed : failure;
            }
            if (answers.capacity() > RETAINED_ANSWERS) {
                // One large value grew it: keep the direct memory held between runs small.
                answers = allocateAnswers(0);
            }
            return failure;
        }

        /**
         * Sends the requests {@code picked[0..count)} of {@code run}, laid out in that order in
         * {@code batch}, and completes their futures from the answers; with {@code hotOnly}, the
         * ones the hot tier could not answer are added to {@code notHot} instead.
         */
        private Throwable answer(
                NativeStore store,
                List<StateRequest<?, ?, ?, ?>> run,
                PointAccess[] states,
                int[] ends,
                DirectOutputView batch,
                int[] picked,
                int count,
                boolean hotOnly,
                IntList notHot) {
            Throwable failure = null;
            int offset = 0;
            int p = 0;
            while (p < count) {
                int answered;
                try {
                    answered =
                            store.getMany(
                                    batch.buffer(),
                                    offset,
                                    batch.position() - offset,
                                    count - p,
                                    answers,
                                    hotOnly);
                    BATCH_CALLS.incrementAndGet();
                } catch (Throwable t) {
                    return failAll(run, picked, p, count, t);
                }
                if (answered < 0) {
                    int need = -answered;
                    int k = picked[p];
                    if (need <= NativeStore.MAX_DIRECT_VALUE) {
                        answers = allocateAnswers(need);
                        continue;
                    }
                    // Larger than any direct buffer we keep: the one-by-one path reads it.
                    Throwable t = executeOne(run.get(k), (InternalKvState<?, ?, ?>) states[k]);
                    failure = failure == null ? t : failure;
                    offset += requestLength(ends, k);
                    p++;
                    continue;
                }
                int at = 0;
                int completed = 0;
                for (int a = 0; a < answered; a++, p++) {
                    int k = picked[p];
                    offset += requestLength(ends, k);
                    int length = answers.getInt(at);
                    at += 4;
                    if (length == NativeStore.ANSWER_NOT_HOT) {
                        notHot.add(k);
                        continue;
                    }
                    Throwable t = completeRead(run.get(k), states[k], length, at);
                    failure = failure == null ? t : failure;
                    at += Math.max(length, 0);
                    completed++;
                }
                // A hot-tier miss counts once, when its second call answers it.
                BATCHED.addAndGet(completed);
            }
            return failure;
        }

        /** Completes a read whose answer starts at {@code at} of the answer buffer. */
        private Throwable completeRead(
                StateRequest<?, ?, ?, ?> request, PointAccess state, int length, int at) {
            try {
                boolean found = length >= 0;
                Object result;
                switch (request.getRequestType()) {
                    case MAP_CONTAINS:
                        result = found;
                        break;
                    case LIST_GET:
                        result =
                                new CompleteStateIterator<>(
                                        found
                                                ? (Iterable<?>)
                                                        state.decodePoint(
                                                                in.reset(answers, at, length),
                                                                length)
                                                : null);
                        break;
                    default:
                        result =
                                found
                                        ? state.decodePoint(in.reset(answers, at, length), length)
                                        : null;
                }
                EXECUTED.incrementAndGet();
                complete(request, result);
                return null;
            } catch (Throwable t) {
                return fail(request, t);
            }
        }

        /** Applies a run of point writes in one call and completes their futures. */
        @SuppressWarnings({"rawtypes"})
        Throwable write(
                List<StateRequest<?, ?, ?, ?>> run, List<InternalKvState<?, ?, ?>> runStates) {
            NativeStore store = null;
            try {
                writes.clear();
                for (int k = 0; k < run.size(); k++) {
                    StateRequest<?, ?, ?, ?> request = run.get(k);
                    PointAccess state = (PointAccess) prepare(request, runStates.get(k));
                    store = state.store();
                    Object payload = request.getPayload();
                    Object userKey = null;
                    Object value = payload;
                    boolean entry = false;
                    switch (request.getRequestType()) {
                        case MAP_PUT:
                            userKey = ((Tuple2) payload).f0;
                            value = ((Tuple2) payload).f1;
                            entry = true;
                            break;
                        case MAP_REMOVE:
                            userKey = payload;
                            value = null;
                            entry = true;
                            break;
                        case CLEAR:
                            value = null;
                            break;
                        default:
                    }
                    boolean delete =
                            request.getRequestType() == StateRequestType.MAP_REMOVE
                                    || (!entry && value == null);
                    int keyLength = state.buildPointKey(userKey);
                    byte op =
                            entry
                                    ? (delete
                                            ? NativeStore.WRITE_DELETE_ENTRY
                                            : NativeStore.WRITE_PUT_ENTRY)
                                    : (delete ? NativeStore.WRITE_DELETE : NativeStore.WRITE_PUT);
                    writes.writeByte(op);
                    writes.writeInt(state.stateId());
                    writes.writeInt(state.pointPrefixLength());
                    writes.writeInt(keyLength);
                    writes.write(state.store().keyView().buffer(), 0, keyLength);
                    if (!delete) {
                        int lengthAt = writes.position();
                        writes.writeInt(0);
                        state.encodePoint(value, writes);
                        writes.buffer().putInt(lengthAt, writes.position() - lengthAt - 4);
                    }
                    if (writes.position() >= FLUSH_WRITES) {
                        // Large values: apply what is there (in order) rather than hold it all
                        // in direct memory, which Flink keeps small.
                        store.putMany(writes.buffer(), writes.position());
                        BATCH_CALLS.incrementAndGet();
                        writes.clear();
                    }
                }
                if (writes.position() > 0) {
                    store.putMany(writes.buffer(), writes.position());
                    BATCH_CALLS.incrementAndGet();
                }
            } catch (Throwable t) {
                return failAll(run, 0, t);
            }
            for (StateRequest<?, ?, ?, ?> request : run) {
                EXECUTED.incrementAndGet();
                complete(request, null);
            }
            BATCHED.addAndGet(run.size());
            return null;
        }

        private int requestLength(int[] ends, int k) {
            return ends[k] - (k == 0 ? 0 : ends[k - 1]);
        }

        private Throwable failAll(List<StateRequest<?, ?, ?, ?>> run, int from, Throwable t) {
            for (int k = from; k < run.size(); k++) {
                fail(run.get(k), t);
            }
            return t;
        }

        private Throwable failAll(
                List<StateRequest<?, ?, ?, ?>> run,
                int[] picked,
                int from,
                int count,
                Throwable t) {
            for (int p = from; p < count; p++) {
                fail(run.get(picked[p]), t);
            }
            return t;
        }
    }

    /** Bytes of point writes beyond which a run is applied in more than one native call. */
    private static final int FLUSH_WRITES = 1 << 20;

    /** Capacity of the answer buffer; grown for one large value, it shrinks back after. */
    private static final int ANSWERS = 64 << 10;

    private static final int RETAINED_ANSWERS = 1 << 20;

    private static ByteBuffer allocateAnswers(int capacity) {
        return ByteBuffer.allocateDirect(Math.max(capacity, ANSWERS)).order(ByteOrder.BIG_ENDIAN);
    }

    /** A growable list of ints, without boxing. */
    private static final class IntList {
        int[] items;
        int size;

        IntList(int capacity) {
            items = new int[Math.max(capacity, 1)];
        }

        void add(int v) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            items[size++] = v;
        }
    }

    /** A point read the hot tier could not answer, with its raw state (see {@link Batch}). */
    private record Miss(StateRequest<?, ?, ?, ?> request, InternalKvState<?, ?, ?> state) {}

    /** A batch's requests, how each reaches the store, and how far the batch has run. */
    private static final class Batch {
        final List<StateRequest<?, ?, ?, ?>> requests;

        /** The raw state of each request (null if not ours), found once (on the task thread). */
        final InternalKvState<?, ?, ?>[] states;

        /** How each request reaches the store, found once (on the task thread). */
        final Access[] accesses;

        /** The first request not executed yet. */
        int next;

        /** Reads before {@link #next} the hot tier could not answer, in their order. */
        final List<Miss> misses = new ArrayList<>(0);

        /**
         * Whether the hot tier holds a state whole, as asked during this batch; null until asked.
         */
        Map<InternalKvState<?, ?, ?>, Boolean> inMemory;

        Batch(List<StateRequest<?, ?, ?, ?>> requests, FerroAsyncKeyedStateBackend<?> backend) {
            this.requests = requests;
            this.states = new InternalKvState<?, ?, ?>[requests.size()];
            this.accesses = new Access[requests.size()];
            for (int k = 0; k < accesses.length; k++) {
                StateRequest<?, ?, ?, ?> request = requests.get(k);
                states[k] = backend.rawState(request.getState());
                accesses[k] = Access.of(request, states[k]);
            }
        }

        /** The raw states of requests {@code from} (inclusive) to {@code to} (exclusive). */
        List<InternalKvState<?, ?, ?>> states(int from, int to) {
            return Arrays.asList(states).subList(from, to);
        }

        boolean isDone() {
            return next == requests.size() && misses.isEmpty();
        }
    }

    /** The requests of one batch, in the order the controller offered them. */
    private static final class Requests implements AsyncRequestContainer<StateRequest<?, ?, ?, ?>> {
        private List<StateRequest<?, ?, ?, ?>> requests = new ArrayList<>();

        @Override
        public void offer(StateRequest<?, ?, ?, ?> request) {
            requests.add(request);
        }

        @Override
        public boolean isEmpty() {
            return requests.isEmpty();
        }

        List<StateRequest<?, ?, ?, ?>> drain() {
            List<StateRequest<?, ?, ?, ?>> out = requests;
            requests = new ArrayList<>();
            return out;
        }
    }
}
