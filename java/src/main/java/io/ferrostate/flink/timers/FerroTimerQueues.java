package io.ferrostate.flink.timers;

import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.annotation.Internal;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.Keyed;
import org.apache.flink.runtime.state.PriorityComparable;
import org.apache.flink.runtime.state.PriorityComparator;
import org.apache.flink.runtime.state.RegisteredPriorityQueueStateBackendMetaInfo;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.StateMigrationException;

import javax.annotation.Nullable;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.Consumer;

/**
 * The timer queues a keyed backend keeps in its native store ({@code
 * state.backend.ferrostate.timer-service.factory: NATIVE}). Each queue is a {@link FerroTimerQueue}
 * over one {@link FerroQueueSet} per key group; the elements live in the store ({@link
 * NativeQueue}), and each key-group set keeps on the heap only its earliest stored elements and a
 * bounded number of new ones not written yet (written back before every snapshot). All of it runs
 * on the task thread, as the keyed state does.
 */
@Internal
public final class FerroTimerQueues {
    /** Stored elements each key group caches: its earliest ones, as RocksDB's sets keep. */
    static final int CACHE_SIZE = 128;

    /**
     * Fresh elements (added, not yet written to the store) a key group holds at least, however many
     * key groups share the queue's heap buffer.
     */
    static final int MIN_FRESH = 2;

    /**
     * Fresh elements a key group holds at least when its limit adapts down ({@code
     * FerroQueueSet#adaptLimit}): a write-back then writes this many elements in one sorted run.
     */
    static final int ADAPTED_MIN_FRESH = 16;

    private final NativeStore store;
    private final Consumer<byte[]> rawKeys;
    private final int prefixBytes;
    private final KeyGroupRange keyGroupRange;
    private final FerroTimerQueue.KeyGroups keyGroups;
    private final LinkedHashMap<String, NativeQueue<?>> queues;
    private final DataOutputSerializer out = new DataOutputSerializer(64);
    private final DataInputDeserializer in = new DataInputDeserializer();
    private final int freshLimit;

    /**
     * @param rawKeys writes a whole key into the store's key buffer (the keyed backend's key
     *     builder, which then rebuilds the current key at the next state access)
     * @param keyGroups the key group of a timer's key (the backend knows its current key's)
     * @param queues the queues restored from snapshots, by name; registrations are added to it
     * @param heapBuffer fresh elements (added, not yet written to the store) one queue holds on the
     *     heap, over all its key groups ({@code timer-service.heap-buffer})
     */
    public FerroTimerQueues(
            NativeStore store,
            Consumer<byte[]> rawKeys,
            int prefixBytes,
            KeyGroupRange keyGroupRange,
            FerroTimerQueue.KeyGroups keyGroups,
            LinkedHashMap<String, NativeQueue<?>> queues,
            int heapBuffer) {
        this.store = store;
        this.rawKeys = rawKeys;
        this.prefixBytes = prefixBytes;
        this.keyGroupRange = keyGroupRange;
        this.keyGroups = keyGroups;
        this.queues = queues;
        this.freshLimit =
                Math.max(MIN_FRESH, heapBuffer / Math.max(1, keyGroupRange.getNumberOfKeyGroups()));
    }

    /** Fresh elements a key group holds at most before it writes them to the store. */
    int freshLimit() {
        return freshLimit;
    }

    /** The least a key group's limit adapts down to. */
    int minFresh() {
        return Math.min(freshLimit, ADAPTED_MIN_FRESH);
    }

    /**
     * Writes the elements of every queue that are held on the heap to the store: before a snapshot,
     * which copies or lists the store.
     */
    public void writeBack() {
        for (NativeQueue<?> q : queues.values()) {
            q.writeBack();
        }
    }

    /** Timers waiting on the heap, not yet written to the store, over every queue (tests). */
    @VisibleForTesting
    public int heapTimers() {
        int n = 0;
        for (NativeQueue<?> q : queues.values()) {
            for (FerroQueueSet<?> set : q.sets) {
                n += set.freshSize();
            }
        }
        return n;
    }

    /** The native queues, restored and registered, in registration order. */
    public Collection<NativeQueue<?>> inOrder() {
        return queues.values();
    }

    public boolean contains(String name) {
        return queues.containsKey(name);
    }

    /**
     * The queue {@code name}, registered on first use. A restored queue keeps its elements; its new
     * serializer must not be incompatible with the restored one (elements are keys in the store, so
     * they cannot be migrated: RocksDB's rule for its timer column families).
     */
    @SuppressWarnings("unchecked")
    public <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            KeyGroupedInternalPriorityQueue<T> create(
                    String name, TypeSerializer<T> serializer, boolean allowFutureMetadataUpdates) {
        NativeQueue<T> q = (NativeQueue<T>) queues.get(name);
        if (q == null) {
            q =
                    new NativeQueue<>(
                            store.registerState(name, NativeStore.KIND_MAP),
                            metaInfo(name, serializer, allowFutureMetadataUpdates),
                            false);
            queues.put(name, q);
        } else if (q.metaInfo().getElementSerializer() != serializer) {
            TypeSerializerSchemaCompatibility<T> compatibility =
                    q.metaInfo().updateElementSerializer(serializer);
            if (compatibility.isIncompatible()) {
                throw new FlinkRuntimeException(
                        new StateMigrationException(
                                "The new serializer of timer queue "
                                        + name
                                        + " is incompatible with the restored one: timers are"
                                        + " stored by their serialized bytes and cannot be"
                                        + " migrated."));
            }
            q.setMetaInfo(metaInfo(name, serializer, allowFutureMetadataUpdates));
        }
        if (q.queue == null) {
            NativeQueue<T> queue = q;
            PriorityComparator<T> order = PriorityComparator.forPriorityComparableObjects();
            q.queue =
                    new FerroTimerQueue<>(
                            keyGroups,
                            keyGroupRange,
                            order,
                            keyGroup -> new FerroQueueSet<>(this, queue, keyGroup, order));
        }
        return (FerroTimerQueue<T>) q.queue;
    }

    private static <T> RegisteredPriorityQueueStateBackendMetaInfo<T> metaInfo(
            String name, TypeSerializer<T> serializer, boolean allowFutureMetadataUpdates) {
        RegisteredPriorityQueueStateBackendMetaInfo<T> info =
                new RegisteredPriorityQueueStateBackendMetaInfo<>(name, serializer);
        return allowFutureMetadataUpdates ? info.withSerializerUpgradesAllowed() : info;
    }

    /**
     * Hands every element of the native queue {@code name} to {@code sink}, then removes them from
     * the store and forgets the queue: its timers move to a heap queue ({@code HEAP} timers, or an
     * operator on the asynchronous state API, restored from a snapshot with native timers).
     */
    public <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            void drain(String name, TypeSerializer<T> serializer, Consumer<T> sink) {
        KeyGroupedInternalPriorityQueue<T> q = create(name, serializer, true);
        List<T> elements = new ArrayList<>();
        try (CloseableIterator<T> it = q.iterator()) {
            it.forEachRemaining(elements::add);
        } catch (Exception e) {
            throw new FlinkRuntimeException("Could not read the timers of " + name, e);
        }
        NativeQueue<?> removed = queues.remove(name);
        for (int kg : keyGroupRange) {
            rawKeys.accept(keyGroupPrefix(kg));
            store.deletePrefix(removed.stateId(), prefixBytes);
        }
        elements.forEach(sink);
    }

    // ------------------------------------------------------------------------
    //  What the key-group sets do with the store (task thread only)
    // ------------------------------------------------------------------------

    byte[] keyGroupPrefix(int keyGroup) {
        out.clear();
        try {
            CompositeKeySerializationUtils.writeKeyGroup(keyGroup, prefixBytes, out);
        } catch (IOException e) {
            throw new FlinkRuntimeException(e);
        }
        return out.getCopyOfBuffer();
    }

    /** {@code [key group][element]}, the element's key in the store. */
    <T> byte[] serialize(NativeQueue<T> queue, int keyGroup, T element) {
        out.clear();
        try {
            CompositeKeySerializationUtils.writeKeyGroup(keyGroup, prefixBytes, out);
            queue.metaInfo().getElementSerializer().serialize(element, out);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not serialize a timer of " + queue.name(), e);
        }
        return out.getCopyOfBuffer();
    }

    <T> T deserialize(NativeQueue<T> queue, byte[] key) {
        in.setBuffer(key, prefixBytes, key.length - prefixBytes);
        try {
            return queue.metaInfo().getElementSerializer().deserialize(in);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not read a timer of " + queue.name(), e);
        }
    }

    void put(NativeQueue<?> queue, byte[] key) {
        rawKeys.accept(key);
        store.setAdd(queue.stateId(), key.length);
    }

    void delete(NativeQueue<?> queue, byte[] key) {
        rawKeys.accept(key);
        store.setRemove(queue.stateId(), key.length);
    }

    /**
     * A scan of one key group's elements in byte (priority) order, {@code batch} per crossing,
     * after {@code startAfter} when given (the set's smallest possible element: removed elements
     * before it left tombstones a scan from the start would step over).
     */
    ScanBatch scan(
            NativeQueue<?> queue, byte[] keyGroupPrefix, @Nullable byte[] startAfter, int batch) {
        return new ScanBatch(store, queue.stateId(), keyGroupPrefix, startAfter, batch);
    }
}
