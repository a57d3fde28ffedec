package org.apache.flink.runtime.state.ttl;

import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBKeyedStateBackend;
import org.apache.flink.testutils.junit.utils.TempDirUtils;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.TernaryBoolean;

import java.io.IOException;

/**
 * Flink's own {@code FullSnapshotRocksDbTtlStateTest} (its RocksDB module's test-jar does not ship
 * it): EmbeddedRocksDB with full checkpoints, side by side with {@link FerroTtlStateTest}. As in
 * Flink, {@code isSavepoint()} is false: RocksDB's checkpoints copy SST files and never apply the
 * TTL snapshot filter.
 */
public class RocksDbSiblingTtlStateTest extends CompactionFilterTtlTests {

    @Override
    StateBackend createStateBackend() {
        String dbPath;
        try {
            dbPath = TempDirUtils.newFolder(tempFolder()).getAbsolutePath();
        } catch (IOException e) {
            throw new FlinkRuntimeException("Failed to init rocksdb test state backend");
        }
        EmbeddedRocksDBStateBackend backend = new EmbeddedRocksDBStateBackend(TernaryBoolean.FALSE);
        backend =
                backend.configure(
                        new Configuration(), Thread.currentThread().getContextClassLoader());
        backend.setDbStoragePath(dbPath);
        return backend;
    }

    @Override
    public boolean isSavepoint() {
        return false;
    }

    @Override
    void compact(StateDescriptor<?, ?> stateDesc) throws Exception {
        RocksDBKeyedStateBackend<String> backend = sbetc.getKeyedStateBackend();
        backend.compactState(stateDesc);
    }
}
