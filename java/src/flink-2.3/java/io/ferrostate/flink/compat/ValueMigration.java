package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.ttl.TtlAwareSerializer;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.function.SupplierWithException;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * How one stored value moves from the previous state serializer to the new one when Flink asks for
 * state migration. On Flink 2.x both serializers are wrapped in Flink's {@link TtlAwareSerializer},
 * so that turning TTL on (values gain a timestamp: now) or off (timestamps are dropped) migrates as
 * Flink's RocksDB backend does.
 */
@Internal
public final class ValueMigration {

    private ValueMigration() {}

    /** The serializer wrapped for migration across TTL changes. */
    @SuppressWarnings("unchecked")
    public static <T> TypeSerializer<T> forMigration(TypeSerializer<T> serializer) {
        return (TypeSerializer<T>) TtlAwareSerializer.wrapTtlAwareSerializer(serializer);
    }

    /** The element serializer of a list state's serializer given by {@link #forMigration}. */
    public static <T> TypeSerializer<T> listElements(TypeSerializer<List<T>> serializer) {
        return ((TtlAwareSerializer.TtlAwareListSerializer<T>) serializer).getElementSerializer();
    }

    /** The value serializer of a map state's serializer given by {@link #forMigration}. */
    public static <K, V> TypeSerializer<V> mapValues(TypeSerializer<Map<K, V>> serializer) {
        return ((TtlAwareSerializer.TtlAwareMapSerializer<K, V>) serializer).getValueSerializer();
    }

    /** Writes the value {@code read} gives (in the prior format) in the new format to out. */
    @SuppressWarnings("unchecked")
    public static <T> void migrate(
            TypeSerializer<T> prior,
            TypeSerializer<T> next,
            SupplierWithException<T, IOException> read,
            DataOutputView out,
            TtlTimeProvider timeProvider)
            throws IOException {
        ((TtlAwareSerializer<T, ?>) next)
                .migrateValueFromPriorSerializer(
                        (TtlAwareSerializer<T, ?>) prior, read, out, timeProvider);
    }
}
