package io.ferrostate.flink;

import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.internal.InternalReducingState;

import java.util.Collection;

/** {@link ReducingState} in the native store. */
class FerroReducingState<K, N, V> extends FerroValueLikeState<K, N, V>
        implements InternalReducingState<K, N, V> {

    private final ReduceFunction<V> reduceFunction;

    FerroReducingState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<V> valueSerializer,
            V defaultValue,
            ReduceFunction<V> reduceFunction) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
        this.reduceFunction = reduceFunction;
    }

    @Override
    public V get() throws Exception {
        return getInternal();
    }

    @Override
    public void add(V value) throws Exception {
        V current = getInternal();
        updateInternal(current == null ? value : reduceFunction.reduce(current, value));
    }

    @Override
    public void mergeNamespaces(N target, Collection<N> sources) throws Exception {
        mergeInto(target, sources, reduceFunction::reduce);
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS create(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            FerroKeyedStateBackend<K> backend) {
        return (IS)
                new FerroReducingState<>(
                        backend,
                        registration.stateId,
                        registration.metaInfo.getNamespaceSerializer(),
                        registration.metaInfo.getStateSerializer(),
                        stateDesc.getDefaultValue(),
                        ((ReducingStateDescriptor<SV>) stateDesc).getReduceFunction());
    }
}
