package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;

/**
 * One backend's native store: a hot tier in front of RocksDB, a column family per state.
 *
 * <p>Keys and values cross JNI through two direct buffers registered with the native side: Java
 * writes the composite key into {@link #keyView()} and passes lengths only; a value to write goes
 * into {@link #valueOut()}; a value read comes back in the value buffer and is read through {@link
 * #valueIn(int)}. Not thread-safe: a backend's task thread uses it.
 */
@Internal
public final class NativeStore extends NativeObject {

    static {
        NativeLibraryLoader.ensureLoaded();
    }

    /** State kinds, as the native side knows them. */
    public static final int KIND_VALUE = 0;

    public static final int KIND_LIST = 1;
    public static final int KIND_MAP = 2;

    /** TTL layouts of {@link #setTtl}. */
    public static final int TTL_VALUE = 0;

    public static final int TTL_LIST = 1;
    public static final int TTL_MAP = 2;

    private final DirectOutputView keyView;
    private final DirectOutputView valueOut;
    private final DirectInputView valueIn = new DirectInputView();

    /**
     * Values longer than this are read into a heap array rather than growing the direct value
     * buffer (see {@link #get}).
     */
    public static final int MAX_DIRECT_VALUE = 4 << 20;

    /** Where the value of the last {@link #get} is: the value buffer, or a heap array. */
    private ByteBuffer lastRead;

    private final String path;

    /** Kept alive for the native TTL clock, which reads it until the store is closed. */
    private final ByteBuffer timeCell;

    /**
     * Opens (or creates) the store at {@code path}.
     *
     * @param timeCell an aligned 8-byte direct buffer holding the current TTL time in native byte
     *     order, which the TTL compaction filter reads; null for the system clock
     */
    public NativeStore(String path, NativeMemory memory, long maxHotValue, ByteBuffer timeCell) {
        super(open(path, memory.nativeHandle(), maxHotValue, timeCell), "store at " + path);
        this.path = path;
        this.timeCell = timeCell;
        DirectOutputView.GrowthListener reRegister = v -> registerBuffers();
        this.keyView = new DirectOutputView(256, MAX_DIRECT_VALUE, reRegister);
        this.valueOut = new DirectOutputView(4096, MAX_DIRECT_VALUE, reRegister);
        this.lastRead = valueOut.buffer();
        registerBuffers();
    }

    private void registerBuffers() {
        setBuffers(handle(), keyView.buffer(), valueOut.buffer());
    }

    public String path() {
        return path;
    }

    /** Where composite keys are built. */
    public DirectOutputView keyView() {
        return keyView;
    }

    /** Where values to write are serialized; cleared by the caller. */
    public DirectOutputView valueOut() {
        return valueOut;
    }

    /** The value just read, {@code length} bytes. */
    public DirectInputView valueIn(int length) {
        return valueIn.reset(lastRead, 0, length);
    }

    /** Scan buffers returned by finished scans, reused by the next (task thread only). */
    private final java.util.ArrayDeque<ByteBuffer> scanBuffers = new java.util.ArrayDeque<>();

    private static final int SCAN_BUFFER = 16 * 1024;

    /** A direct buffer for a scan: a returned one when there is one. */
    ByteBuffer borrowScanBuffer(int minCapacity) {
        ByteBuffer b = scanBuffers.pollFirst();
        if (b == null || b.capacity() < minCapacity) {
            b =
                    ByteBuffer.allocateDirect(Math.max(SCAN_BUFFER, minCapacity))
                            .order(java.nio.ByteOrder.BIG_ENDIAN);
        }
        return b;
    }

    /** Takes a scan buffer back for reuse (keeps a few). */
    void returnScanBuffer(ByteBuffer b) {
        if (scanBuffers.size() < 4) {
            scanBuffers.addFirst(b);
        }
    }

    /**
     * True when no entry's key starts with the key buffer's first {@code prefixLength} bytes, one
     * map's prefix (see {@link #putEntry}).
     */
    public boolean isEmptyPrefix(int state, int prefixLength) {
        return isEmptyPrefix(handle(), state, prefixLength);
    }

    public int registerState(String name, int kind) {
        return registerState(handle(), name, kind);
    }

    /** Names of all states the store holds, restored ones included, by state id. */
    public String[] stateNames() {
        return stateNames(handle());
    }

    /** Sets the TTL compaction filter of a state; a negative ttl clears it. */
    public void setTtl(int state, long ttlMillis, int layout, int queryTimeAfterNumEntries) {
        setTtl(handle(), state, ttlMillis, layout, queryTimeAfterNumEntries);
    }

    /**
     * Reads the value of the key in the key buffer ({@code keyLength} bytes).
     *
     * @return the value's length (read it with {@link #valueIn(int)}), or -1 when absent
     */
    public int get(int state, int keyLength) {
        long h = handle();
        int len = get(h, state, keyLength);
        lastRead = valueOut.buffer();
        if (len > lastRead.capacity()) {
            if (len > MAX_DIRECT_VALUE) {
                return getLarge(h, state, keyLength);
            }
            valueOut.clear();
            valueOut.ensureCapacity(len);
            lastRead = valueOut.buffer();
            len = get(h, state, keyLength);
        }
        return len;
    }

    /**
     * Reads a value too large for the direct value buffer into a heap array: the JVM's direct
     * memory is small (Flink sizes it from its off-heap and network memory), and a value of any
     * size (a window's list of rows in SQL) must be readable.
     */
    private int getLarge(long h, int state, int keyLength) {
        byte[] key = new byte[keyLength];
        ByteBuffer keys = keyView.buffer().duplicate();
        keys.position(0);
        keys.get(key);
        byte[] value = getBytes(h, state, key);
        if (value == null) {
            return -1;
        }
        lastRead = ByteBuffer.wrap(value);
        return value.length;
    }

    /**
     * Reads the value of {@code key} without touching the shared buffers: safe from threads other
     * than the task thread (queryable state). Returns null when absent.
     */
    public byte[] getBytes(int state, byte[] key) {
        return getBytes(handle(), state, key);
    }

    public boolean contains(int state, int keyLength) {
        return contains(handle(), state, keyLength);
    }

    /** Writes the value in the value buffer ({@code valueLength} bytes). */
    public void put(int state, int keyLength, int valueLength) {
        put(handle(), state, keyLength, valueLength);
    }

    public void delete(int state, int keyLength) {
        delete(handle(), state, keyLength);
    }

    /** A multi-get answer's length when the key holds nothing (see {@link #getMany}). */
    public static final int ANSWER_ABSENT = -1;

    /** A multi-get answer's length when the hot tier does not know the key ({@code hotOnly}). */
    public static final int ANSWER_NOT_HOT = -2;

    /**
     * Reads {@code count} keys in one call. The requests are {@code length} bytes of {@code
     * requests} from {@code offset}, each {@code [int state][int key length][key]}; the answers go
     * to {@code answers} from its start, in order, each {@code [int n][n bytes]} where {@code n} is
     * {@link #ANSWER_ABSENT} or {@link #ANSWER_NOT_HOT} when no value follows (all big-endian).
     * Keys the hot tier does not hold are read from RocksDB with one batched read per state, unless
     * {@code hotOnly}, where they are answered {@link #ANSWER_NOT_HOT}.
     *
     * @return how many requests were answered before {@code answers} filled, or {@code -n} when
     *     even the first answer needs {@code n} bytes
     */
    public int getMany(
            ByteBuffer requests,
            int offset,
            int length,
            int count,
            ByteBuffer answers,
            boolean hotOnly) {
        return getMany(handle(), requests, offset, length, count, answers, hotOnly);
    }

    /** Op of a {@link #putMany} write: set a key's value. */
    public static final byte WRITE_PUT = 0;

    /** Op of a {@link #putMany} write: remove a key. */
    public static final byte WRITE_DELETE = 1;

    /** Op of a {@link #putMany} write: set a map entry. */
    public static final byte WRITE_PUT_ENTRY = 2;

    /** Op of a {@link #putMany} write: remove a map entry. */
    public static final byte WRITE_DELETE_ENTRY = 3;

    /**
     * Applies, in order and in one call, the writes in the first {@code length} bytes of {@code
     * writes}: each {@code [byte op][int state][int prefix length][int key length][key]}, followed
     * by {@code [int value length][value]} for {@link #WRITE_PUT} and {@link #WRITE_PUT_ENTRY} (all
     * big-endian). The prefix length (map entries) says how many key bytes name the map.
     *
     * @return the number of writes applied
     */
    public int putMany(ByteBuffer writes, int length) {
        return putMany(handle(), writes, length);
    }

    /**
     * Writes a map entry (value in the value buffer) whose key's first {@code prefixLength} bytes
     * (key group, key, namespace) name its map: iterating the map then writes back only its own
     * entries.
     */
    public void putEntry(int state, int keyLength, int prefixLength, int valueLength) {
        putEntry(handle(), state, keyLength, prefixLength, valueLength);
    }

    /**
     * Sets several entries of one map in one call: the key buffer holds the map's prefix ({@code
     * prefixLength} bytes: key group, key, namespace), the value buffer {@code batchLength} bytes
     * of entries, each a 4-byte big-endian length and the user key, then a 4-byte length and the
     * value.
     */
    public void putEntries(int state, int prefixLength, int batchLength) {
        putEntries(handle(), state, prefixLength, batchLength);
    }

    /** Removes a map entry whose key's first {@code prefixLength} bytes name its map. */
    public void deleteEntry(int state, int keyLength, int prefixLength) {
        deleteEntry(handle(), state, keyLength, prefixLength);
    }

    /**
     * Adds the key in the key buffer ({@code keyLength} bytes) to the sorted set {@code state}: a
     * timer queue, whose entries are keys with empty values kept in RocksDB alone (not in the hot
     * tier), written in batches. Scans of the state see every add and remove before them.
     */
    public void setAdd(int state, int keyLength) {
        setAdd(handle(), state, keyLength);
    }

    /**
     * Removes the key in the key buffer from the sorted set {@code state} (see {@link #setAdd}).
     */
    public void setRemove(int state, int keyLength) {
        setRemove(handle(), state, keyLength);
    }

    /** Appends list elements (in the store's list format) from the value buffer. */
    public void append(int state, int keyLength, int valueLength) {
        append(handle(), state, keyLength, valueLength);
    }

    /**
     * Set in {@link #scan}'s result when the entries it returned are all that is left under the
     * prefix (the scan reached its end without filling the batch). Batches hold far fewer entries.
     */
    public static final int SCAN_END = 1 << 30;

    /**
     * Scans entries whose key starts with the prefix at {@code [0, prefixLength)} of {@code io},
     * from the start key that follows it ({@code startLength < 0}: from the first). {@code map}:
     * the prefix is exactly one map's (key group, key, namespace), written with {@link #putEntry}.
     * Returns the number of entries written to {@code io}, with {@link #SCAN_END} set when they are
     * the last, or {@code -n} when even the first entry needs {@code n} bytes. See {@link
     * ScanBatch}.
     */
    public int scan(
            int state,
            ByteBuffer io,
            int prefixLength,
            int startLength,
            boolean exclusive,
            boolean map,
            int maxEntries) {
        return scan(handle(), state, io, prefixLength, startLength, exclusive, map, maxEntries);
    }

    /**
     * Deletes every entry whose key starts with the key buffer's first {@code prefixLength} bytes,
     * one map's prefix (see {@link #putEntry}).
     */
    public void deletePrefix(int state, int prefixLength) {
        deletePrefix(handle(), state, prefixLength);
    }

    /**
     * True while the hot tier holds everything of {@code state}: every read of it, map iterations
     * included, is answered from memory, without reading RocksDB.
     */
    public boolean isInMemory(int state) {
        return isInMemory(handle(), state);
    }

    public long count(int state) {
        return count(handle(), state);
    }

    public void flushAll() {
        flushAll(handle());
    }

    public void dropHotTier() {
        dropHotTier(handle());
    }

    /**
     * Writes a consistent copy of the store (hard links) into {@code dir}, which must not exist.
     */
    public void checkpoint(String dir) {
        checkpoint(handle(), dir);
    }

    public void compact(int state) {
        compact(handle(), state);
    }

    public void clipKeyGroups(int prefixBytes, int startKeyGroup, int endKeyGroup) {
        clipKeyGroups(handle(), prefixBytes, startKeyGroup, endKeyGroup);
    }

    public long importKeyGroups(String dir, int prefixBytes, int startKeyGroup, int endKeyGroup) {
        return importKeyGroups(handle(), dir, prefixBytes, startKeyGroup, endKeyGroup);
    }

    /** The memory this store holds, against its budget. */
    public NativeResults.StoreMemory memoryUsage() {
        return new NativeResults.StoreMemory(memoryUsage(handle()));
    }

    /** What this store's hot tier and RocksDB hold now (metrics). */
    public NativeResults.StoreGauges gauges() {
        return new NativeResults.StoreGauges(gauges(handle()));
    }

    /** This store's counters since it opened. */
    public NativeResults.StoreCounters stats() {
        return new NativeResults.StoreCounters(stats(handle()));
    }

    @Override
    protected void dispose(long handle) {
        close(handle);
    }

    private static native long open(
            String path, long memory, long maxHotValue, ByteBuffer timeCell);

    private static native void close(long handle);

    private static native void setBuffers(long handle, ByteBuffer key, ByteBuffer value);

    private static native int registerState(long handle, String name, int kind);

    private static native String[] stateNames(long handle);

    private static native void setTtl(long handle, int state, long ttl, int layout, int queryAfter);

    private static native int get(long handle, int state, int keyLength);

    private static native byte[] getBytes(long handle, int state, byte[] key);

    private static native boolean contains(long handle, int state, int keyLength);

    private static native void put(long handle, int state, int keyLength, int valueLength);

    private static native int getMany(
            long handle,
            ByteBuffer requests,
            int offset,
            int length,
            int count,
            ByteBuffer answers,
            boolean hotOnly);

    private static native int putMany(long handle, ByteBuffer writes, int length);

    private static native void delete(long handle, int state, int keyLength);

    private static native void putEntry(
            long handle, int state, int keyLength, int prefixLength, int valueLength);

    private static native void deleteEntry(long handle, int state, int keyLength, int prefixLength);

    private static native int putEntries(long handle, int state, int prefixLength, int batchLength);

    private static native void append(long handle, int state, int keyLength, int valueLength);

    private static native void setAdd(long handle, int state, int keyLength);

    private static native void setRemove(long handle, int state, int keyLength);

    private static native int scan(
            long handle,
            int state,
            ByteBuffer io,
            int prefixLength,
            int startLength,
            boolean exclusive,
            boolean map,
            int maxEntries);

    private static native void deletePrefix(long handle, int state, int prefixLength);

    private static native boolean isEmptyPrefix(long handle, int state, int prefixLength);

    private static native boolean isInMemory(long handle, int state);

    private static native long count(long handle, int state);

    private static native void flushAll(long handle);

    private static native void dropHotTier(long handle);

    private static native void checkpoint(long handle, String dir);

    private static native void compact(long handle, int state);

    private static native void clipKeyGroups(long handle, int prefixBytes, int start, int end);

    private static native long importKeyGroups(
            long handle, String dir, int prefixBytes, int start, int end);

    private static native long[] memoryUsage(long handle);

    private static native long[] stats(long handle);

    private static native long[] gauges(long handle);
}
