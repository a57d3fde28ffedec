package io.ferrostate.cluster.flinkitcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.test.checkpointing.KeyedStateCheckpointingITCase;

import org.junit.Ignore;
import org.junit.Test;

/**
 * Flink's {@link KeyedStateCheckpointingITCase} (flink-tests 1.20.0 test-jar) program, unchanged,
 * through its {@code testProgramWithBackend(AbstractStateBackend)}: two sources into keyed
 * ValueState (with a non-serializable-by-Kryo-default type), a failure after some checkpoints,
 * recovery, and exact per-key counts. Run with ferrostate's full and incremental checkpoints. The
 * parent's six tests name Flink's own backends (memory, fs, RocksDB); they are overridden as
 * ignored here, so this class runs only ferrostate (Flink's own run covers theirs).
 */
public class FerroKeyedStateCheckpointingITCase extends KeyedStateCheckpointingITCase {

    @Test
    public void testWithFerroStateFull() throws Exception {
        testProgramWithBackend(new FerroStateBackend(false));
    }

    @Test
    public void testWithFerroStateIncremental() throws Exception {
        testProgramWithBackend(new FerroStateBackend(true));
    }

    private static final String NOT_FERRO = "hard-codes one of Flink's own backends";

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithMemoryBackendSync() {}

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithMemoryBackendAsync() {}

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithFsBackendSync() {}

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithFsBackendAsync() {}

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithRocksDbBackendFull() {}

    @Override
    @Ignore(NOT_FERRO)
    @Test
    public void testWithRocksDbBackendIncremental() {}
}
