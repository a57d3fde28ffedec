package io.ferrostate.cluster.flinkitcases;

import org.apache.flink.test.checkpointing.RescalingITCase;

import org.junit.runners.Parameterized;

import java.util.Arrays;
import java.util.Collection;

/**
 * Flink's {@link RescalingITCase} (flink-tests 1.20.0 test-jar), unchanged, on ferrostate: its
 * {@code data()} puts the backend name into the MiniCluster's {@code state.backend.type}; this
 * subclass shadows {@code data()} with ferrostate's factory, with and without network buffers per
 * channel as Flink's own parameters do. Twelve tests per parameter: savepoints of keyed state
 * restored with a different parallelism (in and out, with explicit and derived max parallelism),
 * and operator state (which ferrostate leaves to Flink's default operator backend).
 */
public class FerroRescalingITCase extends RescalingITCase {

    static final String FERRO_FACTORY = "io.ferrostate.flink.FerroStateBackendFactory";

    public FerroRescalingITCase(String backend, int buffersPerChannel) {
        super(backend, buffersPerChannel);
    }

    @Parameterized.Parameters(name = "backend = {0}, buffersPerChannel = {1}")
    public static Collection<Object[]> data() {
        return Arrays.asList(new Object[][] {{FERRO_FACTORY, 2}, {FERRO_FACTORY, 0}});
    }
}
