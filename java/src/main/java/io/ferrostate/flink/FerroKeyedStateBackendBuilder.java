package io.ferrostate.flink;

import io.ferrostate.flink.compat.KeyedBackendBuilderBase;
import io.ferrostate.flink.compat.StateTracking;
import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.restore.FerroFullRestoreOperation;
import io.ferrostate.flink.restore.FerroNativeRestoreOperation;
import io.ferrostate.flink.restore.RestoredQueues;
import io.ferrostate.flink.snapshot.FerroNativeSnapshotStrategy;
import io.ferrostate.flink.ttl.PublishingTimeProvider;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.runtime.query.TaskKvStateRegistry;
import org.apache.flink.runtime.state.BackendBuildingException;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle;
import org.apache.flink.runtime.state.InternalKeyContextImpl;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.LocalRecoveryConfig;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.IOUtils;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;

/** Builds a {@link FerroKeyedStateBackend}: opens the native store and restores into it. */
@Internal
public class FerroKeyedStateBackendBuilder<K> extends KeyedBackendBuilderBase<K> {

    private final File instanceBasePath;
    private final NativeMemory memory;
    private final AutoCloseable memoryLease;
    private final long maxHotValueBytes;
    private int transferThreads = 1;
    private final LocalRecoveryConfig localRecoveryConfig;
    private boolean incremental;
    private boolean nativeTimers = true;
    private int timerHeapBuffer = FerroStateOptions.TIMER_HEAP_BUFFER.defaultValue();

    @SuppressWarnings("checkstyle:ParameterNumber")
    public FerroKeyedStateBackendBuilder(
            TaskKvStateRegistry kvStateRegistry,
            TypeSerializer<K> keySerializer,
            ClassLoader userCodeClassLoader,
            int numberOfKeyGroups,
            KeyGroupRange keyGroupRange,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            StateTracking.Configs tracking,
            Collection<KeyedStateHandle> stateHandles,
            StreamCompressionDecorator keyGroupCompressionDecorator,
            CloseableRegistry cancelStreamRegistry,
            File instanceBasePath,
            NativeMemory memory,
            AutoCloseable memoryLease,
            long maxHotValueBytes,
            LocalRecoveryConfig localRecoveryConfig) {
        super(
                kvStateRegistry,
                keySerializer,
                userCodeClassLoader,
                numberOfKeyGroups,
                keyGroupRange,
                executionConfig,
                PublishingTimeProvider.wrap(ttlTimeProvider),
                tracking,
                stateHandles,
                keyGroupCompressionDecorator,
                cancelStreamRegistry);
        this.instanceBasePath = instanceBasePath;
        this.memory = memory;
        this.memoryLease = memoryLease;
        this.maxHotValueBytes = maxHotValueBytes;
        this.localRecoveryConfig = localRecoveryConfig;
    }

    /** Whether timers live in the native store (NATIVE) or on the heap (HEAP). */
    public FerroKeyedStateBackendBuilder<K> setNativeTimers(boolean nativeTimers) {
        this.nativeTimers = nativeTimers;
        return this;
    }

    /** New native timers a timer queue holds on the heap ({@code timer-service.heap-buffer}). */
    public FerroKeyedStateBackendBuilder<K> setTimerHeapBuffer(int timerHeapBuffer) {
        this.timerHeapBuffer = timerHeapBuffer;
        return this;
    }

    public FerroKeyedStateBackendBuilder<K> setIncremental(boolean incremental) {
        this.incremental = incremental;
        return this;
    }

    /** Files downloaded at once when restoring a native snapshot. */
    public FerroKeyedStateBackendBuilder<K> setTransferThreads(int transferThreads) {
        this.transferThreads = transferThreads;
        return this;
    }

    @Override
    public FerroKeyedStateBackend<K> build() throws BackendBuildingException {
        NativeStore store = null;
        LinkedHashMap<String, StateInfo> kvStates = new LinkedHashMap<>();
        RestoredQueues queues =
                new RestoredQueues(keyGroupRange, numberOfKeyGroups, nativeTimers, timerHeapBuffer);
        try {
            prepareDirectory();
            List<KeyedStateHandle> handles = new ArrayList<>();
            restoreStateHandles.stream().filter(Objects::nonNull).forEach(handles::add);
            Restored restored;
            if (!handles.isEmpty() && handles.get(0) instanceof IncrementalKeyedStateHandle) {
                restored = restoreNative(handles, kvStates, queues);
                store = restored.store;
            } else {
                store = openStore();
                restored = new Restored(store);
                if (!handles.isEmpty()) {
                    restoreCanonical(handles, store, kvStates, queues);
                }
            }
            return newBackend(restored, kvStates, queues);
        } catch (Throwable t) {
            if (store != null) {
                store.close();
            }
            IOUtils.closeQuietly(memoryLease);
            try {
                FileUtils.deleteDirectory(instanceBasePath);
            } catch (IOException e) {
                t.addSuppressed(e);
            }
            if (t instanceof BackendBuildingException) {
                throw (BackendBuildingException) t;
            }
            throw new BackendBuildingException(
                    "Failed to build the ferrostate keyed state backend: " + t.getMessage(), t);
        }
    }

    /** The store a backend starts with, and what its native snapshots continue from. */
    private static final class Restored {
        final NativeStore store;
        final UUID backendUID;

        /** SST files of restored checkpoints, which the next checkpoints may refer to. */
        final SortedMap<Long, Map<String, FerroNativeSnapshotStrategy.Uploaded>> files;

        final long lastCompletedCheckpointId;

        /** A new store: nothing to continue from. */
        Restored(NativeStore store) {
            this(store, UUID.randomUUID(), new TreeMap<>(), -1);
        }

        Restored(
                NativeStore store,
                UUID backendUID,
                SortedMap<Long, Map<String, FerroNativeSnapshotStrategy.Uploaded>> files,
                long lastCompletedCheckpointId) {
            this.store = store;
            this.backendUID = backendUID;
            this.files = files;
            this.lastCompletedCheckpointId = lastCompletedCheckpointId;
        }
    }

    private int prefixBytes() {
        return CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix(
                numberOfKeyGroups);
    }

    /** Restores ferrostate's own native snapshots (incremental checkpoints, native savepoints). */
    private Restored restoreNative(
            List<KeyedStateHandle> handles,
            LinkedHashMap<String, StateInfo> kvStates,
            RestoredQueues queues)
            throws Exception {
        FerroNativeRestoreOperation.Result result =
                new FerroNativeRestoreOperation<>(
                                keyGroupRange,
                                prefixBytes(),
                                userCodeClassLoader,
                                handles,
                                keySerializerProvider,
                                instanceBasePath,
                                memory,
                                maxHotValueBytes,
                                PublishingTimeProvider.cellOf(ttlTimeProvider),
                                kvStates,
                                queues)
                        .withTransferThreads(transferThreads)
                        .restore();
        return new Restored(
                result.store,
                result.backendUID,
                result.restoredSstFiles,
                result.lastCompletedCheckpointId);
    }

    /** Opens an empty store in the working directory. */
    private NativeStore openStore() {
        return new NativeStore(
                new File(instanceBasePath, "db").getAbsolutePath(),
                memory,
                maxHotValueBytes,
                PublishingTimeProvider.cellOf(ttlTimeProvider));
    }

    /**
     * Restores Flink's canonical key-group snapshots (savepoints of any backend, ferrostate's full
     * checkpoints) into {@code store}.
     */
    private void restoreCanonical(
            List<KeyedStateHandle> handles,
            NativeStore store,
            LinkedHashMap<String, StateInfo> kvStates,
            RestoredQueues queues)
            throws Exception {
        KeyedStateHandle first = handles.get(0);
        if (!(first instanceof KeyGroupsStateHandle)) {
            throw new BackendBuildingException(
                    "ferrostate cannot restore state handles of type "
                            + first.getClass().getName()
                            + "; it restores Flink's canonical key-group snapshots (savepoints of any"
                            + " backend and its own full checkpoints) and its own native snapshots.");
        }
        new FerroFullRestoreOperation<>(
                        keyGroupRange,
                        prefixBytes(),
                        userCodeClassLoader,
                        handles,
                        keySerializerProvider,
                        store,
                        kvStates,
                        queues)
                .restore();
    }

    private FerroKeyedStateBackend<K> newBackend(
            Restored restored, LinkedHashMap<String, StateInfo> kvStates, RestoredQueues queues) {
        TypeSerializer<K> keySerializer = keySerializerProvider.currentSchemaSerializer();
        // The registry passed in guards the restore only: Flink closes it once restore is
        // done. Snapshots register with a registry of the backend's own, closed on close().
        CloseableRegistry backendRegistry = new CloseableRegistry();
        return new FerroKeyedStateBackend<>(
                kvStateRegistry,
                keySerializer,
                userCodeClassLoader,
                executionConfig,
                ttlTimeProvider,
                tracking,
                backendRegistry,
                keyGroupCompressionDecorator,
                new InternalKeyContextImpl<>(keyGroupRange, numberOfKeyGroups),
                restored.store,
                memory,
                memoryLease,
                instanceBasePath,
                kvStates,
                queues,
                new FerroKeyedStateBackend.NativeStrategyFactory() {
                    @Override
                    public <T> FerroNativeSnapshotStrategy<T> create(
                            FerroKeyedStateBackend<T> backend) {
                        return new FerroNativeSnapshotStrategy<>(
                                backend,
                                localRecoveryConfig,
                                restored.backendUID,
                                restored.files,
                                restored.lastCompletedCheckpointId);
                    }
                },
                localRecoveryConfig,
                incremental);
    }

    private void prepareDirectory() throws IOException {
        if (instanceBasePath.exists()) {
            FileUtils.deleteDirectory(instanceBasePath);
        }
        if (!instanceBasePath.mkdirs()) {
            throw new IOException(
                    "Could not create ferrostate working directory " + instanceBasePath);
        }
    }
}
