package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.AggregatingState;
import org.apache.flink.api.common.state.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.CheckpointType;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointStateOutputStream;
import org.apache.flink.runtime.state.CheckpointStorageLocationReference;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointedStateScope;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupedInternalPriorityQueue;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.PhysicalStateHandleID;
import org.apache.flink.runtime.state.PlaceholderStreamStateHandle;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.runtime.state.SharedStateRegistryImpl;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.filesystem.FsCheckpointStreamFactory;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.streaming.api.operators.TimerHeapInternalTimer;
import org.apache.flink.streaming.api.operators.TimerSerializer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 2, on the keyed backend itself: the task thread keeps writing while snapshots upload, two
 * snapshots in flight at once each restore exactly the state of their own moment, and a cancelled
 * or failed upload leaves no file behind that a later checkpoint depends on.
 */
class ConcurrentSnapshotsTest {
    private static final int KEYS = 2_000;
    private static final int MAX_PARALLELISM = 128;

    @TempDir Path tmp;

    private MockEnvironment env;
    private FerroKeyedStateBackend<Integer> backend;
    private States states;
    private final List<FerroKeyedStateBackend<Integer>> restored = new ArrayList<>();
    private Path exclusiveDir;
    private Path sharedDir;
    private CheckpointStreamFactory files;

    @BeforeEach
    void setUp() throws Exception {
        env = MockEnvironment.builder().setManagedMemorySize(64L << 20).build();
        backend = create(Collections.emptyList());
        states = new States(backend);
        exclusiveDir = Files.createDirectories(tmp.resolve("chk"));
        sharedDir = Files.createDirectories(tmp.resolve("shared"));
        files =
                new FsCheckpointStreamFactory(
                        FileSystem.getLocalFileSystem(),
                        new org.apache.flink.core.fs.Path(exclusiveDir.toUri()),
                        new org.apache.flink.core.fs.Path(sharedDir.toUri()),
                        0,
                        4096);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (FerroKeyedStateBackend<Integer> b : restored) {
            b.dispose();
        }
        backend.dispose();
        env.close();
    }

    @SuppressWarnings("unchecked")
    private FerroKeyedStateBackend<Integer> create(Collection<KeyedStateHandle> restore)
            throws Exception {
        return (FerroKeyedStateBackend<Integer>)
                new FerroStateBackend(true)
                        .createKeyedStateBackend(
                                new KeyedStateBackendParametersImpl<>(
                                        env,
                                        new JobID(),
                                        "test-op",
                                        IntSerializer.INSTANCE,
                                        MAX_PARALLELISM,
                                        new KeyGroupRange(0, MAX_PARALLELISM - 1),
                                        env.getTaskKvStateRegistry(),
                                        TtlTimeProvider.DEFAULT,
                                        new UnregisteredMetricsGroup(),
                                        restore,
                                        new CloseableRegistry()));
    }

    private RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot(
            long id, CheckpointStreamFactory factory) throws Exception {
        return snapshot(backend, id, factory);
    }

    /** An incremental checkpoint {@code id} of {@code b}, its upload not yet run. */
    private static RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot(
            FerroKeyedStateBackend<Integer> b, long id, CheckpointStreamFactory factory)
            throws Exception {
        return b.snapshot(id, id, factory, CheckpointOptions.forCheckpointWithDefaultLocation());
    }

    private Set<Path> uploadedFiles() throws IOException {
        Set<Path> out = new HashSet<>(TestCluster.filesUnder(exclusiveDir));
        out.addAll(TestCluster.filesUnder(sharedDir));
        return out;
    }

    @Test
    void twoSnapshotsInFlightEachRestoreTheirOwnMomentWhileTheTaskWrites() throws Exception {
        Model model = new Model();
        Random rnd = new Random(7);
        model.write(states, rnd, 20_000);
        Model atFirst = model.copy();
        RunnableFuture<SnapshotResult<KeyedStateHandle>> first = snapshot(1, files);

        model.write(states, rnd, 10_000);
        Model atSecond = model.copy();
        RunnableFuture<SnapshotResult<KeyedStateHandle>> second = snapshot(2, files);

        // Both uploads run on their own threads while the task thread goes on writing.
        AtomicLong writesDuringUpload = new AtomicLong();
        Thread t1 = new Thread(first, "upload-1");
        Thread t2 = new Thread(second, "upload-2");
        t2.start();
        t1.start();
        while (t1.isAlive() || t2.isAlive() || writesDuringUpload.get() < 1_000) {
            model.write(states, rnd, 100);
            writesDuringUpload.addAndGet(100);
        }
        t1.join();
        t2.join();
        IncrementalRemoteKeyedStateHandle h1 = handle(first);
        IncrementalRemoteKeyedStateHandle h2 = handle(second);

        model.check(states);
        atFirst.check(new States(restore(h1)));
        atSecond.check(new States(restore(h2)));

        // Once checkpoint 2 is confirmed, the next one uploads only what changed and references
        // the rest; restored through Flink's shared state registry, it holds its own moment too.
        backend.notifyCheckpointComplete(2);
        model.write(states, rnd, 200);
        Model atThird = model.copy();
        RunnableFuture<SnapshotResult<KeyedStateHandle>> third = snapshot(3, files);
        model.write(states, rnd, 5_000);
        IncrementalRemoteKeyedStateHandle h3 = run(third);
        assertThat(h3.getSharedState())
                .as("unchanged files are referenced, not uploaded again")
                .anyMatch(f -> f.getHandle() instanceof PlaceholderStreamStateHandle);
        assertThat(h3.getCheckpointedSize()).isLessThan(h2.getCheckpointedSize());
        SharedStateRegistry registry = new SharedStateRegistryImpl();
        h2.registerSharedStates(registry, 2);
        h3.registerSharedStates(registry, 3);
        atThird.check(new States(restore(h3)));
        registry.close();
    }

    @Test
    void cancelledAndFailedUploadsLeaveNothingBehindAndTheNextCheckpointRestores()
            throws Exception {
        Model model = new Model();
        Random rnd = new Random(11);
        model.write(states, rnd, 20_000);
        IncrementalRemoteKeyedStateHandle h1 = run(snapshot(1, files));
        backend.notifyCheckpointComplete(1);
        model.write(states, rnd, 3_000);
        Set<Path> before = uploadedFiles();

        // Cancelled while its first file is half uploaded.
        GatedFactory gated = new GatedFactory(files, 1024);
        RunnableFuture<SnapshotResult<KeyedStateHandle>> cancelled = snapshot(2, gated);
        Thread t = new Thread(cancelled, "upload-cancelled");
        t.start();
        assertThat(gated.blocked.await(30, TimeUnit.SECONDS)).as("the upload started").isTrue();
        model.write(states, rnd, 1_000);
        cancelled.cancel(true);
        t.join(30_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(cancelled.isCancelled()).isTrue();
        backend.notifyCheckpointAborted(2);
        assertThat(uploadedFiles()).as("files left by the cancelled upload").isEqualTo(before);
        assertThat(snapshotDirectories())
                .as("snapshot directories left in the working directory")
                .isEmpty();

        // Fails after some bytes of a later file.
        FailingFactory failing = new FailingFactory(files, 3);
        RunnableFuture<SnapshotResult<KeyedStateHandle>> failed = snapshot(3, failing);
        failed.run();
        assertThatThrownBy(failed::get)
                .isInstanceOf(ExecutionException.class)
                .hasStackTraceContaining("injected upload failure");
        backend.notifyCheckpointAborted(3);
        assertThat(uploadedFiles()).as("files left by the failed upload").isEqualTo(before);
        assertThat(snapshotDirectories()).isEmpty();

        // The next checkpoint restores exactly; it depends only on files that are still there.
        model.write(states, rnd, 1_000);
        Model atFourth = model.copy();
        IncrementalRemoteKeyedStateHandle h4 = run(snapshot(4, files));
        SharedStateRegistry registry = new SharedStateRegistryImpl();
        h1.registerSharedStates(registry, 1);
        h4.registerSharedStates(registry, 4);
        for (HandleAndLocalPath f : h4.getSharedState()) {
            Path p = TestCluster.filePath(f.getHandle());
            if (p != null) {
                assertThat(p).as("file of checkpoint 4: %s", f.getLocalPath()).exists();
            }
        }
        atFourth.check(new States(restore(h4)));
        registry.close();
    }

    /**
     * Flink's first checkpoint after a no-claim restore is a full one (sharing FORWARD); a
     * checkpoint that runs before its completion reaches the task must still not reference the
     * restored snapshot's files, which Flink does not register in no-claim mode. Nor may the
     * checkpoint after that reference the full checkpoint's files, which the one before uploaded
     * again; once a confirmation arrives with nothing later in flight, checkpoints are incremental
     * again.
     */
    @Test
    void afterAFullCheckpointNothingOfTheRestoredSnapshotIsReferencedAgain() throws Exception {
        Model model = new Model();
        Random rnd = new Random(13);
        model.write(states, rnd, 5_000);
        IncrementalRemoteKeyedStateHandle h1 = run(snapshot(1, files));
        backend.notifyCheckpointComplete(1);
        Set<PhysicalStateHandleID> restoredIds = sharedIds(h1);
        assertThat(restoredIds).isNotEmpty();

        FerroKeyedStateBackend<Integer> b = restore(h1);
        States bs = new States(b);
        model.write(bs, rnd, 1_000);
        CheckpointOptions full =
                new CheckpointOptions(
                        CheckpointType.FULL_CHECKPOINT,
                        CheckpointStorageLocationReference.getDefault());
        IncrementalRemoteKeyedStateHandle h2 = run(b.snapshot(2, 2, files, full));
        assertThat(h2.getSharedState())
                .noneMatch(f -> f.getHandle() instanceof PlaceholderStreamStateHandle);

        // Checkpoint 3 runs before checkpoint 2's completion reaches the backend.
        model.write(bs, rnd, 1_000);
        IncrementalRemoteKeyedStateHandle h3 = run(snapshot(b, 3, files));
        assertThat(referencedIds(h3)).as("files of the restored snapshot referenced").isEmpty();

        b.notifyCheckpointComplete(2);
        model.write(bs, rnd, 1_000);
        IncrementalRemoteKeyedStateHandle h4 = run(snapshot(b, 4, files));
        // Checkpoint 3 uploaded all of checkpoint 2's files again: once 3 completes, Flink drops
        // 2's handles, so 4 references none of them (and nothing of the restored snapshot).
        assertThat(referencedIds(h4)).doesNotContainAnyElementsOf(sharedIds(h2));
        assertThat(referencedIds(h4)).doesNotContainAnyElementsOf(restoredIds);
        SharedStateRegistry registry = new SharedStateRegistryImpl();
        h2.registerSharedStates(registry, 2);
        h3.registerSharedStates(registry, 3);
        registry.unregisterUnusedState(3);
        h4.registerSharedStates(registry, 4);
        model.check(new States(restore(h4)));

        // Once 4 is confirmed with nothing later in flight, checkpoints are incremental again.
        b.notifyCheckpointComplete(4);
        model.write(bs, rnd, 1_000);
        IncrementalRemoteKeyedStateHandle h5 = run(snapshot(b, 5, files));
        assertThat(referencedIds(h5)).as("incremental again, on 4's files").isNotEmpty();
        assertThat(sharedIds(h4)).containsAll(referencedIds(h5));
        registry.unregisterUnusedState(4);
        h5.registerSharedStates(registry, 5);
        model.check(new States(restore(h5)));
        registry.close();
    }

    /**
     * A checkpoint that runs before the previous one's completion reaches the task compares with an
     * older checkpoint and uploads the previous one's new files again. When the completion then
     * arrives, the next checkpoint must not reference the previous checkpoint's handles of those
     * files: the JobManager drops them as soon as the later checkpoint completes and subsumes the
     * previous one (seen on a real cluster with checkpoints every 500 ms: "Attempt to reference
     * unknown state", the checkpoint held up until its timeout).
     */
    @Test
    void aCheckpointConfirmedLateIsNotReferencedWhereALaterOneUploadedAgain() throws Exception {
        Model model = new Model();
        Random rnd = new Random(17);
        model.write(states, rnd, 5_000);
        IncrementalRemoteKeyedStateHandle h1 = run(snapshot(1, files));
        backend.notifyCheckpointComplete(1);

        model.write(states, rnd, 2_000);
        IncrementalRemoteKeyedStateHandle h2 = run(snapshot(2, files));
        // Checkpoint 3 runs before checkpoint 2's completion reaches the backend.
        model.write(states, rnd, 2_000);
        IncrementalRemoteKeyedStateHandle h3 = run(snapshot(3, files));
        backend.notifyCheckpointComplete(2);
        model.write(states, rnd, 2_000);
        IncrementalRemoteKeyedStateHandle h4 = run(snapshot(4, files));

        Set<PhysicalStateHandleID> uploadedTwice = new HashSet<>(sharedIds(h2));
        uploadedTwice.removeAll(sharedIds(h1));
        uploadedTwice.removeAll(referencedIds(h3));
        assertThat(uploadedTwice)
                .as("checkpoint 2's new files, which checkpoint 3 uploaded again")
                .isNotEmpty();
        assertThat(localPaths(h4, null))
                .as("checkpoint 4 holds some of those files (the test's premise)")
                .containsAnyElementsOf(localPaths(h2, uploadedTwice));
        assertThat(referencedIds(h4)).doesNotContainAnyElementsOf(uploadedTwice);

        // The JobManager's view, one checkpoint retained: each completes and subsumes the one
        // before, dropping the handles only that one referenced; then 4 is acknowledged.
        SharedStateRegistry registry = new SharedStateRegistryImpl();
        h1.registerSharedStates(registry, 1);
        h2.registerSharedStates(registry, 2);
        registry.unregisterUnusedState(2);
        h3.registerSharedStates(registry, 3);
        registry.unregisterUnusedState(3);
        h4.registerSharedStates(registry, 4);
        model.check(new States(restore(h4)));
        registry.close();
    }

    /** Runs a snapshot's upload on this thread; its handle for the JobManager. */
    private static IncrementalRemoteKeyedStateHandle run(
            RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot) throws Exception {
        snapshot.run();
        return handle(snapshot);
    }

    /** The handle for the JobManager of a snapshot whose upload has run. */
    private static IncrementalRemoteKeyedStateHandle handle(
            RunnableFuture<SnapshotResult<KeyedStateHandle>> snapshot) throws Exception {
        KeyedStateHandle h = snapshot.get().getJobManagerOwnedSnapshot();
        assertThat(h).isInstanceOf(IncrementalRemoteKeyedStateHandle.class);
        return (IncrementalRemoteKeyedStateHandle) h;
    }

    /** The local names of the shared files of {@code h} with a handle in {@code of} (null: all). */
    private static Set<String> localPaths(
            IncrementalRemoteKeyedStateHandle h, Set<PhysicalStateHandleID> of) {
        Set<String> names = new HashSet<>();
        for (HandleAndLocalPath f : h.getSharedState()) {
            if (of == null || of.contains(f.getHandle().getStreamStateHandleID())) {
                names.add(f.getLocalPath());
            }
        }
        return names;
    }

    private static Set<PhysicalStateHandleID> sharedIds(IncrementalRemoteKeyedStateHandle h) {
        Set<PhysicalStateHandleID> out = new HashSet<>();
        for (HandleAndLocalPath f : h.getSharedState()) {
            out.add(f.getHandle().getStreamStateHandleID());
        }
        return out;
    }

    private static Set<PhysicalStateHandleID> referencedIds(IncrementalRemoteKeyedStateHandle h) {
        Set<PhysicalStateHandleID> out = new HashSet<>();
        for (HandleAndLocalPath f : h.getSharedState()) {
            if (f.getHandle() instanceof PlaceholderStreamStateHandle) {
                out.add(f.getHandle().getStreamStateHandleID());
            }
        }
        return out;
    }

    private List<Path> snapshotDirectories() throws IOException {
        List<Path> out = new ArrayList<>();
        try (java.util.stream.Stream<Path> s = Files.list(backend.getInstanceBasePath().toPath())) {
            s.filter(p -> p.getFileName().toString().startsWith("chk-")).forEach(out::add);
        }
        return out;
    }

    private FerroKeyedStateBackend<Integer> restore(KeyedStateHandle handle) throws Exception {
        FerroKeyedStateBackend<Integer> b = create(Collections.singletonList(handle));
        restored.add(b);
        return b;
    }

    // ------------------------------------------------------------------------------------

    /** The five kinds and a timer queue on one backend. */
    static final class States {
        final FerroKeyedStateBackend<Integer> backend;
        final ValueState<Long> value;
        final ListState<Long> list;
        final MapState<Integer, Long> map;
        final ReducingState<Long> reducing;
        final AggregatingState<Long, Long> aggregating;
        final KeyGroupedInternalPriorityQueue<TimerHeapInternalTimer<Integer, VoidNamespace>>
                timers;

        States(FerroKeyedStateBackend<Integer> backend) throws Exception {
            this.backend = backend;
            value =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ValueStateDescriptor<>("value", LongSerializer.INSTANCE));
            list =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ListStateDescriptor<>("list", LongSerializer.INSTANCE));
            map =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new MapStateDescriptor<>(
                                    "map", IntSerializer.INSTANCE, LongSerializer.INSTANCE));
            reducing =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ReducingStateDescriptor<>(
                                    "reducing", Long::sum, LongSerializer.INSTANCE));
            aggregating =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new AggregatingStateDescriptor<>(
                                    "aggregating",
                                    new AllStateKindsJob.Average(),
                                    Types.TUPLE(Types.LONG, Types.LONG)));
            timers =
                    backend.create(
                            "timers",
                            new TimerSerializer<>(
                                    IntSerializer.INSTANCE, VoidNamespaceSerializer.INSTANCE));
        }
    }

    /** What every key holds, in plain Java. */
    static final class Model {
        final Map<Integer, Long> value = new HashMap<>();
        final Map<Integer, List<Long>> list = new HashMap<>();
        final Map<Integer, TreeMap<Integer, Long>> map = new HashMap<>();
        final Map<Integer, Long> reducing = new HashMap<>();
        final Map<Integer, long[]> aggregating = new HashMap<>();
        final Map<Integer, Set<Long>> timers = new HashMap<>();

        Model copy() {
            Model m = new Model();
            m.value.putAll(value);
            list.forEach((k, v) -> m.list.put(k, new ArrayList<>(v)));
            map.forEach((k, v) -> m.map.put(k, new TreeMap<>(v)));
            m.reducing.putAll(reducing);
            aggregating.forEach((k, v) -> m.aggregating.put(k, v.clone()));
            timers.forEach((k, v) -> m.timers.put(k, new HashSet<>(v)));
            return m;
        }

        void write(States s, Random rnd, int ops) throws Exception {
            for (int i = 0; i < ops; i++) {
                int key = rnd.nextInt(KEYS);
                s.backend.setCurrentKey(key);
                long v = rnd.nextInt(1_000_000);
                switch (rnd.nextInt(8)) {
                    case 0:
                        s.value.update(v);
                        value.put(key, v);
                        break;
                    case 1:
                        s.value.clear();
                        value.remove(key);
                        break;
                    case 2:
                        s.list.add(v);
                        list.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
                        break;
                    case 3:
                        int uk = rnd.nextInt(10);
                        if (rnd.nextBoolean()) {
                            s.map.put(uk, v);
                            map.computeIfAbsent(key, k -> new TreeMap<>()).put(uk, v);
                        } else {
                            s.map.remove(uk);
                            TreeMap<Integer, Long> m = map.get(key);
                            if (m != null) {
                                m.remove(uk);
                                if (m.isEmpty()) {
                                    map.remove(key);
                                }
                            }
                        }
                        break;
                    case 4:
                        s.reducing.add(v);
                        reducing.merge(key, v, Long::sum);
                        break;
                    case 5:
                        s.aggregating.add(v);
                        long[] acc = aggregating.computeIfAbsent(key, k -> new long[2]);
                        acc[0] += v;
                        acc[1]++;
                        break;
                    case 6:
                        s.timers.add(new TimerHeapInternalTimer<>(v, key, VoidNamespace.INSTANCE));
                        timers.computeIfAbsent(key, k -> new HashSet<>()).add(v);
                        break;
                    default:
                        s.list.update(Collections.singletonList(v));
                        list.put(key, new ArrayList<>(Collections.singletonList(v)));
                }
            }
        }

        void check(States s) throws Exception {
            Map<Integer, Set<Long>> actualTimers = new HashMap<>();
            try (org.apache.flink.util.CloseableIterator<
                            TimerHeapInternalTimer<Integer, VoidNamespace>>
                    it = s.timers.iterator()) {
                while (it.hasNext()) {
                    TimerHeapInternalTimer<Integer, VoidNamespace> t = it.next();
                    actualTimers
                            .computeIfAbsent(t.getKey(), k -> new HashSet<>())
                            .add(t.getTimestamp());
                }
            }
            assertThat(actualTimers).as("timers").isEqualTo(timers);
            for (int key = 0; key < KEYS; key++) {
                s.backend.setCurrentKey(key);
                assertThat(s.value.value()).as("value of %d", key).isEqualTo(value.get(key));
                List<Long> l = new ArrayList<>();
                Iterable<Long> got = s.list.get();
                if (got != null) {
                    got.forEach(l::add);
                }
                assertThat(l)
                        .as("list of %d", key)
                        .isEqualTo(list.getOrDefault(key, Collections.emptyList()));
                TreeMap<Integer, Long> m = new TreeMap<>();
                for (Map.Entry<Integer, Long> e : s.map.entries()) {
                    m.put(e.getKey(), e.getValue());
                }
                assertThat(m)
                        .as("map of %d", key)
                        .isEqualTo(map.getOrDefault(key, new TreeMap<>()));
                assertThat(s.reducing.get()).as("reducing of %d", key).isEqualTo(reducing.get(key));
                long[] acc = aggregating.get(key);
                assertThat(s.aggregating.get())
                        .as("aggregating of %d", key)
                        .isEqualTo(acc == null ? null : acc[0] / acc[1]);
            }
        }
    }

    // ------------------------------------------------------------------------------------

    /** Streams that block after {@code bytes} bytes until closed (the snapshot is cancelled). */
    static final class GatedFactory implements CheckpointStreamFactory {
        final CheckpointStreamFactory delegate;
        final long bytes;
        final CountDownLatch blocked = new CountDownLatch(1);

        GatedFactory(CheckpointStreamFactory delegate, long bytes) {
            this.delegate = delegate;
            this.bytes = bytes;
        }

        @Override
        public CheckpointStateOutputStream createCheckpointStateOutputStream(
                CheckpointedStateScope scope) throws IOException {
            CheckpointStateOutputStream out = delegate.createCheckpointStateOutputStream(scope);
            AtomicBoolean closed = new AtomicBoolean();
            return new Forwarding(out) {
                long written;

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    super.write(b, off, len);
                    written += len;
                    if (written >= bytes) {
                        blocked.countDown();
                        synchronized (closed) {
                            while (!closed.get()) {
                                try {
                                    closed.wait();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                    throw new IOException("interrupted", e);
                                }
                            }
                        }
                        throw new IOException("stream closed while uploading");
                    }
                }

                @Override
                public void close() throws IOException {
                    synchronized (closed) {
                        closed.set(true);
                        closed.notifyAll();
                    }
                    super.close();
                }
            };
        }

        @Override
        public boolean canFastDuplicate(StreamStateHandle h, CheckpointedStateScope s) {
            return false;
        }

        @Override
        public List<StreamStateHandle> duplicate(
                List<StreamStateHandle> h, CheckpointedStateScope s) {
            throw new UnsupportedOperationException();
        }
    }

    /** Streams of which the {@code n}-th fails halfway. */
    static final class FailingFactory implements CheckpointStreamFactory {
        final CheckpointStreamFactory delegate;
        final int n;
        int created;

        FailingFactory(CheckpointStreamFactory delegate, int n) {
            this.delegate = delegate;
            this.n = n;
        }

        @Override
        public CheckpointStateOutputStream createCheckpointStateOutputStream(
                CheckpointedStateScope scope) throws IOException {
            CheckpointStateOutputStream out = delegate.createCheckpointStateOutputStream(scope);
            boolean fail = ++created == n;
            return new Forwarding(out) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    super.write(b, off, Math.max(0, len / 2));
                    if (fail) {
                        throw new IOException("injected upload failure");
                    }
                    super.write(b, off + len / 2, len - len / 2);
                }
            };
        }

        @Override
        public boolean canFastDuplicate(StreamStateHandle h, CheckpointedStateScope s) {
            return false;
        }

        @Override
        public List<StreamStateHandle> duplicate(
                List<StreamStateHandle> h, CheckpointedStateScope s) {
            throw new UnsupportedOperationException();
        }
    }

    /** Forwards everything to another checkpoint stream. */
    static class Forwarding extends CheckpointStateOutputStream {
        private final CheckpointStateOutputStream out;

        Forwarding(CheckpointStateOutputStream out) {
            this.out = out;
        }

        @Override
        public StreamStateHandle closeAndGetHandle() throws IOException {
            return out.closeAndGetHandle();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }

        @Override
        public long getPos() throws IOException {
            return out.getPos();
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void sync() throws IOException {
            out.sync();
        }
    }
}
