package io.ferrostate.flink;

import io.ferrostate.flink.nativ.DirectOutputView;

import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.util.function.BiFunctionWithException;

import java.io.IOException;
import java.util.Collection;

/** Base of reducing and aggregating state: one serialized value per key and namespace. */
abstract class FerroValueLikeState<K, N, V> extends AbstractFerroState<K, N, V> {

    FerroValueLikeState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<V> valueSerializer,
            V defaultValue) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
    }

    public V getInternal() throws IOException {
        return read(keyLength());
    }

    private V read(int keyLength) throws IOException {
        int len = store.get(stateId, keyLength);
        return len < 0 ? null : valueSerializer.deserialize(store.valueIn(len));
    }

    public void updateInternal(V value) throws IOException {
        if (value == null) {
            clear();
            return;
        }
        write(keyLength(), value);
    }

    private void write(int keyLength, V value) throws IOException {
        DirectOutputView out = valueOut();
        valueSerializer.serialize(value, out);
        store.put(stateId, keyLength, out.position());
    }

    /**
     * Merges the values of {@code sources} into {@code target} with {@code merge}, removing the
     * sources (session windows merging).
     */
    protected void mergeInto(
            N target, Collection<N> sources, BiFunctionWithException<V, V, V, Exception> merge)
            throws Exception {
        if (sources == null || sources.isEmpty()) {
            return;
        }
        V current = null;
        for (N source : sources) {
            if (source == null) {
                continue;
            }
            V value = read(keyLength(source));
            if (value != null) {
                store.delete(stateId, keyLength(source));
                current = current == null ? value : merge.apply(current, value);
            }
        }
        if (current != null) {
            V targetValue = read(keyLength(target));
            if (targetValue != null) {
                current = merge.apply(current, targetValue);
            }
            write(keyLength(target), current);
        }
    }

    @Override
    V deserializeStored(DataInputView in, int length) throws IOException {
        return valueSerializer.deserialize(in);
    }

    @Override
    void serializeStored(V value, DataOutputView out) throws IOException {
        valueSerializer.serialize(value, out);
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS update(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            IS existing) {
        FerroValueLikeState<K, N, SV> state = (FerroValueLikeState<K, N, SV>) existing;
        state.setNamespaceSerializer(registration.metaInfo.getNamespaceSerializer());
        state.setValueSerializer(registration.metaInfo.getStateSerializer());
        state.setDefaultValue(stateDesc.getDefaultValue());
        return existing;
    }
}
