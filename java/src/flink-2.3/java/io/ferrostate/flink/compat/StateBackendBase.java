package io.ferrostate.flink.compat;

import io.ferrostate.flink.async.FerroAsyncKeyedStateBackend;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.AbstractManagedMemoryStateBackend;
import org.apache.flink.runtime.state.AsyncKeyedStateBackend;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink 2.x's {@link AbstractManagedMemoryStateBackend} as ferrostate's backend sees it, with the
 * asynchronous keyed state API (State V2: {@code KeyedStream#enableAsyncState}, DataStream V2,
 * SQL's {@code table.exec.async-state.enabled}) served by {@link FerroAsyncKeyedStateBackend}.
 */
@Internal
public abstract class StateBackendBase extends AbstractManagedMemoryStateBackend {
    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(StateBackendBase.class);

    /** Whether the task thread executes asynchronous state requests itself when it can. */
    public abstract boolean isInlineStateRequests();

    @Override
    public boolean supportsAsyncKeyedStateBackend() {
        return true;
    }

    @Override
    public <K> AsyncKeyedStateBackend<K> createAsyncKeyedStateBackend(
            KeyedStateBackendParameters<K> parameters) throws Exception {
        FerroAsyncKeyedStateBackend<K> backend =
                new FerroAsyncKeyedStateBackend<>(
                        createKeyedStateBackend(parameters),
                        parameters.getEnv().getExecutionConfig(),
                        parameters.getTtlTimeProvider(),
                        isInlineStateRequests());
        // Beside the keyed backend's own line: which operators use the asynchronous state API.
        LOG.info(
                "ferrostate asynchronous keyed backend of job {}, operator {}, key groups {}.",
                parameters.getJobID(),
                parameters.getOperatorIdentifier(),
                parameters.getKeyGroupRange());
        return backend;
    }
}
