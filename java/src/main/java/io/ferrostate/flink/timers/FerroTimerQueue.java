package io.ferrostate.flink.timers;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.InternalPriorityQueue;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.Keyed;
import org.apache.flink.runtime.state.PriorityComparator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueue;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.IOUtils;

import javax.annotation.Nonnull;
import javax.annotation.Nullable;

import java.util.Collection;
import java.util.HashSet;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * A timer queue of the native store: one {@link FerroQueueSet} per key group under a heap of the
 * sets ordered by their first elements. It answers as Flink's {@code
 * KeyGroupPartitionedPriorityQueue} does (the same heap of heaps), and differs in how it finds an
 * element's key group: through {@link KeyGroups}, which the keyed backend answers without hashing
 * the key when it is the current key. The timer service registers and deletes timers under the
 * current key on every record of a window or SQL operator, and a key's group is a hash of its
 * {@code hashCode()}, which for SQL's binary rows hashes the row's bytes: the backend already did
 * that when the key was set.
 */
@Internal
public final class FerroTimerQueue<T extends HeapPriorityQueueElement & Keyed<?>>
        implements InternalPriorityQueue<T>, KeyGroupedInternalPriorityQueue<T> {

    /** The key group of a timer's key. */
    @FunctionalInterface
    public interface KeyGroups {
        /** The key group {@code key} belongs to, out of the job's key groups. */
        int of(Object key);
    }

    private final KeyGroups keyGroups;
    private final int firstKeyGroup;

    /** Per key group of the range, from its first: that key group's elements. */
    private final FerroQueueSet<T>[] sets;

    /** The sets by their first elements (an empty set last). */
    private final HeapPriorityQueue<FerroQueueSet<T>> byHead;

    @SuppressWarnings("unchecked")
    FerroTimerQueue(
            KeyGroups keyGroups,
            KeyGroupRange range,
            PriorityComparator<T> order,
            IntFunction<FerroQueueSet<T>> setOfKeyGroup) {
        this.keyGroups = keyGroups;
        this.firstKeyGroup = range.getStartKeyGroup();
        int n = range.getNumberOfKeyGroups();
        this.sets = (FerroQueueSet<T>[]) new FerroQueueSet<?>[n];
        this.byHead = new HeapPriorityQueue<>((a, b) -> compareHeads(order, a, b), Math.max(1, n));
        for (int i = 0; i < n; i++) {
            sets[i] = setOfKeyGroup.apply(firstKeyGroup + i);
            byHead.add(sets[i]);
        }
    }

    private static <T extends HeapPriorityQueueElement> int compareHeads(
            PriorityComparator<T> order, FerroQueueSet<T> a, FerroQueueSet<T> b) {
        T left = a.peek();
        T right = b.peek();
        if (left == null) {
            return right == null ? 0 : 1;
        }
        return right == null ? -1 : order.comparePriority(left, right);
    }

    private FerroQueueSet<T> setOf(T element) {
        return sets[keyGroups.of(element.getKey()) - firstKeyGroup];
    }

    @Nullable
    @Override
    public T poll() {
        FerroQueueSet<T> first = byHead.peek();
        if (first == null) {
            return null;
        }
        T head = first.poll();
        byHead.adjustModifiedElement(first);
        return head;
    }

    @Nullable
    @Override
    public T peek() {
        FerroQueueSet<T> first = byHead.peek();
        return first == null ? null : first.peek();
    }

    /**
     * Adds {@code toAdd}; true when it is now the queue's first element. Its set says whether it
     * became that set's first, and the set then leads the queue exactly when the element does:
     * equal elements have equal keys, so the queue's first element can equal it only in its own
     * set. (Asking the queue for its first element and comparing would read two heads again.)
     */
    @Override
    public boolean add(@Nonnull T toAdd) {
        FerroQueueSet<T> set = setOf(toAdd);
        if (!set.add(toAdd)) {
            return false;
        }
        byHead.adjustModifiedElement(set);
        return byHead.peek() == set;
    }

    /**
     * Removes {@code toRemove}; true when it was the queue's first element: when it was its set's
     * first (the set's answer) and that set led the queue (as in {@link #add}).
     */
    @Override
    public boolean remove(@Nonnull T toRemove) {
        FerroQueueSet<T> set = setOf(toRemove);
        boolean setLed = byHead.peek() == set;
        if (!set.remove(toRemove)) {
            return false;
        }
        byHead.adjustModifiedElement(set);
        return setLed;
    }

    @Override
    public boolean isEmpty() {
        return peek() == null;
    }

    @Override
    public int size() {
        int n = 0;
        for (FerroQueueSet<T> set : sets) {
            n += set.size();
        }
        return n;
    }

    @Override
    public void addAll(@Nullable Collection<? extends T> toAdd) {
        if (toAdd != null) {
            for (T element : toAdd) {
                add(element);
            }
        }
    }

    /** Every element, a key group after the other, in no particular order. */
    @Nonnull
    @Override
    public CloseableIterator<T> iterator() {
        return new CloseableIterator<T>() {
            private int next;
            private CloseableIterator<T> current = CloseableIterator.empty();

            @Override
            public boolean hasNext() {
                while (!current.hasNext() && next < sets.length) {
                    IOUtils.closeQuietly(current);
                    current = sets[next++].iterator();
                }
                return current.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return current.next();
            }

            @Override
            public void close() throws Exception {
                current.close();
            }
        };
    }

    @Nonnull
    @Override
    public Set<T> getSubsetForKeyGroup(int keyGroupId) {
        Set<T> subset = new HashSet<>();
        try (CloseableIterator<T> it = sets[keyGroupId - firstKeyGroup].iterator()) {
            it.forEachRemaining(subset::add);
        } catch (Exception e) {
            throw new FlinkRuntimeException("Could not list the timers of a key group.", e);
        }
        return subset;
    }
}
