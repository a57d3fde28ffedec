package io.ferrostate.flink;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.core.testutils.OneShotLatch;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointStateOutputStream;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointedStateScope;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.memory.MemCheckpointStreamFactory;
import org.apache.flink.runtime.util.BlockerCheckpointStreamFactory;
import org.apache.flink.util.IOUtils;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RunnableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a snapshot does with the checkpoint streams it is given: a stream per file that holds bytes,
 * none for an empty file (a RocksDB checkpoint taken after a flush lists an empty WAL), so the
 * first stream of a snapshot is a file's upload and cancellation can stop it there.
 */
class SnapshotStreamsTest {

    private static final ValueStateDescriptor<Long> VALUE =
            new ValueStateDescriptor<>("v", LongSerializer.INSTANCE);

    @ParameterizedTest(name = "incremental={0}")
    @ValueSource(booleans = {true, false})
    void everyStreamASnapshotOpensHoldsBytesAndTheSnapshotRestores(boolean incremental)
            throws Exception {
        MockEnvironment env = BackendTestUtils.env();
        RecordingStreamFactory factory = new RecordingStreamFactory();
        KeyedStateHandle handle;
        FerroKeyedStateBackend<Integer> backend = backend(env, incremental, null);
        try {
            write(backend, 10);
            RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot =
                    checkpoint(backend, 1L, factory);
            snapshot.run();
            handle = snapshot.get().getJobManagerOwnedSnapshot();
        } finally {
            IOUtils.closeQuietly(backend);
            backend.dispose();
        }
        assertThat(factory.closedSizes).as("streams opened and closed").isNotEmpty();
        assertThat(factory.closedSizes).as("bytes written to each stream").doesNotContain(0L);

        FerroKeyedStateBackend<Integer> restored = backend(env, incremental, handle);
        try {
            ValueState<Long> state = valueState(restored);
            for (int k = 0; k < 10; k++) {
                restored.setCurrentKey(k);
                assertThat(state.value()).isEqualTo((long) k);
            }
        } finally {
            IOUtils.closeQuietly(restored);
            restored.dispose();
            env.close();
        }
    }

    /**
     * Flink's {@code StateBackendTestBase#testAsyncSnapshotCancellation}, made deterministic: its
     * streams block at their tenth byte, and any stream's close releases them all. A snapshot that
     * opened and closed a stream for an empty file first ran on unblocked, racing the test's close
     * of the backend (and won when the machine was busy).
     */
    @ParameterizedTest(name = "incremental={0}")
    @ValueSource(booleans = {true, false})
    void aSnapshotBlockedInItsFirstStreamIsCancelledByClosingTheBackend(boolean incremental)
            throws Exception {
        OneShotLatch waiter = new OneShotLatch();
        OneShotLatch blocker = new OneShotLatch();
        BlockerCheckpointStreamFactory factory = new BlockerCheckpointStreamFactory(1 << 20);
        factory.setWaiterLatch(waiter);
        factory.setBlockerLatch(blocker);
        factory.setAfterNumberInvocations(10);
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend = backend(env, incremental, null);
        try {
            write(backend, 10);
            RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot =
                    checkpoint(backend, 0L, factory);
            Thread runner = new Thread(snapshot);
            runner.start();
            waiter.await();
            assertThat(blocker.isTriggered())
                    .as("no stream was closed before the first one blocked")
                    .isFalse();
            assertThat(snapshot.isDone()).as("the snapshot waits in its first stream").isFalse();
            IOUtils.closeQuietly(backend);
            blocker.trigger();
            runner.join();
            assertThatThrownBy(snapshot::get).isInstanceOf(CancellationException.class);
        } finally {
            IOUtils.closeQuietly(backend);
            backend.dispose();
            env.close();
        }
    }

    private static FerroKeyedStateBackend<Integer> backend(
            MockEnvironment env, boolean incremental, KeyedStateHandle restore) throws Exception {
        return BackendTestUtils.create(
                env,
                new FerroStateBackend(incremental),
                IntSerializer.INSTANCE,
                128,
                new KeyGroupRange(0, 127),
                restore == null ? Collections.emptyList() : List.of(restore));
    }

    private static RunnableFuture<SnapshotResult<KeyedStateHandle>> checkpoint(
            FerroKeyedStateBackend<Integer> backend, long id, CheckpointStreamFactory factory)
            throws Exception {
        return backend.snapshot(
                id, id, factory, CheckpointOptions.forCheckpointWithDefaultLocation());
    }

    private static ValueState<Long> valueState(FerroKeyedStateBackend<Integer> backend)
            throws Exception {
        return backend.getPartitionedState(
                VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, VALUE);
    }

    private static void write(FerroKeyedStateBackend<Integer> backend, int keys) throws Exception {
        ValueState<Long> state = valueState(backend);
        for (int k = 0; k < keys; k++) {
            backend.setCurrentKey(k);
            state.update((long) k);
        }
    }

    /** In-memory checkpoint streams that record how many bytes each held when it was closed. */
    private static final class RecordingStreamFactory implements CheckpointStreamFactory {
        final List<Long> closedSizes = Collections.synchronizedList(new ArrayList<>());

        @Override
        public CheckpointStateOutputStream createCheckpointStateOutputStream(
                CheckpointedStateScope scope) {
            return new MemCheckpointStreamFactory.MemoryCheckpointOutputStream(64 << 20) {
                @Override
                public StreamStateHandle closeAndGetHandle() throws IOException {
                    closedSizes.add(getPos());
                    return super.closeAndGetHandle();
                }
            };
        }

        @Override
        public boolean canFastDuplicate(StreamStateHandle handle, CheckpointedStateScope scope) {
            return false;
        }

        @Override
        public List<StreamStateHandle> duplicate(
                List<StreamStateHandle> handles, CheckpointedStateScope scope) {
            throw new UnsupportedOperationException();
        }
    }
}
