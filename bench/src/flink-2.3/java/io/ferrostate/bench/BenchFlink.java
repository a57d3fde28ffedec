package io.ferrostate.bench;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.forst.ForStStateBackend;
import org.apache.flink.state.forst.sync.ForStSyncKeyedStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBKeyedStateBackend;

import java.io.File;

/**
 * The backends of the micro-benchmarks as Flink 2.3 names them, with ForSt (Flink 2's disaggregated
 * backend) in local mode: its working files in the trial's directory, no remote directory, defaults
 * otherwise (managed memory, as RocksDB and ferrostate).
 */
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
            case FORST:
                config.setString("state.backend.forst.local-dir", dir.getAbsolutePath());
                return new ForStStateBackend().configure(config, cl);
            case FERROSTATE:
                config.setString("state.backend.ferrostate.localdir", dir.getAbsolutePath());
                return new FerroStateBackend(false).configure(config, cl);
            default:
                throw new IllegalArgumentException(type.name());
        }
    }

    /** RocksDB's or ForSt's full compaction of one state. */
    static void compact(
            KeyedStateBackend<Long> backend,
            org.apache.flink.api.common.state.StateDescriptor<?, ?> desc)
            throws Exception {
        if (backend instanceof RocksDBKeyedStateBackend) {
            ((RocksDBKeyedStateBackend<Long>) backend).compactState(desc);
        } else if (backend instanceof ForStSyncKeyedStateBackend) {
            ((ForStSyncKeyedStateBackend<Long>) backend).compactState(desc);
        }
    }
}
