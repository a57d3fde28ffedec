package io.ferrostate.flink;

import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.PointAccess;

import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.internal.InternalValueState;

import java.io.IOException;

/** {@link ValueState} in the native store. */
class FerroValueState<K, N, V> extends AbstractFerroState<K, N, V>
        implements InternalValueState<K, N, V>, PointAccess {

    FerroValueState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<V> valueSerializer,
            V defaultValue) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
    }

    @Override
    public V value() throws IOException {
        int len = store.get(stateId, keyLength());
        if (len < 0) {
            return getDefaultValue();
        }
        return valueSerializer.deserialize(store.valueIn(len));
    }

    @Override
    public void update(V value) throws IOException {
        if (value == null) {
            clear();
            return;
        }
        int keyLength = keyLength();
        DirectOutputView out = valueOut();
        valueSerializer.serialize(value, out);
        store.put(stateId, keyLength, out.position());
    }

    @Override
    public Object decodePoint(DataInputView in, int length) throws IOException {
        return valueSerializer.deserialize(in);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void encodePoint(Object value, DataOutputView out) throws IOException {
        valueSerializer.serialize((V) value, out);
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
    static <K, N, SV, S extends State, IS extends S> IS create(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            FerroKeyedStateBackend<K> backend) {
        return (IS)
                new FerroValueState<>(
                        backend,
                        registration.stateId,
                        registration.metaInfo.getNamespaceSerializer(),
                        registration.metaInfo.getStateSerializer(),
                        stateDesc.getDefaultValue());
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS update(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            IS existing) {
        FerroValueState<K, N, SV> state = (FerroValueState<K, N, SV>) existing;
        state.setNamespaceSerializer(registration.metaInfo.getNamespaceSerializer());
        state.setValueSerializer(registration.metaInfo.getStateSerializer());
        state.setDefaultValue(stateDesc.getDefaultValue());
        return existing;
    }
}
