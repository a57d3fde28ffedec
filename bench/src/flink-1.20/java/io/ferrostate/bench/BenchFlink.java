package io.ferrostate.bench;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.contrib.streaming.state.RocksDBKeyedStateBackend;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;

import java.io.File;

/** The backends of the micro-benchmarks as Flink 1.20 names them (no ForSt on this line). */
final class BenchFlink {
    private BenchFlink() {}

    static StateBackend stateBackend(
            BenchBackends.BackendType type, File dir, Configuration config, ClassLoader cl) {
        switch (type) {
            case HEAP:
                return new HashMapStateBackend().configure(config, cl);
            case ROCKSDB:
                config.setString("state.backend.rocksdb.localdir", dir.getAbsolutePath());
                return new EmbeddedRocksDBStateBackend(false).configure(config, cl);
            case FERROSTATE:
                config.setString("state.backend.ferrostate.localdir", dir.getAbsolutePath());
                return new FerroStateBackend(false).configure(config, cl);
            default:
                throw new IllegalArgumentException(type + " is not a Flink 1.20 backend");
        }
    }

    /** RocksDB's full compaction of one state. */
    static void compact(
            KeyedStateBackend<Long> backend,
            org.apache.flink.api.common.state.StateDescriptor<?, ?> desc)
            throws Exception {
        if (backend instanceof RocksDBKeyedStateBackend) {
            ((RocksDBKeyedStateBackend<Long>) backend).compactState(desc);
        }
    }
}
