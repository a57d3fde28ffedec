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

import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Flink 2.x's {@link AbstractKeyedStateBackend} as ferrostate's backend sees it: the constructor
 * and the SPI methods Flink 2 added, in terms of what the shared backend offers.
 */
@Internal
public abstract class KeyedBackendBase<K> extends AbstractKeyedStateBackend<K> {

    /** The name Flink's {@code getBackendTypeIdentifier} reports, as "rocksdb" or "hashmap". */
    public static final String BACKEND_TYPE = "ferrostate";

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
                tracking.size,
                cancelStreamRegistry,
                keyGroupCompressionDecorator,
                keyContext);
    }

    /** The shared backend's reaction to a new current key (its serialized-key builder). */
    protected abstract void onKeySelected(K key, int keyGroup);

    @Override
    public void setCurrentKeyAndKeyGroup(K newKey, int newKeyGroupIndex) {
        super.setCurrentKeyAndKeyGroup(newKey, newKeyGroupIndex);
        onKeySelected(newKey, newKeyGroupIndex);
    }

    /**
     * Keys present in any of the states under the namespace, each once, as Flink's heap and RocksDB
     * backends give them; states not registered add no keys.
     */
    @Override
    public <N> Stream<K> getKeys(List<String> states, N namespace) {
        Objects.requireNonNull(namespace, "Namespace must exist");
        return states.stream().flatMap(state -> getKeys(state, namespace)).distinct();
    }

    @Override
    public String getBackendTypeIdentifier() {
        return BACKEND_TYPE;
    }
}
