package io.ferrostate.flink.timers;

import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.runtime.state.InternalPriorityQueue;
import org.apache.flink.runtime.state.PriorityComparator;
import org.apache.flink.runtime.state.heap.HeapPriorityQueue;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.util.CloseableIterator;

import javax.annotation.Nonnull;
import javax.annotation.Nullable;

import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.NoSuchElementException;
import java.util.TreeSet;

/**
 * The timers of one key group: a set ordered by priority, kept in the native store as the elements'
 * serialized bytes (the byte-ordered serializers Flink gives timer queues make byte order a
 * refinement of priority order), with new elements held back on the heap as objects until they must
 * be written.
 *
 * <p>Two parts make the set:
 *
 * <ul>
 *   <li>{@link #fresh}: elements added since they were last written back, not written to the store
 *       (at most {@link #limit} of them), held as copies (the backend lets callers reuse key
 *       objects, {@code isSafeToReuseKVState()}) in a heap ordered by priority, as Flink's heap
 *       timers are. Most timers are short-lived (a window fires, a session's end moves with each
 *       event, an operator registers a window's timer again at every flush of its buffer): added
 *       and removed between two checkpoints, they are never serialized and never reach the store.
 *       They are written back before every snapshot, when there are too many of them, and before
 *       the stored elements are listed. Those in {@link #freshAlsoStored} may also be stored (a
 *       timer registered again after it was written back): sets have no duplicates, so a duplicate
 *       is taken from both parts at once when it comes first. Every other fresh element is known
 *       not to be stored.
 *   <li>the stored elements, with their earliest {@link FerroTimerQueues#CACHE_SIZE} cached in
 *       {@link #cache}: a prefix of them in byte order (every stored element smaller than the
 *       cache's last one is in the cache; {@link #complete}: the cache holds them all). When the
 *       cache runs empty and is not complete, it is refilled with one scan, which starts after the
 *       last element taken from the front (RocksDB keeps removed keys as tombstones until
 *       compaction; a scan from the key group's start would step over all of them).
 * </ul>
 *
 * <p>{@link #storedMax} bounds the stored elements from above, so an element of a greater priority
 * is known not to be stored without serializing it: adding and removing timers that move forward
 * (the common case) touch neither the store nor a serializer.
 */
final class FerroQueueSet<T extends HeapPriorityQueueElement>
        implements InternalPriorityQueue<T>, HeapPriorityQueueElement {
    private static final Comparator<byte[]> BYTE_ORDER = Arrays::compareUnsigned;

    /** Initial capacity of the fresh elements' heap (it grows as needed). */
    private static final int FRESH_CAPACITY = 4;

    private final FerroTimerQueues queues;
    private final NativeQueue<T> queue;
    private final int keyGroup;
    private final byte[] prefix;
    private final PriorityComparator<T> order;
    private final TreeSet<byte[]> cache = new TreeSet<>(BYTE_ORDER);

    /** Elements not written to the store, by priority: the set's own copies. */
    private HeapPriorityQueue<T> fresh;

    /** The fresh elements by value, each mapped to the set's copy in {@link #fresh}. */
    private HashMap<T, T> freshByValue = new HashMap<>();

    /** The fresh elements (copies) that may be stored as well. */
    private HashSet<T> freshAlsoStored = new HashSet<>();

    /**
     * The most elements a write-back found since the heap and the maps were made: their arrays and
     * tables never shrink, so once the limit is far below it they are made anew.
     */
    private int freshHighWater;

    /**
     * Fresh elements this set holds before it writes them back: its share of the queue's heap
     * buffer ({@link FerroTimerQueues#freshLimit}) while its elements tend to leave while fresh,
     * less while they do not (see {@link #adaptLimit}).
     */
    private int limit;

    /** Elements added to {@link #fresh} since the last write-back. */
    private int addedSinceWriteBack;

    /** Of those, how many left while fresh (polled or removed before a write-back). */
    private int leftFreshSinceWriteBack;

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

    /** {@link #storedMax} as an element; null when not read yet. */
    @Nullable private T storedMaxElement;

    /** The cache's first element, deserialized, and its bytes (the cache's own array). */
    @Nullable private T storedHead;

    @Nullable private byte[] storedHeadKey;

    private int internalIndex = NOT_CONTAINED;

    FerroQueueSet(
            FerroTimerQueues queues,
            NativeQueue<T> queue,
            int keyGroup,
            PriorityComparator<T> order) {
        this.queues = queues;
        this.queue = queue;
        this.keyGroup = keyGroup;
        this.prefix = queues.keyGroupPrefix(keyGroup);
        this.order = order;
        this.fresh = new HeapPriorityQueue<>(order, FRESH_CAPACITY);
        this.limit = queues.freshLimit();
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
            storedMaxElement = null;
        } else {
            cache.pollLast();
        }
    }

    /** The first stored element (the cache's first), or null when nothing is stored. */
    @Nullable
    private T storedHead() {
        fill();
        if (cache.isEmpty()) {
            return null;
        }
        byte[] first = cache.first();
        if (first != storedHeadKey) {
            storedHead = queues.deserialize(queue, first);
            storedHeadKey = first;
        }
        return storedHead;
    }

    /**
     * Whether the fresh part's first comes before the stored one's (ties go to the fresh one, so an
     * element in both parts leaves both at once).
     */
    private static <T> boolean freshFirst(
            PriorityComparator<T> order, @Nullable T freshHead, @Nullable T storedHead) {
        return freshHead != null
                && (storedHead == null || order.comparePriority(freshHead, storedHead) <= 0);
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

    /**
     * Whether {@code element} is known not to be stored without serializing it: nothing is stored,
     * or it comes after the greatest stored element in priority (so in byte order too).
     */
    private boolean knownNotStored(T element) {
        if (!storedMaxKnown) {
            return false;
        }
        if (storedMax == null) {
            return true;
        }
        if (storedMaxElement == null) {
            storedMaxElement = queues.deserialize(queue, storedMax);
        }
        return order.comparePriority(element, storedMaxElement) > 0;
    }

    /** Takes {@code key} from the store (and the cache) when it may be there. */
    private void removeStored(byte[] key) {
        fill();
        if (inCacheRange(key)) {
            if (cache.isEmpty()) {
                return;
            }
            boolean cacheFirst = Arrays.equals(cache.first(), key);
            if (cache.remove(key)) {
                queues.delete(queue, key);
                if (cacheFirst) {
                    seekHint = key;
                }
            }
        } else if (mayBeStored(key)) {
            // Perhaps stored beyond the cache: a delete (a tombstone when it was not).
            queues.delete(queue, key);
        }
    }

    @Nullable
    @Override
    public T peek() {
        T f = fresh.peek();
        T s = storedHead();
        return freshFirst(order, f, s) ? f : s;
    }

    @Nullable
    @Override
    public T poll() {
        T f = fresh.peek();
        T s = storedHead();
        if (freshFirst(order, f, s)) {
            fresh.poll();
            freshByValue.remove(f);
            leftFreshSinceWriteBack++;
            if (!freshAlsoStored.isEmpty() && freshAlsoStored.remove(f)) {
                removeStored(queues.serialize(queue, keyGroup, f));
            }
            return f;
        }
        if (s != null) {
            byte[] key = cache.pollFirst();
            queues.delete(queue, key);
            seekHint = key;
            if (!freshAlsoStored.isEmpty()) {
                T copy = freshByValue.get(s);
                if (copy != null && freshAlsoStored.remove(copy)) {
                    freshByValue.remove(copy);
                    fresh.remove(copy);
                }
            }
        }
        return s;
    }

    /** Adds the element unless present; true when it became the first. */
    @Override
    public boolean add(@Nonnull T toAdd) {
        if (freshByValue.containsKey(toAdd)) {
            return false;
        }
        boolean alsoStored = false;
        if (!knownNotStored(toAdd)) {
            byte[] key = queues.serialize(queue, keyGroup, toAdd);
            fill();
            if (inCacheRange(key) && cache.contains(key)) {
                return false;
            }
            alsoStored = mayBeStored(key);
        }
        T copy = queue.metaInfo().getElementSerializer().copy(toAdd);
        freshByValue.put(copy, copy);
        fresh.add(copy);
        addedSinceWriteBack++;
        if (alsoStored) {
            freshAlsoStored.add(copy);
        }
        boolean first = peek() == copy;
        if (freshByValue.size() > limit) {
            adaptLimit();
            writeBack();
        }
        return first;
    }

    /**
     * Sizes the set's share of the heap buffer when it overflows. Holding an element back pays when
     * it leaves before it is written (a window's timer that fires, a session's that moves). It does
     * not when the fresh elements come after more stored ones than the cache holds ({@link
     * #farAhead}) and fewer than a quarter of those added since the last write-back left while
     * fresh: timers registered far ahead (cleanup timers, long windows, a backlog) fire only after
     * those stored ones, so holding them delays their write and keeps them on the heap, where they
     * outlive young collections. Then the set holds half as many next time, down to {@link
     * FerroTimerQueues#minFresh}; otherwise twice as many, up to its share of the buffer.
     */
    private void adaptLimit() {
        if (farAhead() && leftFreshSinceWriteBack * 4L < addedSinceWriteBack) {
            limit = Math.max(queues.minFresh(), limit / 2);
        } else {
            limit = (int) Math.min(queues.freshLimit(), limit * 2L);
        }
    }

    /**
     * Whether more stored elements come before the fresh ones than the cache holds: the fresh
     * head's priority is not below the cache's last (the cache is a prefix of the stored elements,
     * so at least that many fire first; ties included, as a step of timers of one time is written
     * in parts). Needs no bound of the stored elements, so it holds for restored queues too.
     */
    private boolean farAhead() {
        T head = fresh.peek();
        fill();
        if (head == null || complete) {
            return false;
        }
        return order.comparePriority(head, queues.deserialize(queue, cache.last())) >= 0;
    }

    /** Elements waiting on the heap, not yet written to the store. */
    int freshSize() {
        return freshByValue.size();
    }

    /** Removes the element if present; true when it was the first. */
    @Override
    public boolean remove(@Nonnull T toRemove) {
        T first = peek();
        boolean wasFirst = first != null && first.equals(toRemove);
        T copy = freshByValue.remove(toRemove);
        if (copy != null) {
            fresh.remove(copy);
            leftFreshSinceWriteBack++;
            if (!freshAlsoStored.isEmpty() && freshAlsoStored.remove(copy)) {
                removeStored(queues.serialize(queue, keyGroup, toRemove));
            }
        } else if (!knownNotStored(toRemove)) {
            removeStored(queues.serialize(queue, keyGroup, toRemove));
        }
        return wasFirst;
    }

    /**
     * Writes the fresh elements to the store (before a snapshot, or when there are too many), in
     * byte order (the store's write batch and the cache take them fastest so). They are accounted
     * as stored as they are written, and leave the fresh part when all are written: when a write
     * fails (the store keeps it pending), every one of them is kept in both parts, which the set
     * handles as timers registered again, so no failure leaves a stored element the set does not
     * know of.
     */
    void writeBack() {
        addedSinceWriteBack = 0;
        leftFreshSinceWriteBack = 0;
        if (fresh.isEmpty()) {
            return;
        }
        fill();
        // The heap's array, not the maps: their tables keep the size of the largest buffer the
        // set ever held, which a set whose limit adapted down would walk at every write-back.
        Object[] elements = fresh.toArray(new Object[0]);
        int n = elements.length;
        byte[][] keys = new byte[n][];
        for (int i = 0; i < n; i++) {
            @SuppressWarnings("unchecked")
            T element = (T) elements[i];
            keys[i] = queues.serialize(queue, keyGroup, element);
        }
        Arrays.sort(keys, BYTE_ORDER);
        if (seekHint != null && BYTE_ORDER.compare(keys[0], seekHint) <= 0) {
            seekHint = null;
        }
        byte[] last = keys[n - 1];
        if (storedMaxKnown && (storedMax == null || BYTE_ORDER.compare(last, storedMax) > 0)) {
            storedMax = last;
            storedMaxElement = null;
        }
        try {
            for (byte[] key : keys) {
                // Keep the cache a prefix of the stored elements.
                if (againstCache(key) < 0) {
                    cache.add(key);
                    if (cache.size() > FerroTimerQueues.CACHE_SIZE) {
                        cache.pollLast();
                        complete = false;
                    }
                }
                queues.put(queue, key);
            }
        } catch (Throwable t) {
            // Some are stored (or pending in the store), some not: each may be.
            for (Object element : elements) {
                @SuppressWarnings("unchecked")
                T e = (T) element;
                freshAlsoStored.add(e);
            }
            throw t;
        }
        fresh.clear();
        freshHighWater = Math.max(freshHighWater, n);
        if (freshHighWater > 8 * Math.max(limit, FRESH_CAPACITY)) {
            // The limit adapted down: drop the arrays and tables sized for the largest buffer.
            fresh = new HeapPriorityQueue<>(order, FRESH_CAPACITY);
            freshByValue = new HashMap<>();
            freshAlsoStored = new HashSet<>();
            freshHighWater = 0;
        } else {
            for (Object element : elements) {
                freshByValue.remove(element);
                freshAlsoStored.remove(element);
            }
        }
    }

    @Override
    public boolean isEmpty() {
        fill();
        return fresh.isEmpty() && cache.isEmpty();
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
