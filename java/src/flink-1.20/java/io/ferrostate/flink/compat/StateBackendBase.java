package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.AbstractManagedMemoryStateBackend;

/**
 * Flink 1.20's {@link AbstractManagedMemoryStateBackend} as ferrostate's backend sees it. Flink
 * 1.20 has no asynchronous keyed state API; the flink-2.3 version of this class offers it.
 */
@Internal
public abstract class StateBackendBase extends AbstractManagedMemoryStateBackend {
    private static final long serialVersionUID = 1L;
}
