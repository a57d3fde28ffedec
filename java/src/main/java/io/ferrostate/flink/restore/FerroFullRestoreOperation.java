package io.ferrostate.flink.restore;

import io.ferrostate.flink.meta.ListFormat;
import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.meta.StateKinds;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.RegisteredStateMetaInfoBase;
import org.apache.flink.runtime.state.SavepointKeyedStateHandle;
import org.apache.flink.runtime.state.StateSerializerProvider;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.runtime.state.restore.FullSnapshotRestoreOperation;
import org.apache.flink.runtime.state.restore.KeyGroup;
import org.apache.flink.runtime.state.restore.KeyGroupEntry;
import org.apache.flink.runtime.state.restore.SavepointRestoreResult;
import org.apache.flink.runtime.state.restore.ThrowingIterator;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Restores snapshots in Flink's canonical key-group format (savepoints of any backend, and
 * ferrostate's full checkpoints) into the native store, with Flink's own reader. Only the key
 * groups of this backend's range are read. Lists arrive in Flink's delimited format and are stored
 * in ferrostate's; timers go into the store or the heap priority queues ({@link RestoredQueues}).
 */
@Internal
public final class FerroFullRestoreOperation<K> {
    private final KeyGroupRange keyGroupRange;
    private final int keyGroupPrefixBytes;
    private final ClassLoader classLoader;
    private final Collection<KeyedStateHandle> handles;
    private final StateSerializerProvider<K> keySerializerProvider;
    private final NativeStore store;
    private final LinkedHashMap<String, StateInfo> kvStates;
    private final RestoredQueues queues;
    private final DataInputDeserializer in = new DataInputDeserializer();

    public FerroFullRestoreOperation(
            KeyGroupRange keyGroupRange,
            int keyGroupPrefixBytes,
            ClassLoader classLoader,
            Collection<KeyedStateHandle> handles,
            StateSerializerProvider<K> keySerializerProvider,
            NativeStore store,
            LinkedHashMap<String, StateInfo> kvStates,
            RestoredQueues queues) {
        this.keyGroupRange = keyGroupRange;
        this.keyGroupPrefixBytes = keyGroupPrefixBytes;
        this.classLoader = classLoader;
        this.handles = handles;
        this.keySerializerProvider = keySerializerProvider;
        this.store = store;
        this.kvStates = kvStates;
        this.queues = queues;
    }

    public void restore() throws Exception {
        FullSnapshotRestoreOperation<K> op =
                new FullSnapshotRestoreOperation<>(
                        keyGroupRange, classLoader, clipCheckpoints(), keySerializerProvider);
        try (ThrowingIterator<SavepointRestoreResult> results = op.restore()) {
            while (results.hasNext()) {
                apply(results.next());
            }
        }
    }

    /**
     * Checkpoints are read for this backend's key groups only, as Flink's own backends read theirs
     * (HashMap skips the others, RocksDB clips them); Flink's reader would fail on the first key
     * group out of range. Savepoints stay as they are: there Flink's HashMap and RocksDB backends
     * fail too. An empty intersection still restores the states' meta info.
     */
    private Collection<KeyedStateHandle> clipCheckpoints() {
        List<KeyedStateHandle> clipped = new ArrayList<>(handles.size());
        for (KeyedStateHandle handle : handles) {
            if (handle instanceof KeyGroupsStateHandle
                    && !(handle instanceof SavepointKeyedStateHandle)) {
                KeyGroupsStateHandle groups = (KeyGroupsStateHandle) handle;
                clipped.add(
                        new KeyGroupsStateHandle(
                                groups.getGroupRangeOffsets().getIntersection(keyGroupRange),
                                groups.getDelegateStateHandle()));
            } else {
                clipped.add(handle);
            }
        }
        return clipped;
    }

    /** Where the entries of one restored state id go. */
    private static final class Target {
        final StateInfo info;
        final int stateId;
        final TypeSerializer<Object> listElementSerializer;
        final HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement> queue;

        /** Timers kept in the store: entries written as they are, keyed by element. */
        final boolean storedQueue;

        Target(
                StateInfo info,
                int stateId,
                TypeSerializer<Object> listElementSerializer,
                HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement> queue,
                boolean storedQueue) {
            this.info = info;
            this.stateId = stateId;
            this.listElementSerializer = listElementSerializer;
            this.queue = queue;
            this.storedQueue = storedQueue;
        }
    }

    @SuppressWarnings("unchecked")
    private void apply(SavepointRestoreResult result) throws Exception {
        List<StateMetaInfoSnapshot> metas = result.getStateMetaInfoSnapshots();
        Map<Integer, Target> targets = new HashMap<>();
        for (int i = 0; i < metas.size(); i++) {
            StateMetaInfoSnapshot meta = metas.get(i);
            if (meta.getBackendStateType() == StateMetaInfoSnapshot.BackendStateType.PRIORITY_QUEUE
                    && queues.nativeTimers()) {
                int id = queues.storeQueue(store, meta).stateId();
                targets.put(i, new Target(null, id, null, null, true));
            } else if (meta.getBackendStateType()
                    == StateMetaInfoSnapshot.BackendStateType.PRIORITY_QUEUE) {
                targets.put(i, new Target(null, -1, null, queues.heapQueue(meta), false));
            } else {
                StateInfo info = kvStates.get(meta.getName());
                RegisteredKeyValueStateBackendMetaInfo<?, ?> kv;
                if (info == null) {
                    kv =
                            (RegisteredKeyValueStateBackendMetaInfo<?, ?>)
                                    RegisteredStateMetaInfoBase.fromMetaInfoSnapshot(meta);
                    int id =
                            store.registerState(
                                    meta.getName(), StateKinds.kindOf(kv.getStateType()));
                    info = new StateInfo(id, kv);
                    kvStates.put(meta.getName(), info);
                } else {
                    kv = (RegisteredKeyValueStateBackendMetaInfo<?, ?>) info.metaInfo;
                }
                TypeSerializer<Object> element = null;
                if (StateKinds.kindOf(kv.getStateType()) == NativeStore.KIND_LIST) {
                    element =
                            ((ListSerializer<Object>) kv.getStateSerializer())
                                    .getElementSerializer();
                }
                targets.put(i, new Target(info, info.stateId, element, null, false));
            }
        }
        try (ThrowingIterator<KeyGroup> keyGroups = result.getRestoredKeyGroups()) {
            while (keyGroups.hasNext()) {
                try (ThrowingIterator<KeyGroupEntry> entries =
                        keyGroups.next().getKeyGroupEntries()) {
                    while (entries.hasNext()) {
                        KeyGroupEntry entry = entries.next();
                        Target target = targets.get(entry.getKvStateId());
                        if (target == null) {
                            throw new IOException(
                                    "Snapshot entry for unknown state id " + entry.getKvStateId());
                        }
                        write(target, entry);
                    }
                }
            }
        }
    }

    private void write(Target target, KeyGroupEntry entry) throws IOException {
        byte[] key = entry.getKey();
        if (target.queue != null) {
            in.setBuffer(key);
            in.skipBytesToRead(keyGroupPrefixBytes);
            HeapPriorityQueueElement element =
                    target.queue.getMetaInfo().getElementSerializer().deserialize(in);
            target.queue.getPriorityQueue().add(element);
            return;
        }
        if (target.storedQueue) {
            // [key group][element], as the store keeps timers; the value is empty.
            DirectOutputView keyView = store.keyView();
            keyView.clear();
            keyView.write(key);
            store.setAdd(target.stateId, key.length);
            return;
        }
        byte[] value = entry.getValue();
        if (target.listElementSerializer != null) {
            value = toStoredList(target, value);
        }
        DirectOutputView keyView = store.keyView();
        keyView.clear();
        keyView.write(key);
        DirectOutputView valueOut = store.valueOut();
        valueOut.clear();
        valueOut.write(value);
        store.put(target.stateId, key.length, value.length);
    }

    /**
     * Converts a restored list to the store's format. Finding the elements needs the serializer
     * restored from the snapshot, which reads into the job's current classes; when they changed
     * incompatibly it fails. Flink's RocksDB backend does not read values at restore and reports
     * that as a {@link org.apache.flink.util.StateMigrationException} when the state is registered,
     * so the value is kept whole (one element: snapshots write it back byte for byte) and the
     * registration decides, after its compatibility check.
     */
    private byte[] toStoredList(Target target, byte[] delimited) {
        try {
            return ListFormat.fromDelimited(delimited, target.listElementSerializer);
        } catch (Exception e) {
            target.info.keptRestoredListsWhole(e);
            byte[] whole = new byte[4 + delimited.length];
            int n = delimited.length;
            whole[0] = (byte) (n >>> 24);
            whole[1] = (byte) (n >>> 16);
            whole[2] = (byte) (n >>> 8);
            whole[3] = (byte) n;
            System.arraycopy(delimited, 0, whole, 4, n);
            return whole;
        }
    }
}
