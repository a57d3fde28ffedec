package io.ferrostate.flink;

import io.ferrostate.flink.compat.ValueMigration;
import io.ferrostate.flink.meta.ListFormat;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.PointAccess;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.internal.InternalListState;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.Preconditions;
import org.apache.flink.util.StateMigrationException;

import java.io.IOException;
import java.util.Collection;
import java.util.List;

/**
 * {@link ListState} in the native store. A list is stored as its elements, each preceded by its
 * length ({@link ListFormat}); {@code add} appends without reading the list.
 */
class FerroListState<K, N, V> extends AbstractFerroState<K, N, List<V>>
        implements InternalListState<K, N, V>, PointAccess {

    private TypeSerializer<V> elementSerializer;

    FerroListState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<List<V>> valueSerializer,
            List<V> defaultValue) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
        this.elementSerializer = ((ListSerializer<V>) valueSerializer).getElementSerializer();
    }

    @Override
    void setValueSerializer(TypeSerializer<List<V>> valueSerializer) {
        super.setValueSerializer(valueSerializer);
        this.elementSerializer = ((ListSerializer<V>) valueSerializer).getElementSerializer();
    }

    @Override
    public Iterable<V> get() throws Exception {
        return getInternal();
    }

    @Override
    public List<V> getInternal() throws IOException {
        int len = store.get(stateId, keyLength());
        if (len < 0) {
            return null;
        }
        return ListFormat.read(store.valueIn(len), len, elementSerializer);
    }

    @Override
    public void add(V value) throws IOException {
        Preconditions.checkNotNull(value, "You cannot add null to a ListState.");
        int keyLength = keyLength();
        DirectOutputView out = valueOut();
        ListFormat.writeElement(value, elementSerializer, out);
        store.append(stateId, keyLength, out.position());
    }

    @Override
    public void update(List<V> values) throws Exception {
        updateInternal(values);
    }

    @Override
    public void updateInternal(List<V> values) throws IOException {
        Preconditions.checkNotNull(values, "List of values to add cannot be null.");
        if (values.isEmpty()) {
            clear();
            return;
        }
        checkNoNulls(values);
        int keyLength = keyLength();
        DirectOutputView out = valueOut();
        for (V v : values) {
            ListFormat.writeElement(v, elementSerializer, out);
        }
        store.put(stateId, keyLength, out.position());
    }

    @Override
    public void addAll(List<V> values) throws IOException {
        Preconditions.checkNotNull(values, "List of values to add cannot be null.");
        if (values.isEmpty()) {
            return;
        }
        checkNoNulls(values);
        int keyLength = keyLength();
        DirectOutputView out = valueOut();
        for (V v : values) {
            ListFormat.writeElement(v, elementSerializer, out);
        }
        store.append(stateId, keyLength, out.position());
    }

    private static <V> void checkNoNulls(List<V> values) {
        for (V v : values) {
            Preconditions.checkNotNull(v, "You cannot have null element in a ListState.");
        }
    }

    @Override
    public void mergeNamespaces(N target, Collection<N> sources) {
        if (sources == null || sources.isEmpty()) {
            return;
        }
        // Stored lists concatenate: move the sources' bytes onto the target.
        DataOutputSerializer merged = new DataOutputSerializer(128);
        try {
            for (N source : sources) {
                if (source == null) {
                    continue;
                }
                int keyLength = keyLength(source);
                byte[] raw = readRaw(keyLength);
                if (raw != null) {
                    store.delete(stateId, keyLength);
                    merged.write(raw);
                }
            }
            if (merged.length() > 0) {
                int keyLength = keyLength(target);
                DirectOutputView out = valueOut();
                out.write(merged.getSharedBuffer(), 0, merged.length());
                store.append(stateId, keyLength, out.position());
            }
        } catch (IOException e) {
            throw wrap("Error while merging list state namespaces", e);
        }
    }

    @Override
    protected byte[] storedToQueryable(
            byte[] stored, byte[] compositeKey, TypeSerializer<List<V>> safeValueSerializer)
            throws Exception {
        return ListFormat.toDelimited(stored);
    }

    @Override
    public Object decodePoint(DataInputView in, int length) throws IOException {
        return deserializeStored(in, length);
    }

    /** List writes append or replace whole lists: not point writes. */
    @Override
    public void encodePoint(Object value, DataOutputView out) {
        throw new UnsupportedOperationException("List state has no point writes.");
    }

    @Override
    List<V> deserializeStored(DataInputView in, int length) throws IOException {
        return ListFormat.read(in, length, elementSerializer);
    }

    @Override
    void serializeStored(List<V> value, DataOutputView out) throws IOException {
        for (V v : value) {
            ListFormat.writeElement(v, elementSerializer, out);
        }
    }

    @Override
    void migrateSerializedValue(
            DataInputView in,
            DataOutputView out,
            TypeSerializer<List<V>> priorSerializer,
            TypeSerializer<List<V>> newSerializer,
            TtlTimeProvider timeProvider)
            throws StateMigrationException {
        TypeSerializer<V> prior = ValueMigration.listElements(priorSerializer);
        TypeSerializer<V> next = ValueMigration.listElements(newSerializer);
        DataOutputSerializer element = new DataOutputSerializer(64);
        try {
            for (V v : ListFormat.read(in, ((DataInputDeserializer) in).available(), prior)) {
                element.clear();
                ValueMigration.migrate(prior, next, () -> v, element, timeProvider);
                out.writeInt(element.length());
                out.write(element.getSharedBuffer(), 0, element.length());
            }
        } catch (Exception e) {
            throw new StateMigrationException(
                    "Error while trying to migrate ferrostate list state.", e);
        }
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS create(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            FerroKeyedStateBackend<K> backend) {
        return (IS)
                new FerroListState<>(
                        backend,
                        registration.stateId,
                        registration.metaInfo.getNamespaceSerializer(),
                        (TypeSerializer<List<Object>>) registration.metaInfo.getStateSerializer(),
                        (List<Object>) stateDesc.getDefaultValue());
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS update(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            IS existing) {
        FerroListState<K, N, Object> state = (FerroListState<K, N, Object>) existing;
        state.setNamespaceSerializer(registration.metaInfo.getNamespaceSerializer());
        state.setValueSerializer(
                (TypeSerializer<List<Object>>) registration.metaInfo.getStateSerializer());
        state.setDefaultValue((List<Object>) stateDesc.getDefaultValue());
        return existing;
    }
}
