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
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The timers of one key group: a set ordered by the elements' serialized bytes (the byte-ordered
 * serializers Flink gives timer queues make that their priority order), kept in the native store,
 * with new elements held back on the heap until they must be written.
 *
 * <p>Two parts make the set:
 *
 * <ul>
 *   <li>{@link #fresh}: elements added since they were last written back, not written to the store
 *       (at most {@link FerroTimerQueues#freshLimit} of them). Most timers are short-lived (a
 *       window fires, a session's end moves with each event, an operator registers a window's timer
 *       again at every flush of its buffer): added and removed between two checkpoints, they never
 *       reach the store. They are written back before every snapshot, when there are too many of
 *       them, and before the stored elements are listed. Each remembers whether it may also be
 *       stored (a timer registered again after it was written back): sets have no duplicates, so a
 *       duplicate is taken from both parts at once when it comes first.
 *   <li>the stored elements, with their earliest {@link FerroTimerQueues#CACHE_SIZE} cached in
 *       {@link #cache}: a prefix of them in order (every stored element smaller than the cache's
 *       last one is in the cache; {@link #complete}: the cache holds them all). When the cache runs
 *       empty and is not complete, it is refilled with one scan, which starts after the last
 *       element taken from the front (RocksDB keeps removed keys as tombstones until compaction; a
 *       scan from the key group's start would step over all of them).
 * </ul>
 *
 * <p>{@link #storedMax} bounds the stored elements from above, so removing a fresh element greater
 * than every stored one writes no tombstone: the common case of timers that move forward.
 */
final class FerroQueueSet<T> implements InternalPriorityQueue<T>, HeapPriorityQueueElement {
    private static final Comparator<byte[]> BYTE_ORDER = Arrays::compareUnsigned;

    private final FerroTimerQueues queues;
    private final NativeQueue<T> queue;
    private final int keyGroup;
    private final byte[] prefix;
    private final TreeSet<byte[]> cache = new TreeSet<>(BYTE_ORDER);

    /** Elements not written to the store; the value: true when it may be stored as well. */
    private final TreeMap<byte[], Boolean> fresh = new TreeMap<>(BYTE_ORDER);

    /** The cache holds every stored element. */
    private boolean complete;

    /**
     * Every stored element is greater than this key (the last one taken from the front), so scans
     * start after it. Null: scan from the key group's start.
     */
    @Nullable private byte[] seekHint;

    /** Whether {@link #storedMax} is known: not for a queue restored with elements, until read. */
    private boolean storedMaxKnown;

    /** No stored element is greater than this; null: nothing stored (when known). */
    @Nullable private byte[] storedMax;

    /** The first element, deserialized, and its bytes; null when not read yet. */
    @Nullable private T head;

    @Nullable private byte[] headKey;

    private int internalIndex = NOT_CONTAINED;

    FerroQueueSet(FerroTimerQueues queues, NativeQueue<T> queue, int keyGroup) {
        this.queues = queues;
        this.queue = queue;
        this.keyGroup = keyGroup;
        this.prefix = queues.keyGroupPrefix(keyGroup);
        // A queue registered in this run starts empty in the store; a restored one does not.
        this.storedMaxKnown = !queue.restored();
        queue.sets.add(this);
    }

    /** Refills an empty, incomplete cache from the store; afterwards an empty cache is complete. */
    private void fill() {
        if (complete || !cache.isEmpty()) {
            return;
        }
        ScanBatch scan = queues.scan(queue, prefix, seekHint, FerroTimerQueues.CACHE_SIZE + 1);
        try {
            while (cache.size() <= FerroTimerQueues.CACHE_SIZE && scan.advance()) {
                cache.add(scan.copyKey());
            }
        } finally {
            scan.release();
        }
        complete = cache.size() <= FerroTimerQueues.CACHE_SIZE;
        if (complete) {
            storedMaxKnown = true;
            storedMax = cache.isEmpty() ? null : cache.last();
        } else {
            cache.pollLast();
        }
    }

    /** The smallest element's bytes, or null when the set is empty. */
    @Nullable
    private byte[] firstKey() {
        fill();
        byte[] f = fresh.isEmpty() ? null : fresh.firstKey();
        byte[] c = cache.isEmpty() ? null : cache.first();
        if (f == null) {
            return c;
        }
        return c == null || BYTE_ORDER.compare(f, c) <= 0 ? f : c;
    }

    /**
     * Where {@code key} lies against the cache's range: negative below its last element, zero at
     * it, positive beyond it (every key is in range of a complete cache; none of an empty one).
     */
    private int againstCache(byte[] key) {
        if (complete) {
            return -1;
        }
        return cache.isEmpty() ? 1 : BYTE_ORDER.compare(key, cache.last());
    }

    /** Whether {@code key} may be in the cache: no greater than its last, or the cache is whole. */
    private boolean inCacheRange(byte[] key) {
        return againstCache(key) <= 0;
    }

    /** Whether the store may hold {@code key}, which the cache does not. */
    private boolean mayBeStored(byte[] key) {
        if (againstCache(key) < 0) {
            return false;
        }
        return !storedMaxKnown || (storedMax != null && BYTE_ORDER.compare(key, storedMax) <= 0);
    }

    @Nullable
    @Override
    public T peek() {
        byte[] first = firstKey();
        if (first == null) {
            return null;
        }
        if (head == null || !Arrays.equals(headKey, first)) {
            head = queues.deserialize(queue, first);
            headKey = first;
        }
        return head;
    }

    @Nullable
    @Override
    public T poll() {
        T first = peek();
        if (first != null) {
            byte[] key = headKey;
            if (!fresh.isEmpty() && Arrays.equals(fresh.firstKey(), key)) {
                fresh.pollFirstEntry();
            }
            if (!cache.isEmpty() && Arrays.equals(cache.first(), key)) {
                cache.pollFirst();
                queues.delete(queue, key);
                seekHint = key;
            }
            head = null;
            headKey = null;
        }
        return first;
    }

    /** Adds the element unless present; true when it became the first. */
    @Override
    public boolean add(@Nonnull T toAdd) {
        byte[] key = queues.serialize(queue, keyGroup, toAdd);
        byte[] first = firstKey();
        if (inCacheRange(key) && cache.contains(key)) {
            return false;
        }
        if (fresh.putIfAbsent(key, mayBeStored(key)) != null) {
            return false;
        }
        if (fresh.size() > queues.freshLimit()) {
            writeBack();
        }
        return first == null || BYTE_ORDER.compare(key, first) < 0;
    }

    /** Removes the element if present; true when it was the first. */
    @Override
    public boolean remove(@Nonnull T toRemove) {
        byte[] key = queues.serialize(queue, keyGroup, toRemove);
        byte[] first = firstKey();
        boolean wasFirst = first != null && Arrays.equals(first, key);
        Boolean freshMayBeStored = fresh.remove(key);
        if (inCacheRange(key) && cache.remove(key)) {
            queues.delete(queue, key);
            if (wasFirst) {
                seekHint = key;
            }
        } else if ((freshMayBeStored == null || freshMayBeStored) && mayBeStored(key)) {
            // Perhaps stored beyond the cache: a delete (a tombstone when it was not).
            queues.delete(queue, key);
        }
        if (wasFirst) {
            head = null;
            headKey = null;
        }
        return wasFirst;
    }

    /**
     * Writes the fresh elements to the store (before a snapshot, or when there are too many). Each
     * is first accounted as stored, then written, then leaves the fresh part: when a write fails
     * (the store keeps it pending), the element is in both parts, which the set handles as a timer
     * registered again, so no failure leaves a stored element the set does not know of.
     */
    void writeBack() {
        if (fresh.isEmpty()) {
            return;
        }
        fill();
        Iterator<Map.Entry<byte[], Boolean>> it = fresh.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<byte[], Boolean> e = it.next();
            byte[] key = e.getKey();
            e.setValue(true);
            if (seekHint != null && BYTE_ORDER.compare(key, seekHint) <= 0) {
                seekHint = null;
            }
            if (storedMaxKnown && (storedMax == null || BYTE_ORDER.compare(key, storedMax) > 0)) {
                storedMax = key;
            }
            // Keep the cache a prefix of the stored elements.
            if (againstCache(key) < 0) {
                cache.add(key);
                if (cache.size() > FerroTimerQueues.CACHE_SIZE) {
                    cache.pollLast();
                    complete = false;
                }
            }
            queues.put(queue, key);
            it.remove();
        }
    }

    @Override
    public boolean isEmpty() {
        return firstKey() == null;
    }

    @Override
    public int size() {
        writeBack();
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

    /** The key group's elements in order, read from the store after a write-back. */
    @Nonnull
    @Override
    public CloseableIterator<T> iterator() {
        writeBack();
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
