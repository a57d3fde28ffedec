package org.apache.flink.test.state;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
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

    static final BackendSwitchSpec FERRO = new FerroSpec();

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

    /** A ferrostate keyed backend on a mock task environment (managed memory included). */
    static final class FerroSpec implements BackendSwitchSpec {
        private final List<MockEnvironment> envs = new ArrayList<>();
        private final List<CheckpointableKeyedStateBackend<String>> backends = new ArrayList<>();

        @Override
        public CheckpointableKeyedStateBackend<String> createBackend(
                KeyGroupRange keyGroupRange,
                int numKeyGroups,
                Collection<KeyedStateHandle> stateHandles)
                throws Exception {
            MockEnvironment env = MockEnvironment.builder().setManagedMemorySize(64L << 20).build();
            envs.add(env);
            CheckpointableKeyedStateBackend<String> backend =
                    new FerroStateBackend()
                            .createKeyedStateBackend(
                                    new KeyedStateBackendParametersImpl<>(
                                            env,
                                            new JobID(),
                                            "test-op",
                                            StringSerializer.INSTANCE,
                                            numKeyGroups,
                                            keyGroupRange,
                                            env.getTaskKvStateRegistry(),
                                            TtlTimeProvider.DEFAULT,
                                            new UnregisteredMetricsGroup(),
                                            stateHandles,
                                            new CloseableRegistry()));
            backends.add(backend);
            return backend;
        }

        @Override
        public void close() throws Exception {
            // Dispose returns the managed memory, which the mock environment checks on close.
            for (CheckpointableKeyedStateBackend<String> backend : backends) {
                backend.dispose();
            }
            backends.clear();
            for (MockEnvironment env : envs) {
                env.close();
            }
            envs.clear();
        }

        @Override
        public String toString() {
            return "FERROSTATE";
        }
    }
}
