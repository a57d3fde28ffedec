package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;

/**
 * Reads the batch format in which native scans hand entries over, the one reader of what {@code
 * rust/jni/src/batch.rs} writes: per entry an optional 4-byte state index ({@code tagged}), then
 * {@code [i32 key length][key][i32 value length][value]}, big-endian. The current entry is exposed
 * as offsets into the buffer, so reading copies nothing.
 */
@Internal
final class BatchCursor {
    private final boolean tagged;
    private ByteBuffer buffer;
    private int remaining;
    private int readPos;

    private int stateIndex;
    private int keyOffset;
    private int keyLength;
    private int valueOffset;
    private int valueLength;

    BatchCursor(boolean tagged) {
        this.tagged = tagged;
    }

    /** Starts reading the {@code entries} entries a native call just wrote to {@code buffer}. */
    void reset(ByteBuffer buffer, int entries) {
        this.buffer = buffer;
        this.remaining = entries;
        this.readPos = 0;
    }

    /** Entries of the batch not yet read. */
    int remaining() {
        return remaining;
    }

    /** Moves to the next entry of the batch; false when the batch is read. */
    boolean next() {
        if (remaining == 0) {
            return false;
        }
        int p = readPos;
        if (tagged) {
            stateIndex = buffer.getInt(p);
            p += 4;
        }
        keyLength = buffer.getInt(p);
        keyOffset = p + 4;
        valueLength = buffer.getInt(keyOffset + keyLength);
        valueOffset = keyOffset + keyLength + 4;
        readPos = valueOffset + valueLength;
        remaining--;
        return true;
    }

    int stateIndex() {
        return stateIndex;
    }

    int keyOffset() {
        return keyOffset;
    }

    int keyLength() {
        return keyLength;
    }

    int valueOffset() {
        return valueOffset;
    }

    int valueLength() {
        return valueLength;
    }

    /** A copy of the current key. */
    byte[] copyKey() {
        return copy(keyOffset, keyLength);
    }

    /** A copy of the current value. */
    byte[] copyValue() {
        return copy(valueOffset, valueLength);
    }

    private byte[] copy(int offset, int length) {
        byte[] out = new byte[length];
        ByteBuffer d = buffer.duplicate();
        d.position(offset);
        d.get(out);
        return out;
    }
}
