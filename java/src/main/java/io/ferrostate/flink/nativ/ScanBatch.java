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

    private int remaining;
    private int readPos;

    // The current entry, as offsets into io.
    private int keyOffset;
    private int keyLength;
    private int valueOffset;
    private int valueLength;

    public ScanBatch(NativeStore store, int state, byte[] prefix, int maxEntries) {
        this(store, state, prefix, false, maxEntries);
    }

    /**
     * A scan of the entries under {@code prefix}; {@code map}: the prefix is exactly one map's
     * (key group, key, namespace), whose entries were written with {@link NativeStore#putEntry}.
     */
    public ScanBatch(NativeStore store, int state, byte[] prefix, boolean map, int maxEntries) {
        this.store = store;
        this.state = state;
        this.prefix = prefix;
        this.map = map;
        this.maxEntries = maxEntries;
        this.io = store.borrowScanBuffer(prefix.length * 4);
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
            remaining = 0;
        }
    }

    /** Moves to the next entry; false when there is none. */
    public boolean advance() {
        if (remaining == 0) {
            if (exhausted || io == null || !fetch()) {
                return false;
            }
        }
        int p = readPos;
        keyLength = io.getInt(p);
        keyOffset = p + 4;
        valueLength = io.getInt(keyOffset + keyLength);
        valueOffset = keyOffset + keyLength + 4;
        readPos = valueOffset + valueLength;
        remaining--;
        if (remaining == 0) {
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
            if (n == 0) {
                release();
                return false;
            }
            remaining = n;
            readPos = 0;
            return true;
        }
    }

    public ByteBuffer buffer() {
        return io;
    }

    public int keyOffset() {
        return keyOffset;
    }

    public int keyLength() {
        return keyLength;
    }

    public int valueOffset() {
        return valueOffset;
    }

    public int valueLength() {
        return valueLength;
    }

    /** A copy of the current key. */
    public byte[] copyKey() {
        byte[] k = new byte[keyLength];
        ByteBuffer d = io.duplicate();
        d.position(keyOffset);
        d.get(k);
        return k;
    }

    /** A copy of the current value. */
    public byte[] copyValue() {
        byte[] v = new byte[valueLength];
        ByteBuffer d = io.duplicate();
        d.position(valueOffset);
        d.get(v);
        return v;
    }

    /** True when the current key ends with {@code suffix}. */
    public boolean keyEndsWith(byte[] suffix) {
        if (suffix.length > keyLength) {
            return false;
        }
        int base = keyOffset + keyLength - suffix.length;
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
