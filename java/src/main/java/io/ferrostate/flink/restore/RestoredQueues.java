package io.ferrostate.flink.restore;

import org.apache.flink.runtime.state.KeyExtractorFunction;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.RegisteredPriorityQueueStateBackendMetaInfo;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSet;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSetFactory;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;

import java.util.Map;

/** The timer queues a restore fills: Flink's heap priority queues, one per name. */
final class RestoredQueues {

    private RestoredQueues() {}

    /** The queue {@code meta} names, created in {@code queues} on first sight. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement> queueOf(
            Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> queues,
            StateMetaInfoSnapshot meta,
            HeapPriorityQueueSetFactory factory,
            KeyGroupRange keyGroupRange,
            int numberOfKeyGroups) {
        return (HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement>)
                queues.computeIfAbsent(
                        meta.getName(),
                        name -> {
                            RegisteredPriorityQueueStateBackendMetaInfo metaInfo =
                                    new RegisteredPriorityQueueStateBackendMetaInfo<>(meta);
                            HeapPriorityQueueSet pq =
                                    factory.create(name, metaInfo.getElementSerializer());
                            return new HeapPriorityQueueSnapshotRestoreWrapper<>(
                                    pq,
                                    metaInfo,
                                    KeyExtractorFunction.forKeyedObjects(),
                                    keyGroupRange,
                                    numberOfKeyGroups);
                        });
    }
}
