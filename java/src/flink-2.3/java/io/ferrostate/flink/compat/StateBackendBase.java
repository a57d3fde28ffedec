package io.ferrostate.flink.compat;

import io.ferrostate.flink.async.FerroAsyncKeyedStateBackend;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.AbstractManagedMemoryStateBackend;
import org.apache.flink.runtime.state.AsyncKeyedStateBackend;

/**
 * Flink 2.x's {@link AbstractManagedMemoryStateBackend} as ferrostate's backend sees it, with the
 * asynchronous keyed state API (State V2: {@code KeyedStream#enableAsyncState}, DataStream V2,
 * SQL's {@code table.exec.async-state.enabled}) served by {@link FerroAsyncKeyedStateBackend}.
 */
@Internal
public abstract class StateBackendBase extends AbstractManagedMemoryStateBackend {
    private static final long serialVersionUID = 1L;

    @Override
    public boolean supportsAsyncKeyedStateBackend() {
        return true;
    }

    @Override
    public <K> AsyncKeyedStateBackend<K> createAsyncKeyedStateBackend(
            KeyedStateBackendParameters<K> parameters) throws Exception {
        return new FerroAsyncKeyedStateBackend<>(
                createKeyedStateBackend(parameters),
                parameters.getEnv().getExecutionConfig(),
                parameters.getTtlTimeProvider());
    }
}
