package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.runtime.query.TaskKvStateRegistry;
import org.apache.flink.runtime.state.AbstractKeyedStateBackendBuilder;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import java.util.Collection;

/** Flink 2.x's {@link AbstractKeyedStateBackendBuilder}, with the tracking kept for the backend. */
@Internal
public abstract class KeyedBackendBuilderBase<K> extends AbstractKeyedStateBackendBuilder<K> {

    protected final StateTracking.Configs tracking;

    @SuppressWarnings("checkstyle:ParameterNumber")
    protected KeyedBackendBuilderBase(
            TaskKvStateRegistry kvStateRegistry,
            TypeSerializer<K> keySerializer,
            ClassLoader userCodeClassLoader,
            int numberOfKeyGroups,
            KeyGroupRange keyGroupRange,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            StateTracking.Configs tracking,
            Collection<KeyedStateHandle> stateHandles,
            StreamCompressionDecorator keyGroupCompressionDecorator,
            CloseableRegistry cancelStreamRegistry) {
        super(
                kvStateRegistry,
                keySerializer,
                userCodeClassLoader,
                numberOfKeyGroups,
                keyGroupRange,
                executionConfig,
                ttlTimeProvider,
                tracking.latency,
                tracking.size,
                stateHandles,
                keyGroupCompressionDecorator,
                cancelStreamRegistry);
        this.tracking = tracking;
    }
}
