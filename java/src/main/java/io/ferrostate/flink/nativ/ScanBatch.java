package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Reads a state's entries in key order from a {@link NativeStore}, a batch of entries per JNI
 * crossing, each batch in a direct buffer of its own (so state accesses between batches do not
 * disturb it). Each batch starts after the last key of the previous one, so entries removed or
 * added meanwhile are seen as RocksDB iterators would see them.
 */
@Internal
public final class ScanBatch {
    private final NativeStore store;
    private final int state;
    private final byte[] prefix;
    private final int maxEntries;

    /** The prefix is exactly one map's: see {@link NativeStore#putEntry}. */
    private final boolean map;

    private ByteBuffer io;

    private byte[] lastKey;
    private boolean exhausted;

    private final BatchCursor entries = new BatchCursor(false);

    public ScanBatch(NativeStore store, int state, byte[] prefix, int maxEntries) {
        this(store, state, prefix, false, maxEntries);
    }

    /**
     * A scan of the entries under {@code prefix}; {@code map}: the prefix is exactly one map's (key
     * group, key, namespace), whose entries were written with {@link NativeStore#putEntry}.
     */
    public ScanBatch(NativeStore store, int state, byte[] prefix, boolean map, int maxEntries) {
        this.store = store;
        this.state = state;
        this.prefix = prefix;
        this.map = map;
        this.maxEntries = maxEntries;
        this.io = store.borrowScanBuffer(prefix.length * 4);
    }

    /**
     * A scan of the entries under {@code prefix} whose keys (prefix included) come after {@code
     * startAfter}, or of all of them when it is null. The store writes back what the scan must see
     * (not a map's scan: any prefix).
     */
    public ScanBatch(
            NativeStore store,
            int state,
            byte[] prefix,
            @javax.annotation.Nullable byte[] startAfter,
            int maxEntries) {
        this(store, state, prefix, false, maxEntries);
        this.lastKey = startAfter;
    }

    private ByteBuffer grow(int capacity) {
        store.returnScanBuffer(io);
        return store.borrowScanBuffer(capacity);
    }

    /** Gives the scan's buffer back for reuse; the scan must not be used afterwards. */
    public void release() {
        if (io != null) {
            store.returnScanBuffer(io);
            io = null;
            exhausted = true;
            entries.reset(null, 0);
        }
    }

    /**
     * Moves to the next entry; false when there is none. A batch the store marked as the scan's
     * last is not followed by another call: like Flink's RocksDB map iterator, which stops loading
     * once its iterator left the prefix, the scan does not see entries added behind it after that.
     */
    public boolean advance() {
        if (entries.remaining() == 0) {
            if (exhausted) {
                release();
                return false;
            }
            if (io == null || !fetch()) {
                return false;
            }
        }
        entries.next();
        if (entries.remaining() == 0 && !exhausted) {
            lastKey = copyKey();
        }
        return true;
    }

    private boolean fetch() {
        while (true) {
            int startLength = lastKey == null ? -1 : lastKey.length;
            int need = prefix.length + Math.max(startLength, 0);
            if (need > io.capacity()) {
                io = grow(need * 2);
            }
            ByteBuffer w = io.duplicate();
            w.clear();
            w.put(prefix);
            if (lastKey != null) {
                w.put(lastKey);
            }
            int n = store.scan(state, io, prefix.length, startLength, true, map, maxEntries);
            if (n < 0) {
                io = grow(Math.max(-n, io.capacity() * 2));
                continue;
            }
            exhausted = (n & NativeStore.SCAN_END) != 0;
            n &= ~NativeStore.SCAN_END;
            if (n == 0) {
                release();
                return false;
            }
            entries.reset(io, n);
            return true;
        }
    }

    public ByteBuffer buffer() {
        return io;
    }

    public int keyOffset() {
        return entries.keyOffset();
    }

    public int keyLength() {
        return entries.keyLength();
    }

    public int valueOffset() {
        return entries.valueOffset();
    }

    public int valueLength() {
        return entries.valueLength();
    }

    /** A copy of the current key. */
    public byte[] copyKey() {
        return entries.copyKey();
    }

    /** A copy of the current value. */
    public byte[] copyValue() {
        return entries.copyValue();
    }

    /** True when the current key ends with {@code suffix}. */
    public boolean keyEndsWith(byte[] suffix) {
        int keyLength = entries.keyLength();
        if (suffix.length > keyLength) {
            return false;
        }
        int base = entries.keyOffset() + keyLength - suffix.length;
        for (int i = 0; i < suffix.length; i++) {
            if (io.get(base + i) != suffix[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "ScanBatch{state=" + state + ", prefix=" + Arrays.toString(prefix) + "}";
    }
}
