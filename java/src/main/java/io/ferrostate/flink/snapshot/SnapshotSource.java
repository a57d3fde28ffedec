package io.ferrostate.flink.snapshot;

import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.timers.NativeQueue;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;

import java.io.File;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * What the snapshot strategies need of a keyed backend, and nothing more: its states, timers, store
 * and key layout. The backend implements it; the snapshot code knows no other part of it.
 */
@Internal
public interface SnapshotSource<K> {

    /** The key/value states, in the order of their ids. */
    List<StateInfo> kvStatesInOrder();

    /** The timer queues on the heap, by name. */
    Map<String, HeapPriorityQueueSnapshotRestoreWrapper<?>> getRegisteredPQStates();

    /** The timer queues kept in the native store, in registration order. */
    Collection<NativeQueue<?>> nativeQueues();

    /** The native store holding the key/value states. */
    NativeStore store();

    /** The backend's working directory, where snapshot directories are linked. */
    File getInstanceBasePath();

    KeyGroupRange getKeyGroupRange();

    TypeSerializer<K> getKeySerializer();

    int getKeyGroupPrefixBytes();

    StreamCompressionDecorator getKeyGroupCompressionDecorator();
}
