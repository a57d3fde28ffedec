package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;
import io.ferrostate.flink.FerroStateOptions;

import org.apache.flink.configuration.Configuration;

/** Timers of ferrostate in Flink's heap priority queues ({@code timer-service.factory: HEAP}). */
public class FerroHeapTimersPriorityQueueTest extends BackendPriorityQueueTests {
    @Override
    StateBackend stateBackend() {
        Configuration conf = new Configuration();
        conf.set(
                FerroStateOptions.TIMER_SERVICE_FACTORY,
                FerroStateOptions.TimerServiceFactory.HEAP);
        return new FerroStateBackend(false)
                .configure(conf, FerroHeapTimersPriorityQueueTest.class.getClassLoader());
    }
}
