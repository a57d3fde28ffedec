package io.ferrostate.flink.async;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.asyncprocessing.AsyncRequestContainer;
import org.apache.flink.runtime.asyncprocessing.RecordContext;
import org.apache.flink.runtime.asyncprocessing.StateExecutor;
import org.apache.flink.runtime.asyncprocessing.StateRequest;
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

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Executes the state requests of a {@link FerroAsyncKeyedStateBackend} on one thread of its own,
 * the only thread that touches the backend's store while requests are in flight. A batch (what
 * Flink's async execution controller collected) runs in one task on that thread; each request is
 * answered from the store under the key and namespace it carries (hot-tier hits without a RocksDB
 * read). Reads of lists and maps are answered with the whole collection.
 */
@Internal
public final class FerroStateExecutor implements StateExecutor {

    private static final Logger LOG = LoggerFactory.getLogger(FerroStateExecutor.class);

    /** Batches queued or running beyond which Flink's controller is asked to wait. */
    private static final int MAX_QUEUED_BATCHES = 4;

    /** Requests executed by every executor of this class loader (tests read it). */
    private static final AtomicLong EXECUTED = new AtomicLong();

    private final FerroAsyncKeyedStateBackend<?> backend;
    private final ExecutorService thread;
    private final AtomicInteger queuedBatches = new AtomicInteger();
    private volatile Throwable failure;

    FerroStateExecutor(FerroAsyncKeyedStateBackend<?> backend) {
        this.backend = backend;
        this.thread =
                Executors.newSingleThreadExecutor(
                        new ExecutorThreadFactory("ferrostate-state-executor"));
    }

    @Override
    public CompletableFuture<Void> executeBatchRequests(
            AsyncRequestContainer<StateRequest<?, ?, ?, ?>> container) {
        checkNotFailed();
        List<StateRequest<?, ?, ?, ?>> requests = ((Requests) container).drain();
        CompletableFuture<Void> done = new CompletableFuture<>();
        queuedBatches.incrementAndGet();
        thread.execute(
                () -> {
                    Throwable batchFailure = null;
                    for (StateRequest<?, ?, ?, ?> request : requests) {
                        Throwable t = executeOne(request);
                        if (t != null && batchFailure == null) {
                            batchFailure = t;
                        }
                    }
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

    /** State requests executed so far by ferrostate's executors in this class loader. */
    @VisibleForTesting
    public static long executedRequests() {
        return EXECUTED.get();
    }

    @Override
    public AsyncRequestContainer<StateRequest<?, ?, ?, ?>> createRequestContainer() {
        return new Requests();
    }

    /** Runs one request on the executor thread and waits for it (Flink's synchronous API). */
    @Override
    public void executeRequestSync(StateRequest<?, ?, ?, ?> request) {
        checkNotFailed();
        Throwable t;
        try {
            t = thread.submit(() -> executeOne(request)).get();
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
    private Throwable executeOne(StateRequest<?, ?, ?, ?> request) {
        try {
            Object result = execute(request);
            EXECUTED.incrementAndGet();
            complete(request, result);
            return null;
        } catch (Throwable t) {
            request.getFuture()
                    .completeExceptionally(
                            "ferrostate failed a " + request.getRequestType() + " request", t);
            return t;
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void complete(StateRequest<?, ?, ?, ?> request, Object result) {
        ((StateRequest) request).getFuture().complete(result);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Object execute(StateRequest<?, ?, ?, ?> request) throws Exception {
        InternalKvState state = backend.rawState(request.getState());
        if (state == null) {
            throw new IllegalStateException(
                    "State " + request.getState() + " was not created by this backend");
        }
        RecordContext context = request.getRecordContext();
        AbstractKeyedStateBackend sync = backend.sync();
        sync.setCurrentKeyAndKeyGroup(context.getKey(), context.getKeyGroup());
        state.setCurrentNamespace(request.getNamespace());
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
