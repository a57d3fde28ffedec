package io.ferrostate.flink.meta;

import io.ferrostate.flink.nativ.DirectInputView;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.FerroCorruptionException;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The store's list format: each element is {@code [int length][element bytes]}. Element boundaries
 * are known without the element serializer, so the native TTL compaction filter can drop single
 * expired elements and appends are concatenation. Canonical savepoints and queryable state use
 * Flink's format instead, elements separated by one {@code ','} byte ({@code
 * ListDelimitedSerializer}); this class converts both ways.
 */
@Internal
public final class ListFormat {
    /** Flink's delimiter between list elements. */
    public static final byte DELIMITER = ',';

    private ListFormat() {}

    /**
     * Appends one element to {@code out}, a {@link DirectOutputView} or a {@link
     * DataOutputSerializer}.
     */
    public static <V> void writeElement(V value, TypeSerializer<V> serializer, DataOutputView out)
            throws IOException {
        if (out instanceof DirectOutputView) {
            DirectOutputView d = (DirectOutputView) out;
            int start = d.position();
            d.writeInt(0);
            serializer.serialize(value, d);
            int end = d.position();
            d.setPosition(start);
            d.writeInt(end - start - 4);
            d.setPosition(end);
        } else if (out instanceof DataOutputSerializer) {
            DataOutputSerializer d = (DataOutputSerializer) out;
            int start = d.length();
            d.writeInt(0);
            serializer.serialize(value, d);
            int len = d.length() - start - 4;
            byte[] buf = d.getSharedBuffer();
            buf[start] = (byte) (len >>> 24);
            buf[start + 1] = (byte) (len >>> 16);
            buf[start + 2] = (byte) (len >>> 8);
            buf[start + 3] = (byte) len;
        } else {
            DataOutputSerializer tmp = new DataOutputSerializer(64);
            serializer.serialize(value, tmp);
            out.writeInt(tmp.length());
            out.write(tmp.getSharedBuffer(), 0, tmp.length());
        }
    }

    /** Reads the {@code length} bytes of a stored list. */
    public static <V> List<V> read(DataInputView in, int length, TypeSerializer<V> serializer)
            throws IOException {
        List<V> out = new ArrayList<>();
        int consumed = 0;
        while (consumed < length) {
            int elementLength = in.readInt();
            if (elementLength < 0 || elementLength > length - consumed - 4) {
                throw new FerroCorruptionException(
                        "list element of "
                                + elementLength
                                + " bytes does not fit the "
                                + (length - consumed - 4)
                                + " bytes left of the stored list");
            }
            int before = position(in);
            out.add(serializer.deserialize(in));
            int after = position(in);
            if (before >= 0 && after - before != elementLength) {
                throw new FerroCorruptionException(
                        "list element read "
                                + (after - before)
                                + " bytes but is stored with "
                                + elementLength
                                + " bytes: the element serializer does not match the stored data");
            }
            consumed += 4 + elementLength;
        }
        return out;
    }

    private static int position(DataInputView in) {
        if (in instanceof DirectInputView) {
            return ((DirectInputView) in).position();
        }
        if (in instanceof DataInputDeserializer) {
            return ((DataInputDeserializer) in).getPosition();
        }
        return -1;
    }

    /** Converts a stored list to Flink's delimited format. */
    public static byte[] toDelimited(byte[] stored) {
        DataOutputSerializer out = new DataOutputSerializer(stored.length);
        int p = 0;
        boolean first = true;
        try {
            while (p < stored.length) {
                if (p + 4 > stored.length) {
                    throw new FerroCorruptionException("truncated list element header");
                }
                int len =
                        ((stored[p] & 0xff) << 24)
                                | ((stored[p + 1] & 0xff) << 16)
                                | ((stored[p + 2] & 0xff) << 8)
                                | (stored[p + 3] & 0xff);
                if (len < 0 || p + 4 + len > stored.length) {
                    throw new FerroCorruptionException("truncated list element");
                }
                if (!first) {
                    out.write(DELIMITER);
                }
                first = false;
                out.write(stored, p + 4, len);
                p += 4 + len;
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.getCopyOfBuffer();
    }

    /**
     * Converts a list in Flink's delimited format to the store's format. The element serializer
     * finds where each element ends; the bytes are copied, not re-serialized.
     */
    public static <V> byte[] fromDelimited(byte[] delimited, TypeSerializer<V> elementSerializer)
            throws IOException {
        DataInputDeserializer in = new DataInputDeserializer(delimited);
        DataOutputSerializer out = new DataOutputSerializer(delimited.length + 16);
        while (in.available() > 0) {
            int start = in.getPosition();
            elementSerializer.deserialize(in);
            int end = in.getPosition();
            out.writeInt(end - start);
            out.write(delimited, start, end - start);
            if (in.available() > 0) {
                byte d = in.readByte();
                if (d != DELIMITER) {
                    throw new IOException(
                            "Unexpected byte "
                                    + d
                                    + " between list elements at offset "
                                    + end
                                    + "; Flink's list format separates elements with ','");
                }
            }
        }
        return out.getCopyOfBuffer();
    }
}
