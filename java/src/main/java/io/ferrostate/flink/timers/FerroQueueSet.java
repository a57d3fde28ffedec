package io.ferrostate.flink.timers;

import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.runtime.state.InternalPriorityQueue;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.util.CloseableIterator;

import javax.annotation.Nonnull;
import javax.annotation.Nullable;

import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.NoSuchElementException;
import java.util.TreeSet;

/**
 * The timers of one key group: a set ordered by the elements' serialized bytes (the byte-ordered
 * serializers Flink gives timer queues make that their priority order), kept in the native store,
 * with its earliest {@link FerroTimerQueues#CACHE_SIZE} elements cached on the heap.
 *
 * <p>The cache holds a prefix of the set in order: every stored element smaller than the cache's
 * last one is in the cache, and {@link #complete} says the cache holds the whole set. Adds and
 * removes write through to the store; an element beyond the cache's last goes to the store alone.
 * When the cache runs empty and is not complete, it is refilled from the store with one scan, which
 * starts after the last element taken from the front (RocksDB keeps removed keys as tombstones
 * until compaction; a scan from the key group's start would step over all of them).
 */
final class FerroQueueSet<T> implements InternalPriorityQueue<T>, HeapPriorityQueueElement {
    private static final Comparator<byte[]> BYTE_ORDER = Arrays::compareUnsigned;

    private final FerroTimerQueues queues;
    private final NativeQueue<T> queue;
    private final int keyGroup;
    private final byte[] prefix;
    private final TreeSet<byte[]> cache = new TreeSet<>(BYTE_ORDER);

    /** The cache holds every element of the key group. */
    private boolean complete;

    /**
     * Every element of the set is greater than this key (the last one taken from the front), so
     * scans start after it. Null: scan from the key group's start.
     */
    @Nullable private byte[] seekHint;

    /** The first element, deserialized; null when not read yet. */
    @Nullable private T head;

    private int internalIndex = NOT_CONTAINED;

    FerroQueueSet(FerroTimerQueues queues, NativeQueue<T> queue, int keyGroup) {
        this.queues = queues;
        this.queue = queue;
        this.keyGroup = keyGroup;
        this.prefix = queues.keyGroupPrefix(keyGroup);
    }

    /** Refills an empty, incomplete cache from the store; afterwards an empty cache is complete. */
    private void fill() {
        if (complete || !cache.isEmpty()) {
            return;
        }
        head = null;
        ScanBatch scan = queues.scan(queue, prefix, seekHint, FerroTimerQueues.CACHE_SIZE + 1);
        try {
            while (cache.size() <= FerroTimerQueues.CACHE_SIZE && scan.advance()) {
                cache.add(scan.copyKey());
            }
        } finally {
            scan.release();
        }
        complete = cache.size() <= FerroTimerQueues.CACHE_SIZE;
        if (!complete) {
            cache.pollLast();
        }
    }

    @Nullable
    @Override
    public T peek() {
        fill();
        if (cache.isEmpty()) {
            return null;
        }
        if (head == null) {
            head = queues.deserialize(queue, cache.first());
        }
        return head;
    }

    @Nullable
    @Override
    public T poll() {
        T first = peek();
        if (first != null) {
            byte[] key = cache.pollFirst();
            queues.delete(queue, key);
            seekHint = key;
            head = null;
        }
        return first;
    }

    /** Adds the element unless present; true when it became the first. */
    @Override
    public boolean add(@Nonnull T toAdd) {
        fill();
        byte[] key = queues.serialize(queue, keyGroup, toAdd);
        if (cache.contains(key)) {
            return false;
        }
        queues.put(queue, key);
        if (seekHint != null && BYTE_ORDER.compare(key, seekHint) <= 0) {
            seekHint = null;
        }
        // Not complete: the cache is not empty (fill), and a key after its last stays stored only.
        if (!complete && BYTE_ORDER.compare(key, cache.last()) > 0) {
            return false;
        }
        cache.add(key);
        if (cache.size() > FerroTimerQueues.CACHE_SIZE) {
            cache.pollLast();
            complete = false;
        }
        if (cache.first() == key) {
            head = null;
            return true;
        }
        return false;
    }

    /** Removes the element if present; true when it was the first. */
    @Override
    public boolean remove(@Nonnull T toRemove) {
        fill();
        byte[] key = queues.serialize(queue, keyGroup, toRemove);
        boolean first = !cache.isEmpty() && Arrays.equals(cache.first(), key);
        boolean cached = cache.remove(key);
        if (cached || !complete) {
            // A complete cache knows an uncached element is absent: nothing to delete.
            queues.delete(queue, key);
        }
        if (first) {
            seekHint = key;
            head = null;
        }
        return first;
    }

    @Override
    public boolean isEmpty() {
        fill();
        return cache.isEmpty();
    }

    @Override
    public int size() {
        fill();
        if (complete) {
            return cache.size();
        }
        int n = 0;
        ScanBatch scan = queues.scan(queue, prefix, seekHint, 1024);
        try {
            while (scan.advance()) {
                n++;
            }
        } finally {
            scan.release();
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

    /** The key group's elements in order, read from the store (the cache writes through). */
    @Nonnull
    @Override
    public CloseableIterator<T> iterator() {
        ScanBatch scan = queues.scan(queue, prefix, seekHint, 256);
        return new CloseableIterator<T>() {
            private boolean ahead;
            private boolean done;

            @Override
            public boolean hasNext() {
                if (!ahead && !done) {
                    ahead = scan.advance();
                    done = !ahead;
                }
                return ahead;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                ahead = false;
                return queues.deserialize(queue, scan.copyKey());
            }

            @Override
            public void close() {
                scan.release();
            }
        };
    }

    @Override
    public int getInternalIndex() {
        return internalIndex;
    }

    @Override
    public void setInternalIndex(int newIndex) {
        this.internalIndex = newIndex;
    }
}
