package io.ferrostate.flink.snapshot;

import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.meta.StateKinds;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.SnapshotScan;
import io.ferrostate.flink.timers.NativeQueue;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.FullSnapshotResources;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyValueStateIterator;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.StateSnapshotTransformer;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueStateSnapshot;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.util.FileUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The resources of a full snapshot in Flink's canonical format. The synchronous part writes the hot
 * tier back and hard-links the store's files into a snapshot directory; the asynchronous part reads
 * that immutable copy, key group by key group, while the task goes on writing to the live store.
 */
@Internal
public final class FerroFullSnapshotResources<K> implements FullSnapshotResources<K> {
    private static final Logger LOG = LoggerFactory.getLogger(FerroFullSnapshotResources.class);

    private final File snapshotDir;
    private final List<StateMetaInfoSnapshot> metaInfoSnapshots;
    private final String[] names;
    private final int[] kinds;
    private final StateSnapshotTransformer<byte[]>[] transformers;
    private final List<HeapPriorityQueueStateSnapshot<?>> queueSnapshots;
    private final KeyGroupRange keyGroupRange;
    private final TypeSerializer<K> keySerializer;
    private final int keyGroupPrefixBytes;
    private final StreamCompressionDecorator compression;

    private FerroFullSnapshotResources(
            File snapshotDir,
            List<StateMetaInfoSnapshot> metaInfoSnapshots,
            String[] names,
            int[] kinds,
            StateSnapshotTransformer<byte[]>[] transformers,
            List<HeapPriorityQueueStateSnapshot<?>> queueSnapshots,
            KeyGroupRange keyGroupRange,
            TypeSerializer<K> keySerializer,
            int keyGroupPrefixBytes,
            StreamCompressionDecorator compression) {
        this.snapshotDir = snapshotDir;
        this.metaInfoSnapshots = metaInfoSnapshots;
        this.names = names;
        this.kinds = kinds;
        this.transformers = transformers;
        this.queueSnapshots = queueSnapshots;
        this.keyGroupRange = keyGroupRange;
        this.keySerializer = keySerializer;
        this.keyGroupPrefixBytes = keyGroupPrefixBytes;
        this.compression = compression;
    }

    /** The synchronous part: runs on the task thread. */
    @SuppressWarnings("unchecked")
    public static <K> FerroFullSnapshotResources<K> create(
            SnapshotSource<K> backend, boolean includeTimers) throws IOException {
        List<StateInfo> states = backend.kvStatesInOrder();
        List<NativeQueue<?>> stored =
                includeTimers ? new ArrayList<>(backend.nativeQueues()) : new ArrayList<>();
        List<StateMetaInfoSnapshot> metas = new ArrayList<>();
        int numStates = states.size() + stored.size();
        String[] names = new String[numStates];
        int[] kinds = new int[numStates];
        StateSnapshotTransformer<byte[]>[] transformers = new StateSnapshotTransformer[numStates];
        for (int i = 0; i < states.size(); i++) {
            StateInfo info = states.get(i);
            metas.add(info.metaInfo.snapshot());
            names[i] = info.metaInfo.getName();
            RegisteredKeyValueStateBackendMetaInfo<?, ?> kv =
                    (RegisteredKeyValueStateBackendMetaInfo<?, ?>) info.metaInfo;
            kinds[i] = StateKinds.kindOf(kv.getStateType());
            transformers[i] =
                    kv.getStateSnapshotTransformFactory().createForSerializedState().orElse(null);
        }
        // Timers in the store: their entries ([key group][element], empty values) are what the
        // canonical format holds for priority queue state, read like the other states'.
        for (int i = 0; i < stored.size(); i++) {
            NativeQueue<?> q = stored.get(i);
            metas.add(q.metaInfo().snapshot());
            names[states.size() + i] = q.name();
            kinds[states.size() + i] = NativeStore.KIND_MAP;
        }
        List<HeapPriorityQueueStateSnapshot<?>> queues = new ArrayList<>();
        if (includeTimers) {
            for (HeapPriorityQueueSnapshotRestoreWrapper<?> pq :
                    backend.getRegisteredPQStates().values()) {
                metas.add(pq.getMetaInfo().snapshot());
                queues.add(pq.stateSnapshot());
            }
        }
        File dir = new File(backend.getInstanceBasePath(), "snapshot-" + UUID.randomUUID());
        if (names.length > 0) {
            backend.store().checkpoint(dir.getAbsolutePath());
        }
        return new FerroFullSnapshotResources<>(
                dir,
                metas,
                names,
                kinds,
                transformers,
                queues,
                backend.getKeyGroupRange(),
                backend.getKeySerializer(),
                backend.getKeyGroupPrefixBytes(),
                backend.getKeyGroupCompressionDecorator());
    }

    @Override
    public KeyValueStateIterator createKVStateIterator() throws IOException {
        SnapshotScan scan = null;
        if (names.length > 0 && !keyGroupRange.equals(KeyGroupRange.EMPTY_KEY_GROUP_RANGE)) {
            scan =
                    new SnapshotScan(
                            snapshotDir.getAbsolutePath(),
                            null,
                            names,
                            kinds,
                            keyGroupPrefixBytes,
                            keyGroupRange.getStartKeyGroup(),
                            keyGroupRange.getEndKeyGroup());
        }
        return new FerroKeyValueStateIterator(
                scan,
                transformers,
                queueSnapshots,
                names.length,
                keyGroupRange,
                keyGroupPrefixBytes);
    }

    @Override
    public List<StateMetaInfoSnapshot> getMetaInfoSnapshots() {
        return metaInfoSnapshots;
    }

    @Override
    public KeyGroupRange getKeyGroupRange() {
        return keyGroupRange;
    }

    @Override
    public TypeSerializer<K> getKeySerializer() {
        return keySerializer;
    }

    @Override
    public StreamCompressionDecorator getStreamCompressionDecorator() {
        return compression;
    }

    @Override
    public void release() {
        try {
            FileUtils.deleteDirectory(snapshotDir);
        } catch (IOException e) {
            LOG.warn("Could not delete snapshot directory {}", snapshotDir, e);
        }
    }
}
