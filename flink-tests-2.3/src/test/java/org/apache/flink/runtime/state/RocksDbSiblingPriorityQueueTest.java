package org.apache.flink.runtime.state;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBOptions;

/**
 * Timers of EmbeddedRocksDB (RocksDB priority queues, its default), through the same test base as
 * {@link FerroPriorityQueueTest}; stands in for Flink's {@code
 * KeyGroupPartitionedPriorityQueueWithRocksDBStoreTest}, which the RocksDB test-jar does not ship.
 */
public class RocksDbSiblingPriorityQueueTest extends BackendPriorityQueueTests {
    @Override
    StateBackend stateBackend() {
        Configuration conf = new Configuration();
        conf.set(
                RocksDBOptions.TIMER_SERVICE_FACTORY,
                EmbeddedRocksDBStateBackend.PriorityQueueStateType.ROCKSDB);
        return new EmbeddedRocksDBStateBackend(false).configure(conf, getClass().getClassLoader());
    }
}
