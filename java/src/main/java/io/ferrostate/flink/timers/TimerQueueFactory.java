package io.ferrostate.flink.timers;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.Keyed;
import org.apache.flink.runtime.state.PriorityComparable;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;

/** A keyed backend that hands out timer queues kept in its store or on the heap, as asked. */
@Internal
public interface TimerQueueFactory {
    /**
     * A timer queue in the native store ({@code inStore}) or on the heap. Timers restored into the
     * other place move over at this first registration.
     */
    <T extends HeapPriorityQueueElement & PriorityComparable<? super T> & Keyed<?>>
            KeyGroupedInternalPriorityQueue<T> createQueue(
                    String stateName,
                    TypeSerializer<T> byteOrderedElementSerializer,
                    boolean allowFutureMetadataUpdates,
                    boolean inStore);
}
