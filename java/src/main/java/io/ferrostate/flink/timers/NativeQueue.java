package io.ferrostate.flink.timers;

import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.RegisteredPriorityQueueStateBackendMetaInfo;
import org.apache.flink.runtime.state.heap.KeyGroupPartitionedPriorityQueue;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;

import javax.annotation.Nullable;

/**
 * A timer queue kept in the native store: one map-kind state whose entries are the queue's
 * elements, each keyed {@code [key group][element bytes]} with an empty value. That is the layout
 * Flink's canonical savepoints (and RocksDB's column families) give priority queue state, so full
 * snapshots write the entries as they are, and incremental ones carry them with the store's files.
 */
@Internal
public final class NativeQueue<T> {
    private final int stateId;
    private RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo;

    /** The queue handed to the operator; created at the first registration after a restore. */
    @Nullable KeyGroupPartitionedPriorityQueue<T, FerroQueueSet<T>> queue;

    NativeQueue(int stateId, RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo) {
        this.stateId = stateId;
        this.metaInfo = metaInfo;
    }

    /** Registers, in {@code store}, the queue a snapshot's meta info names. */
    public static NativeQueue<?> restore(NativeStore store, StateMetaInfoSnapshot meta) {
        RegisteredPriorityQueueStateBackendMetaInfo<?> info =
                new RegisteredPriorityQueueStateBackendMetaInfo<>(meta);
        return new NativeQueue<>(store.registerState(meta.getName(), NativeStore.KIND_MAP), info);
    }

    public int stateId() {
        return stateId;
    }

    public String name() {
        return metaInfo.getName();
    }

    public RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo() {
        return metaInfo;
    }

    void setMetaInfo(RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo) {
        this.metaInfo = metaInfo;
    }
}
