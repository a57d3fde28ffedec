package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.runtime.query.TaskKvStateRegistry;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.InternalKeyContext;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

/**
 * Flink 1.20's {@link AbstractKeyedStateBackend} as ferrostate's backend sees it: the constructor
 * and SPI methods that differ between Flink lines live here, the backend itself is shared.
 */
@Internal
public abstract class KeyedBackendBase<K> extends AbstractKeyedStateBackend<K> {

    @SuppressWarnings("checkstyle:ParameterNumber")
    protected KeyedBackendBase(
            TaskKvStateRegistry kvStateRegistry,
            TypeSerializer<K> keySerializer,
            ClassLoader userCodeClassLoader,
            ExecutionConfig executionConfig,
            TtlTimeProvider ttlTimeProvider,
            StateTracking.Configs tracking,
            CloseableRegistry cancelStreamRegistry,
            StreamCompressionDecorator keyGroupCompressionDecorator,
            InternalKeyContext<K> keyContext) {
        super(
                kvStateRegistry,
                keySerializer,
                userCodeClassLoader,
                executionConfig,
                ttlTimeProvider,
                tracking.latency,
                cancelStreamRegistry,
                keyGroupCompressionDecorator,
                keyContext);
    }

    /** The shared backend's reaction to a new current key (its serialized-key builder). */
    protected abstract void onKeySelected(K key, int keyGroup);
}
