package org.apache.flink.runtime.state.ttl;

import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.runtime.state.StateBackend;

/**
 * Flink's TTL test base (16 tests x 8 state kinds) plus the compaction-filter tests, on ferrostate
 * with full checkpoints. ferrostate's full checkpoints are written in the canonical format with the
 * TTL snapshot transformer applied, so the two "cleanup in full snapshot" tests run ({@link
 * #isSavepoint()} keeps the base's default, true), where Flink's RocksDB backend turns them off.
 * The two incremental-cleanup tests are skipped as for RocksDB: the base checks that the state is a
 * heap state ({@code original instanceof AbstractHeapState}); ferrostate's incremental cleanup is
 * tested in {@code io.ferrostate.flink.TtlCleanupTest}.
 */
public class FerroTtlStateTest extends CompactionFilterTtlTests {

    @Override
    StateBackend createStateBackend() {
        return new FerroStateBackend(false);
    }

    @Override
    void compact(StateDescriptor<?, ?> stateDesc) {
        FerroKeyedStateBackend<String> backend = sbetc.getKeyedStateBackend();
        backend.compactState(stateDesc);
    }
}
