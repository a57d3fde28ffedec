package io.ferrostate.flink.async;

import io.ferrostate.flink.nativ.PointAccess;
import io.ferrostate.flink.timers.TimerQueueFactory;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.state.v2.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.v2.MapStateDescriptor;
import org.apache.flink.api.common.state.v2.ReducingStateDescriptor;
import org.apache.flink.api.common.state.v2.State;
import org.apache.flink.api.common.state.v2.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.asyncprocessing.StateExecutor;
import org.apache.flink.runtime.asyncprocessing.StateRequestHandler;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.SnapshotType;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.AsyncKeyedStateBackend;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.Keyed;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.PriorityComparable;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.internal.InternalKvState;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.runtime.state.v2.AbstractAggregatingState;
import org.apache.flink.runtime.state.v2.AbstractListState;
import org.apache.flink.runtime.state.v2.AbstractMapState;
import org.apache.flink.runtime.state.v2.AbstractReducingState;
import org.apache.flink.runtime.state.v2.AbstractValueState;
import org.apache.flink.runtime.state.v2.internal.InternalKeyedState;
import org.apache.flink.runtime.state.v2.ttl.TtlStateFactory;
import org.apache.flink.util.Preconditions;

import javax.annotation.Nonnull;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.RunnableFuture;

/**
 * ferrostate's keyed backend for Flink 2's asynchronous state API (State V2). The state objects are
 * Flink's own request-producing V2 states; their requests carry the record's key and namespace and
 * run on ferrostate's state executor thread ({@link FerroStateExecutor}), which answers them from
 * the same native store as the synchronous API: one store per backend, one thread that touches it
 * while requests are in flight (the task thread executes what memory answers while none are).
 * Snapshots, restores, rescaling and timers are the synchronous backend's: Flink drains the
 * in-flight requests before it snapshots.
 *
 * <p>Each V2 state is backed by a raw synchronous state of the same name and serializer (value,
 * reducing and aggregating states as values, lists, maps), so snapshots and savepoints are the same
 * format as the synchronous API's and move between both APIs and backends. TTL is Flink's V2 TTL
 * layer over these states.
 */
@Internal
public final class FerroAsyncKeyedStateBackend<K> implements AsyncKeyedStateBackend<K> {

    private final AbstractKeyedStateBackend<K> sync;
    private final ExecutionConfig executionConfig;
    private final TtlTimeProvider ttlTimeProvider;

    /** The V2 states by name, as handed to operators (TTL wrappers included). */
    private final Map<String, State> statesByName = new HashMap<>();

    /**
     * The raw synchronous state behind each request-producing V2 state. Written on the task thread
     * while no batch is in flight ({@link #createStateInternal} waits for the executor); the
     * executor thread reads it in batches offered after the write, so it sees it whole.
     */
    private final Map<State, InternalKvState<K, ?, ?>> rawStates = new IdentityHashMap<>();

    private StateRequestHandler requestHandler;
    private FerroStateExecutor executor;

    /** Whether the executor lets the task thread run what it can of a batch. */
    private final boolean inlineStateRequests;

    public FerroAsyncKeyedStateBackend(
            AbstractKeyedStateBackend<K> sync,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            boolean inlineStateRequests) {
        this.sync = sync;
        this.inlineStateRequests = inlineStateRequests;
        this.executionConfig = executionConfig;
        this.ttlTimeProvider = ttlTimeProvider;
    }

    @Override
    public void setup(@Nonnull StateRequestHandler stateRequestHandler) {
        this.requestHandler = stateRequestHandler;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <N, S extends State, SV> S getOrCreateKeyedState(
            N defaultNamespace,
            TypeSerializer<N> namespaceSerializer,
            StateDescriptor<SV> stateDesc)
            throws Exception {
        Preconditions.checkNotNull(namespaceSerializer, "Namespace serializer");
        State state = statesByName.get(stateDesc.getStateId());
        if (state == null) {
            if (!stateDesc.isSerializerInitialized()) {
                stateDesc.initializeSerializerUnlessSet(executionConfig);
            }
            state =
                    TtlStateFactory.createStateAndWrapWithTtlIfEnabled(
                            defaultNamespace,
                            namespaceSerializer,
                            stateDesc,
                            this,
                            ttlTimeProvider);
            statesByName.put(stateDesc.getStateId(), state);
        }
        return (S) state;
    }

    @Nonnull
    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public <N, S extends InternalKeyedState, SV> S createStateInternal(
            @Nonnull N defaultNamespace,
            @Nonnull TypeSerializer<N> namespaceSerializer,
            @Nonnull StateDescriptor<SV> stateDesc)
            throws Exception {
        Preconditions.checkState(
                requestHandler != null, "setup(StateRequestHandler) was not called");
        if (!stateDesc.isSerializerInitialized()) {
            stateDesc.initializeSerializerUnlessSet(executionConfig);
        }
        String name = stateDesc.getStateId();
        TypeSerializer<SV> serializer = stateDesc.getSerializer();
        InternalKeyedState state;
        org.apache.flink.api.common.state.StateDescriptor raw;
        switch (stateDesc.getType()) {
            case VALUE:
                state = new AbstractValueState<>(requestHandler, serializer);
                raw =
                        new org.apache.flink.api.common.state.ValueStateDescriptor<>(
                                name, serializer);
                break;
            case REDUCING:
                state =
                        new AbstractReducingState<>(
                                requestHandler,
                                ((ReducingStateDescriptor<SV>) stateDesc).getReduceFunction(),
                                serializer);
                raw =
                        new org.apache.flink.api.common.state.ValueStateDescriptor<>(
                                name, serializer);
                break;
            case AGGREGATING:
                state =
                        new AbstractAggregatingState<>(
                                requestHandler,
                                ((AggregatingStateDescriptor) stateDesc).getAggregateFunction(),
                                serializer);
                raw =
                        new org.apache.flink.api.common.state.ValueStateDescriptor<>(
                                name, serializer);
                break;
            case LIST:
                state = new AbstractListState<>(requestHandler, serializer);
                raw = new org.apache.flink.api.common.state.ListStateDescriptor<>(name, serializer);
                break;
            case MAP:
                MapStateDescriptor<?, SV> map = (MapStateDescriptor<?, SV>) stateDesc;
                state = new AbstractMapState<>(requestHandler, serializer);
                raw =
                        new org.apache.flink.api.common.state.MapStateDescriptor<>(
                                name, map.getUserKeySerializer(), serializer);
                break;
            default:
                throw new UnsupportedOperationException(
                        "ferrostate has no asynchronous state of type " + stateDesc.getType());
        }
        if (executor != null) {
            // Creating a state registers it in the store, which serves one thread at a time: an
            // operator may create state lazily while its earlier requests are still executing.
            executor.awaitIdle();
        }
        InternalKvState<K, ?, ?> rawState =
                (InternalKvState<K, ?, ?>)
                        sync.createOrUpdateInternalState(namespaceSerializer, raw);
        rawStates.put(state, rawState);
        return (S) state;
    }

    /** The raw synchronous state behind a V2 state this backend created; null if none. */
    InternalKvState<K, ?, ?> rawState(State state) {
        return rawStates.get(state);
    }

    AbstractKeyedStateBackend<K> sync() {
        return sync;
    }

    /**
     * Writes the store's hot tier back and empties it, so that the next reads go to RocksDB (tests
     * of the executor's cold reads).
     */
    @VisibleForTesting
    public void dropHotTier() {
        for (InternalKvState<K, ?, ?> state : rawStates.values()) {
            if (state instanceof PointAccess) {
                ((PointAccess) state).store().dropHotTier();
                return;
            }
        }
    }

    @Nonnull
    @Override
    public StateExecutor createStateExecutor() {
        if (executor != null) {
            executor.shutdown();
        }
        executor = new FerroStateExecutor(this, inlineStateRequests);
        return executor;
    }

    @Override
    public KeyGroupRange getKeyGroupRange() {
        return sync.getKeyGroupRange();
    }

    @Override
    public boolean requiresLegacySynchronousTimerSnapshots(SnapshotType checkpointType) {
        return sync.requiresLegacySynchronousTimerSnapshots(checkpointType);
    }

    @Override
    public boolean isSafeToReuseKVState() {
        // Operators on this backend keep heap timers, which hold key objects (see create).
        return false;
    }

    @Override
    public String getBackendTypeIdentifier() {
        return sync.getBackendTypeIdentifier();
    }

    @Nonnull
    @Override
    public RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot(
            long checkpointId,
            long timestamp,
            @Nonnull CheckpointStreamFactory streamFactory,
            @Nonnull CheckpointOptions checkpointOptions)
            throws Exception {
        return sync.snapshot(checkpointId, timestamp, streamFactory, checkpointOptions);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        sync.notifyCheckpointComplete(checkpointId);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) throws Exception {
        sync.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public void notifyCheckpointSubsumed(long checkpointId) throws Exception {
        sync.notifyCheckpointSubsumed(checkpointId);
    }

    @Nonnull
    @Override
    public <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            KeyGroupedInternalPriorityQueue<T> create(
                    @Nonnull String stateName,
                    @Nonnull TypeSerializer<T> byteOrderedElementSerializer) {
        return create(stateName, byteOrderedElementSerializer, false);
    }

    @Override
    public <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            KeyGroupedInternalPriorityQueue<T> create(
                    @Nonnull String stateName,
                    @Nonnull TypeSerializer<T> byteOrderedElementSerializer,
                    boolean allowFutureMetadataUpdates) {
        // Heap timers: the task thread registers and fires timers while the state executor
        // thread works on the store, which serves one thread at a time.
        if (sync instanceof TimerQueueFactory) {
            return ((TimerQueueFactory) sync)
                    .createQueue(
                            stateName,
                            byteOrderedElementSerializer,
                            allowFutureMetadataUpdates,
                            false);
        }
        return sync.create(stateName, byteOrderedElementSerializer, allowFutureMetadataUpdates);
    }

    @Override
    public void dispose() {
        if (executor != null) {
            executor.shutdown();
            executor = null;
        }
        statesByName.clear();
        rawStates.clear();
        sync.dispose();
    }

    @Override
    public void close() throws java.io.IOException {
        sync.close();
    }
}
