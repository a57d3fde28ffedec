package io.ferrostate.flink;

import io.ferrostate.flink.compat.KeyedBackendBase;
import io.ferrostate.flink.compat.StateTracking;
import io.ferrostate.flink.iterator.FerroStateKeysIterator;
import io.ferrostate.flink.meta.ListFormat;
import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.meta.StateKinds;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.ScanBatch;
import io.ferrostate.flink.restore.RestoredQueues;
import io.ferrostate.flink.snapshot.FerroFullSnapshotResources;
import io.ferrostate.flink.snapshot.FerroFullSnapshotStrategy;
import io.ferrostate.flink.snapshot.FerroNativeSnapshotStrategy;
import io.ferrostate.flink.snapshot.SnapshotSource;
import io.ferrostate.flink.timers.FerroTimerQueues;
import io.ferrostate.flink.timers.NativeQueue;
import io.ferrostate.flink.timers.TimerQueueFactory;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.MapSerializer;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.queryablestate.client.state.serialization.KvStateSerializer;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.query.TaskKvStateRegistry;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.HeapPriorityQueuesManager;
import org.apache.flink.runtime.state.InternalKeyContext;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.Keyed;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.LocalRecoveryConfig;
import org.apache.flink.runtime.state.PriorityComparable;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.SavepointResources;
import org.apache.flink.runtime.state.SerializedCompositeKeyBuilder;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.SnapshotStrategy;
import org.apache.flink.runtime.state.SnapshotStrategyRunner;
import org.apache.flink.runtime.state.StateSnapshotTransformer.StateSnapshotTransformFactory;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.IOUtils;
import org.apache.flink.util.StateMigrationException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.annotation.Nonnull;
import javax.annotation.Nullable;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.RunnableFuture;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import static org.apache.flink.runtime.state.SnapshotExecutionType.ASYNCHRONOUS;

/**
 * A keyed state backend whose state lives in ferrostate's native store: a hot tier in front of
 * RocksDB, reached through JNI with the composite key in a shared direct buffer.
 *
 * <p>Keys and values use the byte layout of Flink's RocksDB backend (lists excepted, see {@link
 * ListFormat}), so canonical savepoints move between ferrostate, RocksDB and HashMap backends.
 * Timers live in Flink's heap priority queues and are written with every snapshot.
 */
@Internal
public class FerroKeyedStateBackend<K> extends KeyedBackendBase<K>
        implements SnapshotSource<K>, TimerQueueFactory {

    private static final Logger LOG = LoggerFactory.getLogger(FerroKeyedStateBackend.class);

    /** Creates or updates a state object for a registration. */
    interface StateFactory {
        <K, N, SV, S extends State, IS extends S> IS create(
                StateDescriptor<S, SV> stateDesc,
                StateRegistration<N, SV> registration,
                FerroKeyedStateBackend<K> backend)
                throws Exception;
    }

    interface StateUpdater {
        <K, N, SV, S extends State, IS extends S> IS update(
                StateDescriptor<S, SV> stateDesc,
                StateRegistration<N, SV> registration,
                IS existing)
                throws Exception;
    }

    private static final Map<StateDescriptor.Type, StateFactory> CREATE = new HashMap<>();
    private static final Map<StateDescriptor.Type, StateUpdater> UPDATE = new HashMap<>();

    static {
        CREATE.put(StateDescriptor.Type.VALUE, FerroValueState::create);
        CREATE.put(StateDescriptor.Type.LIST, FerroListState::create);
        CREATE.put(StateDescriptor.Type.MAP, FerroMapState::create);
        CREATE.put(StateDescriptor.Type.REDUCING, FerroReducingState::create);
        CREATE.put(StateDescriptor.Type.AGGREGATING, FerroAggregatingState::create);
        UPDATE.put(StateDescriptor.Type.VALUE, FerroValueState::update);
        UPDATE.put(StateDescriptor.Type.LIST, FerroListState::update);
        UPDATE.put(StateDescriptor.Type.MAP, FerroMapState::update);
        UPDATE.put(StateDescriptor.Type.REDUCING, FerroValueLikeState::update);
        UPDATE.put(StateDescriptor.Type.AGGREGATING, FerroValueLikeState::update);
    }

    /** A state's id in the store and its meta info. */
    static final class StateRegistration<N, SV> {
        final int stateId;
        final RegisteredKeyValueStateBackendMetaInfo<N, SV> metaInfo;

        StateRegistration(int stateId, RegisteredKeyValueStateBackendMetaInfo<N, SV> metaInfo) {
            this.stateId = stateId;
            this.metaInfo = metaInfo;
        }
    }

    private final NativeStore store;
    private final NativeMemory memory;
    private final AutoCloseable memoryLease;
    private final File instanceBasePath;
    private final int keyGroupPrefixBytes;
    private final FerroKeyBuilder<K> keyBuilder;
    private final FerroStateMigration<K> migration;
    private final LinkedHashMap<String, StateInfo> kvStateInformation;
    private final Map<String, State> createdKVStates = new HashMap<>();
    private final HeapPriorityQueuesManager priorityQueues;
    private final Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> registeredPQStates;

    /** Timer queues in the native store ({@link FerroStateOptions#TIMER_SERVICE_FACTORY}). */
    private final FerroTimerQueues timerQueues;

    /** The key last given to {@link #setCurrentKey}, and the key group Flink computed for it. */
    @Nullable private Object hashedKey;

    private int hashedKeyGroup;

    /** New timer queues go to the native store (NATIVE) rather than the heap (HEAP). */
    private final boolean nativeTimers;

    private final SnapshotStrategy<KeyedStateHandle, ?> checkpointStrategy;

    /** Native snapshots: incremental checkpoints (when on) and native savepoints. */
    private final FerroNativeSnapshotStrategy<K> nativeStrategy;

    private final boolean incremental;

    /** Fault drills: syncs the write-failure switch with a file before snapshots; or null. */
    @javax.annotation.Nullable private FailWritesFile failWritesFile;

    private boolean disposed;

    @SuppressWarnings("checkstyle:ParameterNumber")
    FerroKeyedStateBackend(
            TaskKvStateRegistry kvStateRegistry,
            TypeSerializer<K> keySerializer,
            ClassLoader userCodeClassLoader,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            StateTracking.Configs tracking,
            org.apache.flink.core.fs.CloseableRegistry cancelStreamRegistry,
            StreamCompressionDecorator keyGroupCompressionDecorator,
            InternalKeyContext<K> keyContext,
            NativeStore store,
            NativeMemory memory,
            AutoCloseable memoryLease,
            File instanceBasePath,
            LinkedHashMap<String, StateInfo> kvStateInformation,
            RestoredQueues queues,
            NativeStrategyFactory nativeStrategyFactory,
            LocalRecoveryConfig localRecoveryConfig,
            boolean incremental) {
        super(
                kvStateRegistry,
                keySerializer,
                userCodeClassLoader,
                executionConfig,
                ttlTimeProvider,
                tracking,
                cancelStreamRegistry,
                keyGroupCompressionDecorator,
                keyContext);
        this.store = store;
        this.memory = memory;
        this.memoryLease = memoryLease;
        this.instanceBasePath = instanceBasePath;
        this.keyGroupPrefixBytes =
                CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix(
                        keyContext.getNumberOfKeyGroups());
        this.keyBuilder =
                new FerroKeyBuilder<>(keySerializer, keyGroupPrefixBytes, store.keyView());
        this.migration =
                new FerroStateMigration<>(store, keyBuilder, this::createState, ttlTimeProvider);
        this.kvStateInformation = kvStateInformation;
        this.registeredPQStates = queues.heap();
        this.priorityQueues =
                new HeapPriorityQueuesManager(
                        registeredPQStates,
                        queues.heapFactory(),
                        keyContext.getKeyGroupRange(),
                        keyContext.getNumberOfKeyGroups());
        this.timerQueues =
                new FerroTimerQueues(
                        store,
                        keyBuilder::writeRaw,
                        keyGroupPrefixBytes,
                        keyContext.getKeyGroupRange(),
                        this::keyGroupOf,
                        queues.inStore(),
                        queues.timerHeapBuffer());
        this.nativeTimers = queues.nativeTimers();
        this.incremental = incremental;
        this.nativeStrategy = nativeStrategyFactory.create(this);
        this.checkpointStrategy =
                incremental
                        ? nativeStrategy
                        : new FerroFullSnapshotStrategy<>(this, localRecoveryConfig);
    }

    void setFailWritesFile(@javax.annotation.Nullable FailWritesFile failWritesFile) {
        this.failWritesFile = failWritesFile;
    }

    private void syncFailWritesFile() {
        if (failWritesFile != null) {
            failWritesFile.sync();
        }
    }

    /** Creates the native snapshot strategy once the backend exists. */
    interface NativeStrategyFactory {
        <K> FerroNativeSnapshotStrategy<K> create(FerroKeyedStateBackend<K> backend);
    }

    // ------------------------------------------------------------------------
    //  Accessors for states, snapshots and tests
    // ------------------------------------------------------------------------

    public NativeStore store() {
        return store;
    }

    FerroKeyBuilder<K> keyBuilder() {
        return keyBuilder;
    }

    public NativeMemory memory() {
        return memory;
    }

    public int getKeyGroupPrefixBytes() {
        return keyGroupPrefixBytes;
    }

    public File getInstanceBasePath() {
        return instanceBasePath;
    }

    public boolean isIncremental() {
        return incremental;
    }

    public LinkedHashMap<String, StateInfo> getKvStateInformation() {
        return kvStateInformation;
    }

    public Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> getRegisteredPQStates() {
        return registeredPQStates;
    }

    @Override
    public Collection<NativeQueue<?>> nativeQueues() {
        return timerQueues.inOrder();
    }

    /** Native timers waiting on the heap, not yet written to the store (tests). */
    @VisibleForTesting
    int heapTimers() {
        return timerQueues.heapTimers();
    }

    /** True when new timer queues go to the native store. */
    public boolean hasNativeTimers() {
        return nativeTimers;
    }

    @VisibleForTesting
    public boolean isDisposed() {
        return disposed;
    }

    // ------------------------------------------------------------------------
    //  Keys
    // ------------------------------------------------------------------------

    @Override
    public void setCurrentKey(K newKey) {
        // Flink's key context rejects keys outside this backend's key groups.
        super.setCurrentKey(newKey);
        hashedKey = newKey;
        hashedKeyGroup = getCurrentKeyGroupIndex();
        onKeySelected(newKey, hashedKeyGroup);
    }

    /**
     * The key group of {@code key}, for the native timer queues: the one Flink computed from it in
     * {@link #setCurrentKey} when it is that key object (the timer service registers and deletes
     * timers under the current key), else computed here. Only {@code setCurrentKey} records it: a
     * key group set with the key by other means is not checked against the key.
     */
    private int keyGroupOf(Object key) {
        return key == hashedKey
                ? hashedKeyGroup
                : KeyGroupRangeAssignment.assignToKeyGroup(key, getNumberOfKeyGroups());
    }

    @Override
    protected void onKeySelected(K key, int keyGroup) {
        keyBuilder.setKeyAndKeyGroup(key, keyGroup);
    }

    @Override
    public void setCurrentKeyGroupIndex(int currentKeyGroupIndex) {
        super.setCurrentKeyGroupIndex(currentKeyGroupIndex);
        if (getCurrentKey() != null) {
            keyBuilder.setKeyAndKeyGroup(getCurrentKey(), currentKeyGroupIndex);
        }
    }

    @Override
    public <N> Stream<K> getKeys(String state, N namespace) {
        FerroStateKeysIterator<K, N> it = keysIterator(state, namespace);
        return it == null
                ? Stream.empty()
                : StreamSupport.stream(
                        Spliterators.spliteratorUnknownSize(it.keys(), Spliterator.ORDERED), false);
    }

    @Override
    public <N> Stream<Tuple2<K, N>> getKeysAndNamespaces(String state) {
        FerroStateKeysIterator<K, N> it = keysIterator(state, null);
        return it == null
                ? Stream.empty()
                : StreamSupport.stream(
                        Spliterators.spliteratorUnknownSize(
                                it.keysAndNamespaces(), Spliterator.ORDERED),
                        false);
    }

    /**
     * The keys of key/value state {@code state}, in the given namespace or, when it is null, in
     * every namespace; null when the backend has no such state.
     */
    @javax.annotation.Nullable
    private <N> FerroStateKeysIterator<K, N> keysIterator(
            String state, @javax.annotation.Nullable N namespace) {
        StateInfo info = kvStateInformation.get(state);
        if (info == null || !(info.metaInfo instanceof RegisteredKeyValueStateBackendMetaInfo)) {
            return null;
        }
        @SuppressWarnings("unchecked")
        TypeSerializer<N> namespaceSerializer =
                ((RegisteredKeyValueStateBackendMetaInfo<N, ?>) info.metaInfo)
                        .getNamespaceSerializer();
        boolean ambiguous =
                CompositeKeySerializationUtils.isAmbiguousKeyPossible(
                        getKeySerializer(), namespaceSerializer);
        byte[] namespaceBytes = null;
        if (namespace != null) {
            DataOutputSerializer nsOut = new DataOutputSerializer(8);
            try {
                CompositeKeySerializationUtils.writeNameSpace(
                        namespace, namespaceSerializer, nsOut, ambiguous);
            } catch (IOException e) {
                throw new FlinkRuntimeException("Failed to serialize the namespace.", e);
            }
            namespaceBytes = nsOut.getCopyOfBuffer();
        }
        return new FerroStateKeysIterator<>(
                new ScanBatch(store, info.stateId, new byte[0], 256),
                getKeySerializer(),
                namespaceSerializer,
                keyGroupPrefixBytes,
                ambiguous,
                namespaceBytes);
    }

    // ------------------------------------------------------------------------
    //  State registration
    // ------------------------------------------------------------------------

    @Override
    @Nonnull
    public <N, SV, SEV, S extends State, IS extends S> IS createOrUpdateInternalState(
            @Nonnull TypeSerializer<N> namespaceSerializer,
            @Nonnull StateDescriptor<S, SV> stateDesc,
            @Nonnull StateSnapshotTransformFactory<SEV> snapshotTransformFactory)
            throws Exception {
        return createOrUpdateInternalState(
                namespaceSerializer, stateDesc, snapshotTransformFactory, false);
    }

    @Override
    @Nonnull
    public <N, SV, SEV, S extends State, IS extends S> IS createOrUpdateInternalState(
            @Nonnull TypeSerializer<N> namespaceSerializer,
            @Nonnull StateDescriptor<S, SV> stateDesc,
            @Nonnull StateSnapshotTransformFactory<SEV> snapshotTransformFactory,
            boolean allowFutureMetadataUpdates)
            throws Exception {
        checkNotDisposed();
        StateRegistration<N, SV> registration =
                tryRegisterKvStateInformation(
                        stateDesc,
                        namespaceSerializer,
                        snapshotTransformFactory,
                        allowFutureMetadataUpdates);
        if (!allowFutureMetadataUpdates) {
            FerroTtlSettings.configureCompaction(store, stateDesc, registration);
        }
        return createState(stateDesc, registration);
    }

    private <N, SV, S extends State, IS extends S> IS createState(
            StateDescriptor<S, SV> stateDesc, StateRegistration<N, SV> registration)
            throws Exception {
        @SuppressWarnings("unchecked")
        IS created = (IS) createdKVStates.get(stateDesc.getName());
        if (created == null) {
            StateFactory factory = CREATE.get(stateDesc.getType());
            if (factory == null) {
                throw new FlinkRuntimeException(notSupported(stateDesc));
            }
            created = factory.create(stateDesc, registration, this);
        } else {
            StateUpdater updater = UPDATE.get(stateDesc.getType());
            if (updater == null) {
                throw new FlinkRuntimeException(notSupported(stateDesc));
            }
            created = updater.update(stateDesc, registration, created);
        }
        ((AbstractFerroState<?, ?, ?>) created)
                .setIncrementalCleanup(
                        FerroTtlSettings.explicitIncrementalCleanup(stateDesc.getTtlConfig()));
        createdKVStates.put(stateDesc.getName(), created);
        return created;
    }

    private static String notSupported(StateDescriptor<?, ?> stateDesc) {
        return String.format(
                "State %s is not supported by %s",
                stateDesc.getClass(), FerroKeyedStateBackend.class.getSimpleName());
    }

    private <N, S extends State, SV, SEV> StateRegistration<N, SV> tryRegisterKvStateInformation(
            StateDescriptor<S, SV> stateDesc,
            TypeSerializer<N> namespaceSerializer,
            StateSnapshotTransformFactory<SEV> snapshotTransformFactory,
            boolean allowFutureMetadataUpdates)
            throws Exception {
        StateInfo old = kvStateInformation.get(stateDesc.getName());
        TypeSerializer<SV> stateSerializer = stateDesc.getSerializer();
        RegisteredKeyValueStateBackendMetaInfo<N, SV> newMetaInfo;
        int stateId;
        if (old != null) {
            if (!(old.metaInfo instanceof RegisteredKeyValueStateBackendMetaInfo)) {
                throw new StateMigrationException(
                        "The state "
                                + stateDesc.getName()
                                + " is registered as a priority queue, not as keyed state.");
            }
            @SuppressWarnings("unchecked")
            RegisteredKeyValueStateBackendMetaInfo<N, SV> oldMeta =
                    (RegisteredKeyValueStateBackendMetaInfo<N, SV>) old.metaInfo;
            newMetaInfo =
                    migration.updateRestored(
                            old.stateId,
                            oldMeta,
                            stateDesc,
                            namespaceSerializer,
                            stateSerializer,
                            old.unreadRestoredLists());
            stateId = old.stateId;
        } else {
            newMetaInfo =
                    new RegisteredKeyValueStateBackendMetaInfo<>(
                            stateDesc.getType(),
                            stateDesc.getName(),
                            namespaceSerializer,
                            stateSerializer,
                            StateSnapshotTransformFactory.noTransform());
            stateId =
                    store.registerState(
                            stateDesc.getName(), StateKinds.kindOf(stateDesc.getType()));
        }
        if (allowFutureMetadataUpdates) {
            newMetaInfo = newMetaInfo.withSerializerUpgradesAllowed();
        }
        kvStateInformation.put(stateDesc.getName(), new StateInfo(stateId, newMetaInfo));
        newMetaInfo.updateSnapshotTransformFactory(
                FerroSnapshotTransforms.wrap(
                        stateDesc, snapshotTransformFactory, newMetaInfo.getStateSerializer()));
        return new StateRegistration<>(stateId, newMetaInfo);
    }

    // ------------------------------------------------------------------------
    //  Priority queues (timers)
    // ------------------------------------------------------------------------

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
        return createQueue(
                stateName, byteOrderedElementSerializer, allowFutureMetadataUpdates, nativeTimers);
    }

    /** Snapshots restore under either setting: their timers move at this first registration. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            KeyGroupedInternalPriorityQueue<T> createQueue(
                    String stateName,
                    TypeSerializer<T> byteOrderedElementSerializer,
                    boolean allowFutureMetadataUpdates,
                    boolean inStore) {
        checkNotDisposed();
        if (inStore) {
            KeyGroupedInternalPriorityQueue<T> queue =
                    timerQueues.create(
                            stateName, byteOrderedElementSerializer, allowFutureMetadataUpdates);
            HeapPriorityQueueSnapshotRestoreWrapper<?> restored =
                    registeredPQStates.remove(stateName);
            if (restored != null) {
                try (CloseableIterator<?> it = restored.getPriorityQueue().iterator()) {
                    while (it.hasNext()) {
                        queue.add((T) it.next());
                    }
                } catch (Exception e) {
                    throw new FlinkRuntimeException(
                            "Could not move the restored timers of " + stateName, e);
                }
            }
            return queue;
        }
        KeyGroupedInternalPriorityQueue<T> queue =
                priorityQueues.createOrUpdate(
                        stateName, byteOrderedElementSerializer, allowFutureMetadataUpdates);
        if (timerQueues.contains(stateName)) {
            timerQueues.drain(stateName, byteOrderedElementSerializer, queue::add);
        }
        return queue;
    }

    // ------------------------------------------------------------------------
    //  Snapshots
    // ------------------------------------------------------------------------

    @Nonnull
    @Override
    public RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot(
            long checkpointId,
            long timestamp,
            @Nonnull CheckpointStreamFactory streamFactory,
            @Nonnull CheckpointOptions checkpointOptions)
            throws Exception {
        checkNotDisposed();
        syncFailWritesFile();
        timerQueues.writeBack();
        // Canonical savepoints never come here (Flink calls savepoint()); native ones do.
        SnapshotStrategy<KeyedStateHandle, ?> strategy =
                checkpointOptions.getCheckpointType().isSavepoint()
                        ? nativeStrategy
                        : checkpointStrategy;
        return runStrategy(strategy, checkpointId, timestamp, streamFactory, checkpointOptions);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private RunnableFuture<SnapshotResult<KeyedStateHandle>> runStrategy(
            SnapshotStrategy strategy,
            long checkpointId,
            long timestamp,
            CheckpointStreamFactory streamFactory,
            CheckpointOptions checkpointOptions)
            throws Exception {
        return new SnapshotStrategyRunner<
                        KeyedStateHandle, org.apache.flink.runtime.state.SnapshotResources>(
                        strategy.getClass().getSimpleName(),
                        strategy,
                        cancelStreamRegistry,
                        ASYNCHRONOUS)
                .snapshot(checkpointId, timestamp, streamFactory, checkpointOptions);
    }

    @Nonnull
    @Override
    public SavepointResources<K> savepoint() throws Exception {
        checkNotDisposed();
        syncFailWritesFile();
        timerQueues.writeBack();
        // The synchronous part: the hot tier written back, the store's files linked.
        return new SavepointResources<>(
                FerroFullSnapshotResources.create(this, true), ASYNCHRONOUS);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        nativeStrategy.notifyCheckpointComplete(checkpointId);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) {
        nativeStrategy.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public boolean requiresLegacySynchronousTimerSnapshots(
            org.apache.flink.runtime.checkpoint.SnapshotType checkpointType) {
        // Timers go into every snapshot ferrostate writes.
        return false;
    }

    /**
     * True with timers in the store (they are serialized when registered, as RocksDB's are), false
     * with heap timers: a heap timer keeps the key object that was current when it was registered.
     * Flink's SQL window buffer ({@code RecordsWindowBuffer}) copies its keys only when the backend
     * says reuse is unsafe; with {@code true} and heap timers it set one reused key object per
     * flush, its windows' timers all held that object, and every window fired under whichever key
     * it held last (issue 13). The HashMap backend answers false for the same reason; RocksDB
     * answers true unless configured with heap timers. Keys are otherwise serialized at the first
     * state access after {@link #setCurrentKey}, before the caller may change the object.
     */
    @Override
    public boolean isSafeToReuseKVState() {
        return nativeTimers;
    }

    // ------------------------------------------------------------------------
    //  Queries and tests
    // ------------------------------------------------------------------------

    @VisibleForTesting
    @Override
    public int numKeyValueStateEntries() {
        long count = 0;
        for (StateInfo info : kvStateInformation.values()) {
            count += store.count(info.stateId);
        }
        return (int) Math.min(Integer.MAX_VALUE, count);
    }

    /** Runs a full compaction of a state (TTL compaction-filter tests). */
    @VisibleForTesting
    public void compactState(StateDescriptor<?, ?> stateDesc) {
        StateInfo info = kvStateInformation.get(stateDesc.getName());
        if (info != null) {
            // Publish the current TTL time to the native filter first.
            ttlTimeProvider.currentTimestamp();
            store.compact(info.stateId);
        }
    }

    /** Composite key {@code [key group][key][namespace]} of a queryable-state request. */
    <N> byte[] compositeKeyFor(
            byte[] serializedKeyAndNamespace,
            TypeSerializer<K> safeKeySerializer,
            TypeSerializer<N> safeNamespaceSerializer)
            throws IOException {
        Tuple2<K, N> kn =
                KvStateSerializer.deserializeKeyAndNamespace(
                        serializedKeyAndNamespace, safeKeySerializer, safeNamespaceSerializer);
        int keyGroup = KeyGroupRangeAssignment.assignToKeyGroup(kn.f0, getNumberOfKeyGroups());
        SerializedCompositeKeyBuilder<K> builder =
                new SerializedCompositeKeyBuilder<>(safeKeySerializer, keyGroupPrefixBytes, 32);
        builder.setKeyAndKeyGroup(kn.f0, keyGroup);
        return builder.buildCompositeKeyNamespace(kn.f1, safeNamespaceSerializer);
    }

    /**
     * Reads a whole map for queryable state, from whatever thread asks: it scans with its own
     * buffer; each batch is one native call under the store's lock.
     */
    <UK, UV> Map<UK, UV> readMapForQuery(int stateId, byte[] prefix, MapSerializer<UK, UV> ms)
            throws IOException {
        Map<UK, UV> map = new LinkedHashMap<>();
        ScanBatch scan = new ScanBatch(store, stateId, prefix, 256);
        DataInputDeserializer in = new DataInputDeserializer();
        while (scan.advance()) {
            byte[] k = scan.copyKey();
            in.setBuffer(k, prefix.length, k.length - prefix.length);
            UK uk = ms.getKeySerializer().deserialize(in);
            in.setBuffer(scan.copyValue());
            map.put(uk, in.readBoolean() ? null : ms.getValueSerializer().deserialize(in));
        }
        return map;
    }

    private void checkNotDisposed() {
        if (disposed) {
            throw new IllegalStateException("The ferrostate keyed state backend is disposed.");
        }
    }

    /** The backend's metrics ({@link FerroMetrics}); null when none are registered. */
    @Nullable private FerroMetrics metrics;

    /** Registers this backend's metrics under the operator's metric group. */
    void registerMetrics(MetricGroup operatorGroup, FerroMetrics.Groups groups) {
        metrics = new FerroMetrics(operatorGroup, store, nativeStrategy::lastUploadedBytes, groups);
    }

    /** The backend's metrics, null when none are registered (tests). */
    @VisibleForTesting
    @Nullable
    FerroMetrics metrics() {
        return metrics;
    }

    @Override
    public void dispose() {
        if (disposed) {
            return;
        }
        super.dispose();
        IOUtils.closeQuietly(metrics);
        IOUtils.closeQuietly(nativeStrategy);
        store.close();
        IOUtils.closeQuietly(memoryLease);
        kvStateInformation.clear();
        try {
            FileUtils.deleteDirectory(instanceBasePath);
        } catch (IOException e) {
            LOG.warn("Could not delete ferrostate working directory {}", instanceBasePath, e);
        }
        disposed = true;
    }

    /** Ids and meta infos of the key/value states, in registration order. */
    public List<StateInfo> kvStatesInOrder() {
        return new ArrayList<>(kvStateInformation.values());
    }
}
