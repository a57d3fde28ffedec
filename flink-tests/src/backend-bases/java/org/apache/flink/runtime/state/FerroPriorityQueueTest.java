package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;

/** Timers of ferrostate (Flink's heap priority queues, snapshotted with the keyed state). */
public class FerroPriorityQueueTest extends BackendPriorityQueueTests {
    @Override
    StateBackend stateBackend() {
        return new FerroStateBackend(false);
    }
}
