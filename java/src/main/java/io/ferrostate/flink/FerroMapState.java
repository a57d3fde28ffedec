package io.ferrostate.flink;

import io.ferrostate.flink.compat.ValueMigration;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.PointAccess;
import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.MapSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.queryablestate.client.state.serialization.KvStateSerializer;
import org.apache.flink.runtime.state.internal.InternalMapState;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.StateMigrationException;

import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.Function;

/**
 * {@link MapState} in the native store: one entry per user key under {@code [key group][key]
 * [namespace][user key]}, the value preceded by a null flag, as in Flink's RocksDB backend.
 * Iteration reads batches of entries in user-key byte order and tolerates removal and insertion
 * while it runs.
 */
class FerroMapState<K, N, UK, UV> extends AbstractFerroState<K, N, Map<UK, UV>>
        implements InternalMapState<K, N, UK, UV>, PointAccess {

    /** Entries fetched per JNI crossing while iterating. */
    private static final int ITERATOR_BATCH = 128;

    private TypeSerializer<UK> userKeySerializer;
    private TypeSerializer<UV> userValueSerializer;

    FerroMapState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<Map<UK, UV>> valueSerializer,
            Map<UK, UV> defaultValue) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
        setSerializers(valueSerializer);
    }

    private void setSerializers(TypeSerializer<Map<UK, UV>> valueSerializer) {
        MapSerializer<UK, UV> ms = (MapSerializer<UK, UV>) valueSerializer;
        this.userKeySerializer = ms.getKeySerializer();
        this.userValueSerializer = ms.getValueSerializer();
    }

    @Override
    void setValueSerializer(TypeSerializer<Map<UK, UV>> valueSerializer) {
        super.setValueSerializer(valueSerializer);
        setSerializers(valueSerializer);
    }

    /** Length of the map's prefix (key group, key, namespace) in the last key built. */
    private int mapPrefixLength;

    private int userKeyLength(UK userKey) throws IOException {
        int length =
                keyBuilder.buildCompositeKeyNamespaceUserKey(
                        currentNamespace, namespaceSerializer, userKey, userKeySerializer);
        mapPrefixLength = keyBuilder.userKeyOffset();
        return length;
    }

    @Override
    public UV get(UK userKey) throws IOException {
        int len = store.get(stateId, userKeyLength(userKey));
        return len < 0 ? null : readNullable(store.valueIn(len));
    }

    private UV readNullable(DataInputView in) throws IOException {
        return in.readBoolean() ? null : userValueSerializer.deserialize(in);
    }

    @Override
    @SuppressWarnings("unchecked")
    public int buildPointKey(Object userKey) throws IOException {
        return userKeyLength((UK) userKey);
    }

    @Override
    public int pointPrefixLength() {
        return mapPrefixLength;
    }

    @Override
    public Object decodePoint(DataInputView in, int length) throws IOException {
        return readNullable(in);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void encodePoint(Object value, DataOutputView out) throws IOException {
        writeNullable((UV) value, out);
    }

    @Override
    public void put(UK userKey, UV userValue) throws IOException {
        int keyLength = userKeyLength(userKey);
        DirectOutputView out = valueOut();
        writeNullable(userValue, out);
        store.putEntry(stateId, keyLength, mapPrefixLength, out.position());
    }

    private void writeNullable(UV value, DataOutputView out) throws IOException {
        out.writeBoolean(value == null);
        if (value != null) {
            userValueSerializer.serialize(value, out);
        }
    }

    /**
     * Entries of all sizes go to the native store in one call (see {@link NativeStore#putEntries}).
     */
    @Override
    public void putAll(Map<UK, UV> map) throws IOException {
        if (map == null || map.isEmpty()) {
            return;
        }
        int prefixLength = keyLength();
        DirectOutputView out = valueOut();
        for (Map.Entry<UK, UV> e : map.entrySet()) {
            int keyAt = out.position();
            out.writeInt(0);
            userKeySerializer.serialize(e.getKey(), out);
            out.buffer().putInt(keyAt, out.position() - keyAt - 4);
            int valueAt = out.position();
            out.writeInt(0);
            writeNullable(e.getValue(), out);
            out.buffer().putInt(valueAt, out.position() - valueAt - 4);
        }
        store.putEntries(stateId, prefixLength, out.position());
    }

    @Override
    public void remove(UK userKey) throws IOException {
        int keyLength = userKeyLength(userKey);
        store.deleteEntry(stateId, keyLength, mapPrefixLength);
    }

    @Override
    public boolean contains(UK userKey) throws IOException {
        return store.contains(stateId, userKeyLength(userKey));
    }

    @Override
    public Iterable<Map.Entry<UK, UV>> entries() {
        return () -> iterator(e -> e);
    }

    @Override
    public Iterable<UK> keys() {
        return () -> iterator(Map.Entry::getKey);
    }

    @Override
    public Iterable<UV> values() {
        return () -> iterator(Map.Entry::getValue);
    }

    @Override
    public Iterator<Map.Entry<UK, UV>> iterator() {
        return iterator(e -> e);
    }

    @Override
    public boolean isEmpty() {
        return store.isEmptyPrefix(stateId, keyLength());
    }

    @Override
    public void clear() {
        store.deletePrefix(stateId, keyLength());
    }

    private <T> Iterator<T> iterator(Function<Map.Entry<UK, UV>, T> mapper) {
        byte[] prefix = keyBuilder.copy(keyLength());
        return new EntryIterator<>(
                new ScanBatch(store, stateId, prefix, true, ITERATOR_BATCH), prefix.length, mapper);
    }

    /** Iterates the entries under one key and namespace. */
    private final class EntryIterator<T> implements Iterator<T> {
        private final ScanBatch scan;
        private final int userKeyOffset;
        private final Function<Map.Entry<UK, UV>, T> mapper;
        private final DataInputDeserializer in = new DataInputDeserializer();
        private Entry next;
        private Entry last;
        private boolean done;

        EntryIterator(ScanBatch scan, int userKeyOffset, Function<Map.Entry<UK, UV>, T> mapper) {
            this.scan = scan;
            this.userKeyOffset = userKeyOffset;
            this.mapper = mapper;
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done) {
                if (scan.advance()) {
                    next = new Entry(scan.copyKey(), scan.copyValue(), userKeyOffset, in);
                } else {
                    done = true;
                }
            }
            return next != null;
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            last = next;
            next = null;
            return mapper.apply(last);
        }

        @Override
        public void remove() {
            if (last == null || last.deleted) {
                throw new IllegalStateException(
                        "The remove operation must be called after a valid next operation.");
            }
            last.remove();
        }
    }

    /** One map entry, read lazily from its stored bytes. */
    private final class Entry implements Map.Entry<UK, UV> {
        private final byte[] rawKey;
        private byte[] rawValue;
        private final int userKeyOffset;
        private final DataInputDeserializer in;
        private boolean deleted;
        private UK userKey;
        private UV userValue;
        private boolean valueRead;

        Entry(byte[] rawKey, byte[] rawValue, int userKeyOffset, DataInputDeserializer in) {
            this.rawKey = rawKey;
            this.rawValue = rawValue;
            this.userKeyOffset = userKeyOffset;
            this.in = in;
        }

        void remove() {
            deleted = true;
            rawValue = null;
            store.deleteEntry(stateId, keyBuilder.writeRaw(rawKey), userKeyOffset);
        }

        @Override
        public UK getKey() {
            if (userKey == null) {
                try {
                    in.setBuffer(rawKey, userKeyOffset, rawKey.length - userKeyOffset);
                    userKey = userKeySerializer.deserialize(in);
                } catch (IOException e) {
                    throw new FlinkRuntimeException("Error while deserializing the user key.", e);
                }
            }
            return userKey;
        }

        @Override
        public UV getValue() {
            if (deleted) {
                return null;
            }
            if (!valueRead) {
                try {
                    in.setBuffer(rawValue);
                    userValue = in.readBoolean() ? null : userValueSerializer.deserialize(in);
                    valueRead = true;
                } catch (IOException e) {
                    throw new FlinkRuntimeException("Error while deserializing the user value.", e);
                }
            }
            return userValue;
        }

        @Override
        public UV setValue(UV value) {
            if (deleted) {
                throw new IllegalStateException("The value has already been deleted.");
            }
            UV old = getValue();
            try {
                DataOutputSerializer tmp = new DataOutputSerializer(32);
                writeNullable(value, tmp);
                rawValue = tmp.getCopyOfBuffer();
                int keyLength = keyBuilder.writeRaw(rawKey);
                DirectOutputView out = valueOut();
                out.write(rawValue);
                store.putEntry(stateId, keyLength, userKeyOffset, out.position());
            } catch (IOException e) {
                throw new FlinkRuntimeException("Error while writing a map entry.", e);
            }
            userValue = value;
            valueRead = true;
            return old;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Map.Entry)) {
                return false;
            }
            Map.Entry<?, ?> e = (Map.Entry<?, ?>) o;
            return Objects.equals(getKey(), e.getKey()) && Objects.equals(getValue(), e.getValue());
        }

        @Override
        public int hashCode() {
            return Objects.hashCode(getKey()) ^ Objects.hashCode(getValue());
        }

        @Override
        public String toString() {
            return getKey() + "=" + getValue();
        }
    }

    @Override
    protected byte[] storedToQueryable(
            byte[] stored, byte[] compositeKey, TypeSerializer<Map<UK, UV>> safeValueSerializer)
            throws Exception {
        throw new UnsupportedOperationException("map state is served by getSerializedValue");
    }

    @Override
    public byte[] getSerializedValue(
            final byte[] serializedKeyAndNamespace,
            final TypeSerializer<K> safeKeySerializer,
            final TypeSerializer<N> safeNamespaceSerializer,
            final TypeSerializer<Map<UK, UV>> safeValueSerializer)
            throws Exception {
        byte[] prefix =
                backend.compositeKeyFor(
                        serializedKeyAndNamespace, safeKeySerializer, safeNamespaceSerializer);
        MapSerializer<UK, UV> ms = (MapSerializer<UK, UV>) safeValueSerializer;
        Map<UK, UV> map = backend.readMapForQuery(stateId, prefix, ms);
        return map == null || map.isEmpty()
                ? null
                : KvStateSerializer.serializeMap(
                        map.entrySet(), ms.getKeySerializer(), ms.getValueSerializer());
    }

    @Override
    Map<UK, UV> deserializeStored(DataInputView in, int length) {
        throw new UnsupportedOperationException("map entries are stored one by one");
    }

    @Override
    void serializeStored(Map<UK, UV> value, DataOutputView out) {
        throw new UnsupportedOperationException("map entries are stored one by one");
    }

    /** Migrates one stored map value (null flag + value) to the new value serializer. */
    @Override
    void migrateSerializedValue(
            DataInputView in,
            DataOutputView out,
            TypeSerializer<Map<UK, UV>> priorSerializer,
            TypeSerializer<Map<UK, UV>> newSerializer,
            TtlTimeProvider timeProvider)
            throws StateMigrationException {
        TypeSerializer<UV> prior = ValueMigration.mapValues(priorSerializer);
        TypeSerializer<UV> next = ValueMigration.mapValues(newSerializer);
        try {
            boolean isNull = in.readBoolean();
            out.writeBoolean(isNull);
            if (!isNull) {
                ValueMigration.migrate(prior, next, () -> prior.deserialize(in), out, timeProvider);
            }
        } catch (Exception e) {
            throw new StateMigrationException(
                    "Error while trying to migrate ferrostate map state.", e);
        }
    }

    TypeSerializer<UK> userKeySerializer() {
        return userKeySerializer;
    }

    TypeSerializer<UV> userValueSerializer() {
        return userValueSerializer;
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS create(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            FerroKeyedStateBackend<K> backend) {
        return (IS)
                new FerroMapState<>(
                        backend,
                        registration.stateId,
                        registration.metaInfo.getNamespaceSerializer(),
                        (TypeSerializer<Map<Object, Object>>)
                                registration.metaInfo.getStateSerializer(),
                        (Map<Object, Object>) stateDesc.getDefaultValue());
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS update(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            IS existing) {
        FerroMapState<K, N, Object, Object> state = (FerroMapState<K, N, Object, Object>) existing;
        state.setNamespaceSerializer(registration.metaInfo.getNamespaceSerializer());
        state.setValueSerializer(
                (TypeSerializer<Map<Object, Object>>) registration.metaInfo.getStateSerializer());
        state.setDefaultValue((Map<Object, Object>) stateDesc.getDefaultValue());
        return existing;
    }
}
