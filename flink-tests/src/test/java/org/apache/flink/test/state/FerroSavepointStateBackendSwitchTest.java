package org.apache.flink.test.state;

import org.apache.flink.test.state.BackendSwitchSpecs.BackendSwitchSpec;

import org.junit.After;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Flink's {@code SavepointStateBackendSwitchTestBase} (flink-tests test-jar, unchanged) with
 * ferrostate on either side: a canonical savepoint with value, list and map state and timers, taken
 * on one backend and restored on the other, for ferrostate to/from HashMap, RocksDB (RocksDB and
 * heap timers) and ferrostate itself. In this package because Flink's specs are package-private.
 */
@RunWith(Parameterized.class)
public class FerroSavepointStateBackendSwitchTest extends SavepointStateBackendSwitchTestBase {

    static final FerroSwitchSpec FERRO = new FerroSwitchSpec();

    public FerroSavepointStateBackendSwitchTest(BackendSwitchSpec from, BackendSwitchSpec to) {
        super(from, to);
    }

    /** The base closes the backends it creates but never disposes them, nor closes the specs. */
    @After
    public void disposeFerroBackends() throws Exception {
        FERRO.close();
    }

    @Parameterized.Parameters(name = "from: {0} to: {1}")
    public static Collection<BackendSwitchSpec[]> targetBackends() {
        List<BackendSwitchSpec> others =
                Arrays.asList(
                        BackendSwitchSpecs.HEAP,
                        BackendSwitchSpecs.ROCKS,
                        BackendSwitchSpecs.ROCKS_HEAP_TIMERS);
        List<BackendSwitchSpec[]> specs = new ArrayList<>();
        specs.add(new BackendSwitchSpec[] {FERRO, FERRO});
        for (BackendSwitchSpec other : others) {
            specs.add(new BackendSwitchSpec[] {FERRO, other});
            specs.add(new BackendSwitchSpec[] {other, FERRO});
        }
        return specs;
    }
}
