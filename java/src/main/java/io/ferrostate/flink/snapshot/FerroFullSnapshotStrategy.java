package io.ferrostate.flink.snapshot;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointStreamWithResultProvider;
import org.apache.flink.runtime.state.CheckpointedStateScope;
import org.apache.flink.runtime.state.FullSnapshotAsyncWriter;
import org.apache.flink.runtime.state.FullSnapshotResources;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.LocalRecoveryConfig;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.SnapshotStrategy;
import org.apache.flink.util.function.SupplierWithException;

import javax.annotation.Nonnull;

/**
 * Full checkpoints in Flink's canonical key-group format (a {@code KeyGroupsStateHandle}), written
 * by Flink's own {@link FullSnapshotAsyncWriter} from an immutable copy of the store, timers
 * included. Used when incremental checkpoints are off.
 */
@Internal
public final class FerroFullSnapshotStrategy<K>
        implements SnapshotStrategy<KeyedStateHandle, FullSnapshotResources<K>> {

    private final SnapshotSource<K> backend;
    private final LocalRecoveryConfig localRecoveryConfig;

    public FerroFullSnapshotStrategy(
            SnapshotSource<K> backend, LocalRecoveryConfig localRecoveryConfig) {
        this.backend = backend;
        this.localRecoveryConfig = localRecoveryConfig;
    }

    @Override
    public FullSnapshotResources<K> syncPrepareResources(long checkpointId) throws Exception {
        return FerroFullSnapshotResources.create(backend, true);
    }

    @Override
    public SnapshotResultSupplier<KeyedStateHandle> asyncSnapshot(
            FullSnapshotResources<K> resources,
            long checkpointId,
            long timestamp,
            @Nonnull CheckpointStreamFactory streamFactory,
            @Nonnull CheckpointOptions checkpointOptions) {
        if (resources.getMetaInfoSnapshots().isEmpty()) {
            return registry -> SnapshotResult.empty();
        }
        SupplierWithException<CheckpointStreamWithResultProvider, Exception> streams =
                localRecoveryConfig.isLocalRecoveryEnabled()
                                && !checkpointOptions.getCheckpointType().isSavepoint()
                        ? () ->
                                CheckpointStreamWithResultProvider.createDuplicatingStream(
                                        checkpointId,
                                        CheckpointedStateScope.EXCLUSIVE,
                                        streamFactory,
                                        localRecoveryConfig
                                                .getLocalStateDirectoryProvider()
                                                .orElseThrow(
                                                        LocalRecoveryConfig
                                                                .localRecoveryNotEnabled()))
                        : () ->
                                CheckpointStreamWithResultProvider.createSimpleStream(
                                        CheckpointedStateScope.EXCLUSIVE, streamFactory);
        return new FullSnapshotAsyncWriter<>(
                checkpointOptions.getCheckpointType(), streams, resources);
    }
}
