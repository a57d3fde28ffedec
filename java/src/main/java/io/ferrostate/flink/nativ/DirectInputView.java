package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.core.memory.MemorySegmentFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;

/**
 * A {@link DataInputView} over a region of a {@link ByteBuffer} (direct buffers that native code
 * filled, read in place without copying to a {@code byte[]}).
 */
@Internal
public final class DirectInputView implements DataInputView {
    private ByteBuffer buffer;

    /** {@link #buffer} as a memory segment when it is direct (bulk reads without a duplicate). */
    private MemorySegment segment;

    private int position;
    private int limit;

    public DirectInputView() {}

    /** Reads {@code [offset, offset + length)} of {@code buffer}. */
    public DirectInputView reset(ByteBuffer buffer, int offset, int length) {
        if (buffer != this.buffer) {
            this.buffer = buffer;
            this.segment =
                    buffer != null && buffer.isDirect() && buffer.capacity() > 0
                            ? MemorySegmentFactory.wrapOffHeapMemory(buffer)
                            : null;
        }
        this.position = offset;
        this.limit = offset + length;
        return this;
    }

    public int position() {
        return position;
    }

    public void setPosition(int position) {
        this.position = position;
    }

    public int limit() {
        return limit;
    }

    public int available() {
        return limit - position;
    }

    private int take(int n) throws EOFException {
        int p = position;
        if (n > limit - p) {
            throw new EOFException(
                    "Reading " + n + " bytes at " + p + " runs past the end at " + limit);
        }
        position = p + n;
        return p;
    }

    @Override
    public void readFully(byte[] b) throws IOException {
        readFully(b, 0, b.length);
    }

    @Override
    public void readFully(byte[] b, int off, int len) throws IOException {
        int p = take(len);
        copy(p, b, off, len);
    }

    private void copy(int at, byte[] b, int off, int len) {
        if (segment != null) {
            segment.get(at, b, off, len);
        } else {
            ByteBuffer dup = buffer.duplicate();
            dup.position(at);
            dup.get(b, off, len);
        }
    }

    @Override
    public int skipBytes(int n) {
        int skip = Math.max(0, Math.min(n, limit - position));
        position += skip;
        return skip;
    }

    @Override
    public void skipBytesToRead(int numBytes) throws IOException {
        take(numBytes);
    }

    @Override
    public boolean readBoolean() throws IOException {
        return readByte() != 0;
    }

    @Override
    public byte readByte() throws IOException {
        return buffer.get(take(1));
    }

    @Override
    public int readUnsignedByte() throws IOException {
        return readByte() & 0xff;
    }

    @Override
    public short readShort() throws IOException {
        return buffer.getShort(take(2));
    }

    @Override
    public int readUnsignedShort() throws IOException {
        return readShort() & 0xffff;
    }

    @Override
    public char readChar() throws IOException {
        return buffer.getChar(take(2));
    }

    @Override
    public int readInt() throws IOException {
        return buffer.getInt(take(4));
    }

    @Override
    public long readLong() throws IOException {
        return buffer.getLong(take(8));
    }

    @Override
    public float readFloat() throws IOException {
        return Float.intBitsToFloat(readInt());
    }

    @Override
    public double readDouble() throws IOException {
        return Double.longBitsToDouble(readLong());
    }

    @Override
    public String readLine() throws IOException {
        if (position >= limit) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        while (position < limit) {
            char c = (char) (buffer.get(position++) & 0xff);
            if (c == '\n') {
                break;
            }
            if (c == '\r') {
                if (position < limit && buffer.get(position) == '\n') {
                    position++;
                }
                break;
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** Modified UTF-8, as {@link java.io.DataInputStream#readUTF}. */
    @Override
    public String readUTF() throws IOException {
        int utflen = readUnsignedShort();
        int start = take(utflen);
        char[] chars = new char[utflen];
        int count = 0;
        int n = 0;
        while (count < utflen) {
            int c = buffer.get(start + count) & 0xff;
            switch (c >> 4) {
                case 0:
                case 1:
                case 2:
                case 3:
                case 4:
                case 5:
                case 6:
                case 7:
                    count++;
                    chars[n++] = (char) c;
                    break;
                case 12:
                case 13:
                    {
                        count += 2;
                        if (count > utflen) {
                            throw new UTFDataFormatException(
                                    "malformed input: partial character at end");
                        }
                        int c2 = buffer.get(start + count - 1);
                        if ((c2 & 0xC0) != 0x80) {
                            throw new UTFDataFormatException(
                                    "malformed input around byte " + count);
                        }
                        chars[n++] = (char) (((c & 0x1F) << 6) | (c2 & 0x3F));
                        break;
                    }
                case 14:
                    {
                        count += 3;
                        if (count > utflen) {
                            throw new UTFDataFormatException(
                                    "malformed input: partial character at end");
                        }
                        int c2 = buffer.get(start + count - 2);
                        int c3 = buffer.get(start + count - 1);
                        if (((c2 & 0xC0) != 0x80) || ((c3 & 0xC0) != 0x80)) {
                            throw new UTFDataFormatException(
                                    "malformed input around byte " + (count - 1));
                        }
                        chars[n++] = (char) (((c & 0x0F) << 12) | ((c2 & 0x3F) << 6) | (c3 & 0x3F));
                        break;
                    }
                default:
                    throw new UTFDataFormatException("malformed input around byte " + count);
            }
        }
        return new String(chars, 0, n);
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (len == 0) {
            return 0;
        }
        int n = Math.min(len, limit - position);
        if (n <= 0) {
            return -1;
        }
        copy(position, b, off, n);
        position += n;
        return n;
    }

    @Override
    public int read(byte[] b) {
        return read(b, 0, b.length);
    }
}
