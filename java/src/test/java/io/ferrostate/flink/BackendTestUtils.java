package io.ferrostate.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.memory.MemCheckpointStreamFactory;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.RunnableFuture;

/** Builds ferrostate keyed backends on a mock task environment. */
final class BackendTestUtils {
    private BackendTestUtils() {}

    static <K> FerroKeyedStateBackend<K> create(
            MockEnvironment env,
            TypeSerializer<K> keySerializer,
            Collection<KeyedStateHandle> restore)
            throws Exception {
        return create(
                env,
                new FerroStateBackend(false),
                keySerializer,
                128,
                new KeyGroupRange(0, 127),
                restore);
    }

    @SuppressWarnings("unchecked")
    static <K> FerroKeyedStateBackend<K> create(
            MockEnvironment env,
            StateBackend backend,
            TypeSerializer<K> keySerializer,
            int numberOfKeyGroups,
            KeyGroupRange range,
            Collection<KeyedStateHandle> restore)
            throws Exception {
        return (FerroKeyedStateBackend<K>)
                backend.createKeyedStateBackend(
                        new KeyedStateBackendParametersImpl<>(
                                env,
                                new JobID(),
                                "test-op",
                                keySerializer,
                                numberOfKeyGroups,
                                range,
                                env.getTaskKvStateRegistry(),
                                TtlTimeProvider.DEFAULT,
                                new UnregisteredMetricsGroup(),
                                restore,
                                new CloseableRegistry()));
    }

    /** A keyed backend of any backend class (e.g. one loaded by another class loader). */
    static <K> org.apache.flink.runtime.state.CheckpointableKeyedStateBackend<K> createRaw(
            MockEnvironment env,
            StateBackend backend,
            TypeSerializer<K> keySerializer,
            KeyGroupRange range)
            throws Exception {
        return backend.createKeyedStateBackend(
                new KeyedStateBackendParametersImpl<>(
                        env,
                        new JobID(),
                        "test-op",
                        keySerializer,
                        range.getNumberOfKeyGroups(),
                        range,
                        env.getTaskKvStateRegistry(),
                        TtlTimeProvider.DEFAULT,
                        new UnregisteredMetricsGroup(),
                        Collections.emptyList(),
                        new CloseableRegistry()));
    }

    static <K> FerroKeyedStateBackend<K> create(
            MockEnvironment env, TypeSerializer<K> keySerializer) throws Exception {
        return create(env, keySerializer, Collections.emptyList());
    }

    static MockEnvironment env() {
        return MockEnvironment.builder().setManagedMemorySize(64L << 20).build();
    }

    /** Takes a full checkpoint into memory and returns its handle. */
    static KeyedStateHandle snapshot(FerroKeyedStateBackend<?> backend, long id) throws Exception {
        CheckpointStreamFactory factory = new MemCheckpointStreamFactory(64 << 20);
        RunnableFuture<SnapshotResult<KeyedStateHandle>> future =
                backend.snapshot(
                        id, id, factory, CheckpointOptions.forCheckpointWithDefaultLocation());
        future.run();
        return future.get().getJobManagerOwnedSnapshot();
    }
}
