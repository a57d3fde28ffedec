package org.apache.flink.runtime.state.ttl;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.runtime.state.StateBackend;

/**
 * The TTL tests on ferrostate with incremental (native) checkpoints. Like Flink's {@code
 * IncSnapshotRocksDbTtlStateTest}, {@link #isSavepoint()} is false: native snapshots copy files and
 * do not run the full-snapshot TTL filter (the compaction filter cleans up instead).
 */
public class FerroIncrementalTtlStateTest extends FerroTtlStateTest {

    @Override
    StateBackend createStateBackend() {
        return new FerroStateBackend(true);
    }

    @Override
    public boolean isSavepoint() {
        return false;
    }
}
