package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;

/** Timers of ferrostate kept in its native store (the default timer service). */
public class FerroPriorityQueueTest extends BackendPriorityQueueTests {
    @Override
    StateBackend stateBackend() {
        return new FerroStateBackend(false);
    }
}
