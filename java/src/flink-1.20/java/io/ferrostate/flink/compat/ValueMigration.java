package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.api.common.typeutils.base.MapSerializer;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.function.SupplierWithException;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * How one stored value moves from the previous state serializer to the new one when Flink asks for
 * state migration. On Flink 1.20 a value is read with the old serializer and written with the new
 * one; turning TTL on or off is incompatible (Flink's compatibility check says so before this is
 * reached). Flink 2.x migrates across TTL changes (the flink-2.3 version of this class).
 */
@Internal
public final class ValueMigration {

    private ValueMigration() {}

    /** The serializer as migration sees it (on Flink 1.20, itself). */
    public static <T> TypeSerializer<T> forMigration(TypeSerializer<T> serializer) {
        return serializer;
    }

    /** The element serializer of a list state's serializer given by {@link #forMigration}. */
    public static <T> TypeSerializer<T> listElements(TypeSerializer<List<T>> serializer) {
        return ((ListSerializer<T>) serializer).getElementSerializer();
    }

    /** The value serializer of a map state's serializer given by {@link #forMigration}. */
    public static <K, V> TypeSerializer<V> mapValues(TypeSerializer<Map<K, V>> serializer) {
        return ((MapSerializer<K, V>) serializer).getValueSerializer();
    }

    /** Writes the value {@code read} gives (in the prior format) in the new format to out. */
    public static <T> void migrate(
            TypeSerializer<T> prior,
            TypeSerializer<T> next,
            SupplierWithException<T, IOException> read,
            DataOutputView out,
            TtlTimeProvider timeProvider)
            throws IOException {
        next.serialize(read.get(), out);
    }
}
