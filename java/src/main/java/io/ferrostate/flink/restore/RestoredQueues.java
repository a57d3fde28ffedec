package io.ferrostate.flink.restore;

import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.timers.NativeQueue;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.KeyExtractorFunction;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.RegisteredPriorityQueueStateBackendMetaInfo;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSet;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSetFactory;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The timer queues of a keyed backend as restores fill them and the backend then keeps them:
 * Flink's heap priority queues by name, and the queues kept in the native store ({@link
 * NativeQueue}) by name. Where a snapshot's timers go follows the snapshot: native snapshots say
 * which of their queues live in the store; canonical ones go where {@link #nativeTimers()} says.
 * The backend moves a queue to the configured place when an operator registers it.
 */
@Internal
public final class RestoredQueues {
    private final KeyGroupRange keyGroupRange;
    private final int numberOfKeyGroups;
    private final boolean nativeTimers;
    private final int timerHeapBuffer;
    private final HeapPriorityQueueSetFactory heapFactory;
    private final Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> heap = new HashMap<>();
    private final LinkedHashMap<String, NativeQueue<?>> inStore = new LinkedHashMap<>();

    /**
     * @param timerHeapBuffer new native timers each queue holds on the heap before writing them
     */
    public RestoredQueues(
            KeyGroupRange keyGroupRange,
            int numberOfKeyGroups,
            boolean nativeTimers,
            int timerHeapBuffer) {
        this.keyGroupRange = keyGroupRange;
        this.numberOfKeyGroups = numberOfKeyGroups;
        this.nativeTimers = nativeTimers;
        this.timerHeapBuffer = timerHeapBuffer;
        this.heapFactory = new HeapPriorityQueueSetFactory(keyGroupRange, numberOfKeyGroups, 128);
    }

    /** True when timers of canonical snapshots (and new queues) go to the native store. */
    public boolean nativeTimers() {
        return nativeTimers;
    }

    /** New native timers each queue holds on the heap before writing them to the store. */
    public int timerHeapBuffer() {
        return timerHeapBuffer;
    }

    public HeapPriorityQueueSetFactory heapFactory() {
        return heapFactory;
    }

    /** The heap queues by name. */
    public Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> heap() {
        return heap;
    }

    /** The queues in the native store by name, in registration order. */
    public LinkedHashMap<String, NativeQueue<?>> inStore() {
        return inStore;
    }

    /** The heap queue {@code meta} names, created on first sight. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement> heapQueue(
            StateMetaInfoSnapshot meta) {
        return (HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement>)
                heap.computeIfAbsent(
                        meta.getName(),
                        name -> {
                            RegisteredPriorityQueueStateBackendMetaInfo metaInfo =
                                    new RegisteredPriorityQueueStateBackendMetaInfo<>(meta);
                            HeapPriorityQueueSet pq =
                                    heapFactory.create(name, metaInfo.getElementSerializer());
                            return new HeapPriorityQueueSnapshotRestoreWrapper<>(
                                    pq,
                                    metaInfo,
                                    KeyExtractorFunction.forKeyedObjects(),
                                    keyGroupRange,
                                    numberOfKeyGroups);
                        });
    }

    /** The queue {@code meta} names in the native store, registered there on first sight. */
    NativeQueue<?> storeQueue(NativeStore store, StateMetaInfoSnapshot meta) {
        return inStore.computeIfAbsent(meta.getName(), name -> NativeQueue.restore(store, meta));
    }
}
