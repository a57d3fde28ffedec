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

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
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

    /**
     * A file of the snapshot directory that changes between the manifest and its upload (a
     * misbehaving disk, a process writing into the directory) fails the checkpoint, naming the
     * file, before its stream is closed; it is not uploaded as it is under a manifest that every
     * restore would then refuse.
     */
    @ParameterizedTest(name = "grown={0}")
    @ValueSource(booleans = {true, false})
    void aFileThatChangesBeforeItsUploadFailsTheCheckpoint(boolean grown) throws Exception {
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend = backend(env, true, null);
        try {
            write(backend, 10);
            File base = backend.getInstanceBasePath();
            RecordingStreamFactory factory =
                    new RecordingStreamFactory(() -> damageSnapshotFiles(base, grown));
            RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot =
                    checkpoint(backend, 1L, factory);
            snapshot.run();
            assertThatThrownBy(snapshot::get)
                    .isInstanceOf(ExecutionException.class)
                    .rootCause()
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("changed after the snapshot's manifest was written")
                    .hasMessageContaining(base.getPath());
            assertThat(factory.closedSizes).as("no upload completed").isEmpty();
        } finally {
            IOUtils.closeQuietly(backend);
            backend.dispose();
            env.close();
        }
    }

    /**
     * Changes every file of the backend's snapshot directories: one more byte, or the first byte
     * flipped (the same size, another checksum). The SST files are hard links to the store's own,
     * so the backend is of no further use.
     */
    private static void damageSnapshotFiles(File base, boolean grow) {
        File[] dirs = base.listFiles((d, name) -> name.startsWith("chk-"));
        assertThat(dirs).as("snapshot directories under %s", base).isNotEmpty();
        for (File dir : dirs) {
            File[] files = dir.listFiles(File::isFile);
            assertThat(files).as("files in %s", dir).isNotEmpty();
            for (File file : files) {
                try (RandomAccessFile f = new RandomAccessFile(file, "rw")) {
                    if (grow) {
                        f.seek(f.length());
                        f.write(0);
                    } else if (f.length() > 0) {
                        int first = f.read();
                        f.seek(0);
                        f.write(first ^ 0xff);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
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

        /** Runs when the first stream is opened. */
        private Runnable onFirstStream;

        RecordingStreamFactory() {
            this(() -> {});
        }

        RecordingStreamFactory(Runnable onFirstStream) {
            this.onFirstStream = onFirstStream;
        }

        @Override
        public CheckpointStateOutputStream createCheckpointStateOutputStream(
                CheckpointedStateScope scope) {
            Runnable first = onFirstStream;
            onFirstStream = () -> {};
            first.run();
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
