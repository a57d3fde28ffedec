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

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A ferrostate keyed backend on a mock task environment (managed memory included), for Flink's
 * {@code SavepointStateBackendSwitchTestBase} on either Flink line.
 */
final class FerroSwitchSpec implements BackendSwitchSpec {
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
