package org.apache.flink.test.state;

import org.apache.flink.test.state.BackendSwitchSpecs.BackendSwitchSpec;
import org.apache.flink.testutils.junit.extensions.parameterized.ParameterizedTestExtension;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameters;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Flink 2.3's {@code SavepointStateBackendSwitchTestBase} (flink-tests test-jar, unchanged; JUnit 5
 * on this line) with ferrostate on either side: a canonical savepoint with value, list and map
 * state and timers, taken on one backend and restored on the other, for ferrostate to/from HashMap,
 * RocksDB (RocksDB and heap timers) and ferrostate itself.
 */
@ExtendWith(ParameterizedTestExtension.class)
public class FerroSavepointStateBackendSwitchTest extends SavepointStateBackendSwitchTestBase {

    static final FerroSwitchSpec FERRO = new FerroSwitchSpec();

    public FerroSavepointStateBackendSwitchTest(BackendSwitchSpec from, BackendSwitchSpec to) {
        super(from, to);
    }

    /** The base closes the backends it creates but never disposes them, nor closes the specs. */
    @AfterEach
    void disposeFerroBackends() throws Exception {
        FERRO.close();
    }

    @Parameters(name = "from: {0} to: {1}")
    public static Collection<Object[]> targetBackends() {
        List<BackendSwitchSpec> others =
                Arrays.asList(
                        BackendSwitchSpecs.HEAP,
                        BackendSwitchSpecs.ROCKS,
                        BackendSwitchSpecs.ROCKS_HEAP_TIMERS);
        List<Object[]> specs = new ArrayList<>();
        specs.add(new Object[] {FERRO, FERRO});
        for (BackendSwitchSpec other : others) {
            specs.add(new Object[] {FERRO, other});
            specs.add(new Object[] {other, FERRO});
        }
        return specs;
    }
}
