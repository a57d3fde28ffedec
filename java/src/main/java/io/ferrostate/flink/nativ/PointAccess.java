package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import javax.annotation.Nullable;

import java.io.IOException;

/**
 * The point reads and writes of one state in a {@link NativeStore}, in the pieces an executor needs
 * to batch many of them into one native call (Flink 2's asynchronous state API): the composite key
 * of the current key and namespace, and the stored form of a value. The state's own methods do the
 * same one access at a time; both share these pieces, so a batched access stores exactly what a
 * single one does.
 */
@Internal
public interface PointAccess {

    /** The store the state lives in. */
    NativeStore store();

    /** The state's id in its store. */
    int stateId();

    /**
     * Builds, in the store's key buffer, the key a point access reads or writes for the current key
     * and namespace, and returns its length. {@code userKey} is the map entry's key for map state
     * and ignored by the other kinds.
     */
    int buildPointKey(@Nullable Object userKey) throws IOException;

    /**
     * How many leading bytes of the key last built name the map it belongs to (map state); 0 for
     * the other kinds.
     */
    int pointPrefixLength();

    /**
     * Decodes the {@code length} stored bytes a point read found: the value of a value state, the
     * value of a map entry (null for a null value), the elements of a list.
     */
    Object decodePoint(DataInputView in, int length) throws IOException;

    /**
     * Encodes what a point write stores: the value of a value state, or the (nullable) value of a
     * map entry.
     *
     * @throws UnsupportedOperationException for a kind whose writes are not point writes (lists)
     */
    void encodePoint(@Nullable Object value, DataOutputView out) throws IOException;
}
