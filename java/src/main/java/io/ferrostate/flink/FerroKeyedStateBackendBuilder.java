package io.ferrostate.flink;

import io.ferrostate.flink.FerroKeyedStateBackend.StateInfo;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.restore.FerroFullRestoreOperation;
import io.ferrostate.flink.restore.FerroNativeRestoreOperation;
import io.ferrostate.flink.snapshot.FerroNativeSnapshotStrategy;
import io.ferrostate.flink.ttl.PublishingTimeProvider;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.runtime.query.TaskKvStateRegistry;
import org.apache.flink.runtime.state.AbstractKeyedStateBackendBuilder;
import org.apache.flink.runtime.state.BackendBuildingException;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle;
import org.apache.flink.runtime.state.InternalKeyContextImpl;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.LocalRecoveryConfig;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSetFactory;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.metrics.LatencyTrackingStateConfig;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.IOUtils;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;

/** Builds a {@link FerroKeyedStateBackend}: opens the native store and restores into it. */
@Internal
public class FerroKeyedStateBackendBuilder<K> extends AbstractKeyedStateBackendBuilder<K> {

    private final File instanceBasePath;
    private final NativeMemory memory;
    private final AutoCloseable memoryLease;
    private final long maxHotValueBytes;
    private int transferThreads = 1;
    private final LocalRecoveryConfig localRecoveryConfig;
    private boolean incremental;

    @SuppressWarnings("checkstyle:ParameterNumber")
    public FerroKeyedStateBackendBuilder(
            TaskKvStateRegistry kvStateRegistry,
            TypeSerializer<K> keySerializer,
            ClassLoader userCodeClassLoader,
            int numberOfKeyGroups,
            KeyGroupRange keyGroupRange,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            LatencyTrackingStateConfig latencyTrackingStateConfig,
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
                latencyTrackingStateConfig,
                stateHandles,
                keyGroupCompressionDecorator,
                cancelStreamRegistry);
        this.instanceBasePath = instanceBasePath;
        this.memory = memory;
        this.memoryLease = memoryLease;
        this.maxHotValueBytes = maxHotValueBytes;
        this.localRecoveryConfig = localRecoveryConfig;
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
        Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> queues = new HashMap<>();
        HeapPriorityQueueSetFactory queueFactory =
                new HeapPriorityQueueSetFactory(keyGroupRange, numberOfKeyGroups, 128);
        int prefixBytes =
                CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix(
                        numberOfKeyGroups);
        try {
            prepareDirectory();
            List<KeyedStateHandle> handles = new ArrayList<>();
            restoreStateHandles.stream().filter(Objects::nonNull).forEach(handles::add);
            UUID backendUID = UUID.randomUUID();
            SortedMap<Long, Map<String, FerroNativeSnapshotStrategy.Uploaded>> restoredFiles =
                    new TreeMap<>();
            long lastCompleted = -1;
            if (!handles.isEmpty() && handles.get(0) instanceof IncrementalKeyedStateHandle) {
                FerroNativeRestoreOperation.Result result =
                        new FerroNativeRestoreOperation<>(
                                        keyGroupRange,
                                        numberOfKeyGroups,
                                        prefixBytes,
                                        userCodeClassLoader,
                                        handles,
                                        keySerializerProvider,
                                        instanceBasePath,
                                        memory,
                                        maxHotValueBytes,
                                        PublishingTimeProvider.cellOf(ttlTimeProvider),
                                        kvStates,
                                        queues,
                                        queueFactory)
                                .withTransferThreads(transferThreads)
                                .restore();
                store = result.store;
                backendUID = result.backendUID;
                restoredFiles = result.restoredSstFiles;
                lastCompleted = result.lastCompletedCheckpointId;
            } else {
                store =
                        new NativeStore(
                                new File(instanceBasePath, "db").getAbsolutePath(),
                                memory,
                                maxHotValueBytes,
                                PublishingTimeProvider.cellOf(ttlTimeProvider));
            }
            if (!handles.isEmpty() && !(handles.get(0) instanceof IncrementalKeyedStateHandle)) {
                KeyedStateHandle first = handles.get(0);
                if (first instanceof KeyGroupsStateHandle) {
                    new FerroFullRestoreOperation<>(
                                    keyGroupRange,
                                    numberOfKeyGroups,
                                    prefixBytes,
                                    userCodeClassLoader,
                                    handles,
                                    keySerializerProvider,
                                    store,
                                    kvStates,
                                    queues,
                                    queueFactory)
                            .restore();
                } else {
                    throw new BackendBuildingException(
                            "ferrostate cannot restore state handles of type "
                                    + first.getClass().getName()
                                    + "; it restores Flink's canonical key-group snapshots (savepoints of any"
                                    + " backend and its own full checkpoints) and its own native snapshots.");
                }
            }
            TypeSerializer<K> keySerializer = keySerializerProvider.currentSchemaSerializer();
            NativeStore opened = store;
            // The registry passed in guards the restore only: Flink closes it once restore is
            // done. Snapshots register with a registry of the backend's own, closed on close().
            CloseableRegistry backendRegistry = new CloseableRegistry();
            UUID uid = backendUID;
            SortedMap<Long, Map<String, FerroNativeSnapshotStrategy.Uploaded>> files =
                    restoredFiles;
            long completed = lastCompleted;
            return new FerroKeyedStateBackend<>(
                    kvStateRegistry,
                    keySerializer,
                    userCodeClassLoader,
                    executionConfig,
                    ttlTimeProvider,
                    latencyTrackingStateConfig,
                    backendRegistry,
                    keyGroupCompressionDecorator,
                    new InternalKeyContextImpl<>(keyGroupRange, numberOfKeyGroups),
                    opened,
                    memory,
                    memoryLease,
                    instanceBasePath,
                    kvStates,
                    queues,
                    queueFactory,
                    new FerroKeyedStateBackend.NativeStrategyFactory() {
                        @Override
                        public <T> FerroNativeSnapshotStrategy<T> create(
                                FerroKeyedStateBackend<T> backend) {
                            return new FerroNativeSnapshotStrategy<>(
                                    backend, localRecoveryConfig, uid, files, completed);
                        }
                    },
                    localRecoveryConfig,
                    incremental);
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
