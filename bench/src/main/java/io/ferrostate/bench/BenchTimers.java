package io.ferrostate.bench;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.metrics.groups.UnregisteredMetricGroups;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.streaming.api.operators.InternalTimeServiceManagerImpl;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.KeyContext;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.tasks.StreamTaskCancellationContext;
import org.apache.flink.streaming.runtime.tasks.TestProcessingTimeService;

import java.util.Collections;

/**
 * Flink's own timer service over a benchmark's keyed backend, as an operator gets it: an {@link
 * InternalTimeServiceManagerImpl} whose priority queues the backend creates (heap queues for
 * HashMap, column families for RocksDB, the store for ferrostate), one event-time timer service
 * with {@code Long} namespaces that counts what fires.
 */
final class BenchTimers<K> {
    private final InternalTimeServiceManagerImpl<K> manager;
    final InternalTimerService<Long> service;
    private long fired;

    BenchTimers(
            CheckpointableKeyedStateBackend<K> backend,
            String name,
            TypeSerializer<K> keySerializer)
            throws Exception {
        KeyContext keyContext =
                new KeyContext() {
                    @Override
                    @SuppressWarnings("unchecked")
                    public void setCurrentKey(Object key) {
                        backend.setCurrentKey((K) key);
                    }

                    @Override
                    public Object getCurrentKey() {
                        return backend.getCurrentKey();
                    }
                };
        manager =
                InternalTimeServiceManagerImpl.create(
                        UnregisteredMetricGroups.createUnregisteredTaskMetricGroup()
                                .getIOMetricGroup(),
                        backend,
                        getClass().getClassLoader(),
                        keyContext,
                        new TestProcessingTimeService(),
                        Collections.emptyList(),
                        StreamTaskCancellationContext.alwaysRunning());
        service =
                manager.getInternalTimerService(
                        name,
                        keySerializer,
                        LongSerializer.INSTANCE,
                        new Triggerable<K, Long>() {
                            @Override
                            public void onEventTime(InternalTimer<K, Long> timer) {
                                fired++;
                            }

                            @Override
                            public void onProcessingTime(InternalTimer<K, Long> timer) {}
                        });
    }

    /** Fires every event-time timer up to {@code time}; returns how many fired so far. */
    long advanceWatermark(long time) throws Exception {
        manager.advanceWatermark(new Watermark(time));
        return fired;
    }
}
