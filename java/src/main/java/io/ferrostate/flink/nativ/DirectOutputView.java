package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.core.memory.MemorySegmentFactory;
import org.apache.flink.core.memory.MemorySegmentWritable;

import java.io.IOException;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A {@link DataOutputView} writing into a direct {@link ByteBuffer} that native code reads in
 * place. When the buffer is full it is replaced by a larger one and the owner is told, so it can
 * register the new address with the native side. A buffer grown past its retention limit (one huge
 * value) goes back to its initial size at the next {@link #clear()}, so the direct memory held
 * between writes stays bounded whatever the largest value was.
 *
 * <p>It is a {@link MemorySegmentWritable}, so serializers of binary data (SQL's {@code
 * BinaryRowData} keys, values and accumulators) copy their memory segments straight into the buffer
 * instead of through a thread-local byte array.
 */
@Internal
public final class DirectOutputView implements DataOutputView, MemorySegmentWritable {

    /** Told when the buffer was replaced. */
    public interface GrowthListener {
        void bufferReplaced(DirectOutputView view);
    }

    private ByteBuffer buffer;

    /** {@link #buffer} as a memory segment: bulk copies without a duplicate of the buffer. */
    private MemorySegment segment;

    private int position;
    private final GrowthListener listener;
    private final int initialCapacity;
    private final int retainedCapacity;

    /** A view that keeps whatever capacity it grew to. */
    public DirectOutputView(int initialCapacity, GrowthListener listener) {
        this(initialCapacity, Integer.MAX_VALUE, listener);
    }

    /**
     * A view whose buffer, once grown past {@code retainedCapacity} bytes, is replaced by one of
     * {@code initialCapacity} at the next {@link #clear()}.
     */
    public DirectOutputView(int initialCapacity, int retainedCapacity, GrowthListener listener) {
        setBuffer(allocate(initialCapacity));
        this.listener = listener;
        this.initialCapacity = initialCapacity;
        this.retainedCapacity = retainedCapacity;
    }

    static ByteBuffer allocate(int capacity) {
        return ByteBuffer.allocateDirect(Math.max(capacity, 16)).order(ByteOrder.BIG_ENDIAN);
    }

    private void setBuffer(ByteBuffer buffer) {
        this.buffer = buffer;
        this.segment = MemorySegmentFactory.wrapOffHeapMemory(buffer);
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public int position() {
        return position;
    }

    public void setPosition(int position) {
        if (position < 0 || position > buffer.capacity()) {
            throw new IndexOutOfBoundsException("position " + position);
        }
        this.position = position;
    }

    public void clear() {
        position = 0;
        if (buffer.capacity() > retainedCapacity) {
            setBuffer(allocate(initialCapacity));
            if (listener != null) {
                listener.bufferReplaced(this);
            }
        }
    }

    /** Makes room for {@code capacity} bytes in all, keeping the bytes written so far. */
    public void ensureCapacity(int capacity) {
        if (capacity > buffer.capacity()) {
            long wanted = Math.max((long) buffer.capacity() * 2, capacity);
            ByteBuffer bigger = allocate((int) Math.min(wanted, Integer.MAX_VALUE - 16));
            ByteBuffer old = buffer.duplicate();
            old.position(0).limit(position);
            bigger.put(old);
            bigger.clear();
            setBuffer(bigger);
            if (listener != null) {
                listener.bufferReplaced(this);
            }
        }
    }

    private int reserve(int n) {
        int p = position;
        if (p + n > buffer.capacity()) {
            ensureCapacity(p + n);
        }
        position = p + n;
        return p;
    }

    @Override
    public void write(int b) {
        int p = reserve(1); // may replace the buffer: read the field after it
        buffer.put(p, (byte) b);
    }

    @Override
    public void write(byte[] b) {
        write(b, 0, b.length);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        int p = reserve(len); // may replace the buffer: read the field after it
        segment.put(p, b, off, len);
    }

    @Override
    public void write(MemorySegment src, int off, int len) {
        int p = reserve(len); // may replace the buffer: read the field after it
        src.copyTo(off, segment, p, len);
    }

    /** Copies {@code len} bytes of another direct or heap buffer, from its position. */
    public void write(ByteBuffer src, int offset, int len) {
        int p = reserve(len);
        ByteBuffer dst = buffer.duplicate();
        dst.position(p);
        ByteBuffer s = src.duplicate();
        s.limit(offset + len).position(offset);
        dst.put(s);
    }

    @Override
    public void writeBoolean(boolean v) {
        write(v ? 1 : 0);
    }

    @Override
    public void writeByte(int v) {
        write(v);
    }

    @Override
    public void writeShort(int v) {
        int p = reserve(2); // may replace the buffer: read the field after it
        buffer.putShort(p, (short) v);
    }

    @Override
    public void writeChar(int v) {
        int p = reserve(2); // may replace the buffer: read the field after it
        buffer.putChar(p, (char) v);
    }

    @Override
    public void writeInt(int v) {
        int p = reserve(4); // may replace the buffer: read the field after it
        buffer.putInt(p, v);
    }

    @Override
    public void writeLong(long v) {
        int p = reserve(8); // may replace the buffer: read the field after it
        buffer.putLong(p, v);
    }

    @Override
    public void writeFloat(float v) {
        writeInt(Float.floatToIntBits(v));
    }

    @Override
    public void writeDouble(double v) {
        writeLong(Double.doubleToLongBits(v));
    }

    @Override
    public void writeBytes(String s) {
        int len = s.length();
        int p = reserve(len);
        for (int i = 0; i < len; i++) {
            buffer.put(p + i, (byte) s.charAt(i));
        }
    }

    @Override
    public void writeChars(String s) {
        int len = s.length();
        int p = reserve(2 * len);
        for (int i = 0; i < len; i++) {
            buffer.putChar(p + 2 * i, s.charAt(i));
        }
    }

    /** Modified UTF-8, as {@link java.io.DataOutputStream#writeUTF}. */
    @Override
    public void writeUTF(String str) throws IOException {
        int strlen = str.length();
        int utflen = 0;
        for (int i = 0; i < strlen; i++) {
            int c = str.charAt(i);
            if (c >= 0x0001 && c <= 0x007F) {
                utflen++;
            } else if (c > 0x07FF) {
                utflen += 3;
            } else {
                utflen += 2;
            }
        }
        if (utflen > 65535) {
            throw new UTFDataFormatException("Encoded string is too long: " + utflen);
        }
        int p = reserve(utflen + 2);
        buffer.putShort(p, (short) utflen);
        p += 2;
        for (int i = 0; i < strlen; i++) {
            int c = str.charAt(i);
            if (c >= 0x0001 && c <= 0x007F) {
                buffer.put(p++, (byte) c);
            } else if (c > 0x07FF) {
                buffer.put(p++, (byte) (0xE0 | ((c >> 12) & 0x0F)));
                buffer.put(p++, (byte) (0x80 | ((c >> 6) & 0x3F)));
                buffer.put(p++, (byte) (0x80 | (c & 0x3F)));
            } else {
                buffer.put(p++, (byte) (0xC0 | ((c >> 6) & 0x1F)));
                buffer.put(p++, (byte) (0x80 | (c & 0x3F)));
            }
        }
    }

    @Override
    public void skipBytesToWrite(int numBytes) {
        reserve(numBytes);
    }

    @Override
    public void write(DataInputView source, int numBytes) throws IOException {
        byte[] tmp = new byte[numBytes];
        source.readFully(tmp);
        write(tmp, 0, numBytes);
    }

    /** A copy of the bytes written so far. */
    public byte[] toByteArray() {
        byte[] out = new byte[position];
        ByteBuffer dup = buffer.duplicate();
        dup.position(0).limit(position);
        dup.get(out);
        return out;
    }
}
