package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the entries of a snapshot directory key group by key group, and within a key group state by
 * state, in batches. List values come out in Flink's delimited format, so the entries are exactly
 * what Flink's canonical savepoint format holds.
 */
@Internal
public final class SnapshotScan extends NativeObject {
    private ByteBuffer io = ByteBuffer.allocateDirect(256 * 1024).order(ByteOrder.BIG_ENDIAN);
    private final BatchCursor entries = new BatchCursor(true);
    private boolean done;

    private byte[] key;
    private byte[] value;

    /**
     * @param memory the memory budget to read with, or null for a small private one
     */
    public SnapshotScan(
            String dir,
            NativeMemory memory,
            String[] names,
            int[] kinds,
            int prefixBytes,
            int firstKeyGroup,
            int lastKeyGroup) {
        super(
                NativeSnapshots.openScan(
                        dir,
                        memory == null ? 0 : memory.nativeHandle(),
                        names,
                        kinds,
                        prefixBytes,
                        firstKeyGroup,
                        lastKeyGroup),
                "snapshot scan of " + dir);
    }

    /** Moves to the next entry; false when there is none. */
    public boolean advance() {
        if (entries.remaining() == 0) {
            if (done) {
                return false;
            }
            while (true) {
                int n = NativeSnapshots.nextBatch(handle(), io);
                if (n < 0) {
                    io =
                            ByteBuffer.allocateDirect(Math.max(-n, io.capacity() * 2))
                                    .order(ByteOrder.BIG_ENDIAN);
                    continue;
                }
                if (n == 0) {
                    done = true;
                    return false;
                }
                entries.reset(io, n);
                break;
            }
        }
        entries.next();
        key = entries.copyKey();
        value = entries.copyValue();
        return true;
    }

    /** Index of the current entry's state in the names given at creation. */
    public int stateIndex() {
        return entries.stateIndex();
    }

    /** The current key, a fresh array. */
    public byte[] key() {
        return key;
    }

    /** The current value, a fresh array. */
    public byte[] value() {
        return value;
    }

    @Override
    protected void dispose(long handle) {
        NativeSnapshots.closeScan(handle);
    }
}
