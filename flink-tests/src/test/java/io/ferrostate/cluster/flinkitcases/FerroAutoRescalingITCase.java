package io.ferrostate.cluster.flinkitcases;

import org.apache.flink.test.checkpointing.AutoRescalingITCase;

import org.junit.runners.Parameterized;

import java.util.Arrays;
import java.util.Collection;

/**
 * Flink's {@link AutoRescalingITCase} (flink-tests 1.20.0 test-jar), unchanged, on ferrostate: the
 * adaptive scheduler rescales running jobs from incremental checkpoints (the MiniCluster sets
 * {@code execution.checkpointing.incremental: true}), so ferrostate restores its own native
 * incremental handles into other key-group ranges. {@code data()} is shadowed to name ferrostate's
 * factory; {@code useIngestDB} is a RocksDB-only switch and stays false.
 */
public class FerroAutoRescalingITCase extends AutoRescalingITCase {

    public FerroAutoRescalingITCase(String backend, int buffersPerChannel, boolean useIngestDB) {
        super(backend, buffersPerChannel, useIngestDB);
    }

    @Parameterized.Parameters(name = "backend = {0}, buffersPerChannel = {1}, useIngestDB = {2}")
    public static Collection<Object[]> data() {
        return Arrays.asList(
                new Object[][] {
                    {FerroRescalingITCase.FERRO_FACTORY, 0, false},
                    {FerroRescalingITCase.FERRO_FACTORY, 2, false}
                });
    }
}
