package io.ferrostate.flink.timers;

import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.RegisteredPriorityQueueStateBackendMetaInfo;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;

import javax.annotation.Nullable;

import java.util.ArrayList;
import java.util.List;

/**
 * A timer queue kept in the native store: one map-kind state whose entries are the queue's
 * elements, each keyed {@code [key group][element bytes]} with an empty value. That is the layout
 * Flink's canonical savepoints (and RocksDB's column families) give priority queue state, so full
 * snapshots write the entries as they are, and incremental ones carry them with the store's files.
 */
@Internal
public final class NativeQueue<T> {
    private final int stateId;
    private final boolean restored;
    private RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo;

    /** The key groups' sets of {@link #queue}, for write-backs before snapshots. */
    final List<FerroQueueSet<?>> sets = new ArrayList<>();

    /** The queue handed to the operator; created at the first registration after a restore. */
    @Nullable FerroTimerQueue<?> queue;

    NativeQueue(
            int stateId,
            RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo,
            boolean restored) {
        this.stateId = stateId;
        this.metaInfo = metaInfo;
        this.restored = restored;
    }

    /** Registers, in {@code store}, the queue a snapshot's meta info names. */
    public static NativeQueue<?> restore(NativeStore store, StateMetaInfoSnapshot meta) {
        RegisteredPriorityQueueStateBackendMetaInfo<?> info =
                new RegisteredPriorityQueueStateBackendMetaInfo<>(meta);
        return new NativeQueue<>(
                store.registerState(meta.getName(), NativeStore.KIND_MAP), info, true);
    }

    /** Whether the store held the queue before this run (a restore): it may have elements. */
    boolean restored() {
        return restored;
    }

    /** Writes every key group's fresh elements to the store. */
    void writeBack() {
        for (FerroQueueSet<?> set : sets) {
            set.writeBack();
        }
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
