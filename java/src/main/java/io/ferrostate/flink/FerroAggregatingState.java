package io.ferrostate.flink;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.state.AggregatingState;
import org.apache.flink.api.common.state.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.internal.InternalAggregatingState;

import java.util.Collection;

/** {@link AggregatingState} in the native store; the accumulator is what is stored. */
class FerroAggregatingState<K, N, IN, ACC, OUT> extends FerroValueLikeState<K, N, ACC>
        implements InternalAggregatingState<K, N, IN, ACC, OUT> {

    private final AggregateFunction<IN, ACC, OUT> aggFunction;

    FerroAggregatingState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<ACC> valueSerializer,
            ACC defaultValue,
            AggregateFunction<IN, ACC, OUT> aggFunction) {
        super(backend, stateId, namespaceSerializer, valueSerializer, defaultValue);
        this.aggFunction = aggFunction;
    }

    @Override
    public OUT get() throws Exception {
        ACC acc = getInternal();
        return acc == null ? null : aggFunction.getResult(acc);
    }

    @Override
    public void add(IN value) throws Exception {
        ACC acc = getInternal();
        if (acc == null) {
            acc = aggFunction.createAccumulator();
        }
        updateInternal(aggFunction.add(value, acc));
    }

    @Override
    public void mergeNamespaces(N target, Collection<N> sources) throws Exception {
        mergeInto(target, sources, aggFunction::merge);
    }

    @SuppressWarnings("unchecked")
    static <K, N, SV, S extends State, IS extends S> IS create(
            StateDescriptor<S, SV> stateDesc,
            FerroKeyedStateBackend.StateRegistration<N, SV> registration,
            FerroKeyedStateBackend<K> backend) {
        return (IS)
                new FerroAggregatingState<>(
                        backend,
                        registration.stateId,
                        registration.metaInfo.getNamespaceSerializer(),
                        registration.metaInfo.getStateSerializer(),
                        stateDesc.getDefaultValue(),
                        ((AggregatingStateDescriptor<?, SV, ?>) stateDesc).getAggregateFunction());
    }
}
