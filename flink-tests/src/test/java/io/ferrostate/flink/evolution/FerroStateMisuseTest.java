package io.ferrostate.flink.evolution;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointStorageLocationReference;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.SavepointSnapshotStrategy;
import org.apache.flink.runtime.state.SnapshotExecutionType;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.SnapshotStrategyRunner;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.state.memory.MemCheckpointStreamFactory;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.types.StringValue;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.IOUtils;
import org.apache.flink.util.StateMigrationException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.RunnableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Bad input at the backend level, on ferrostate side by side with Flink's HashMap and
 * EmbeddedRocksDB backends: a state registered twice with different types, and a restore from a
 * snapshot of a different key-group range. Each case records what every backend does (the
 * exception's class and message, or what it restored); ferrostate must do what RocksDB does, and
 * afterwards everything already stored must still be there, in the backend and in a snapshot of it.
 */
class FerroStateMisuseTest {
    private static final int KEY_GROUPS = 128;
    private static final KeyGroupRange ALL = KeyGroupRange.of(0, KEY_GROUPS - 1);
    private static final KeyGroupRange LOWER = KeyGroupRange.of(0, 63);
    private static final int KEYS = 200;

    private static final ValueStateDescriptor<String> VALUE =
            new ValueStateDescriptor<>("s", StringSerializer.INSTANCE);
    private static final ListStateDescriptor<String> LIST =
            new ListStateDescriptor<>("list", StringSerializer.INSTANCE);
    private static final MapStateDescriptor<Integer, String> MAP =
            new MapStateDescriptor<>("map", IntSerializer.INSTANCE, StringSerializer.INSTANCE);

    private final List<MockEnvironment> envs = new ArrayList<>();
    private final List<CheckpointableKeyedStateBackend<?>> backends = new ArrayList<>();

    enum Backend {
        HASHMAP,
        ROCKSDB,
        ROCKSDB_INCREMENTAL,
        FERRO,
        FERRO_INCREMENTAL;

        StateBackend create() {
            switch (this) {
                case HASHMAP:
                    return new HashMapStateBackend();
                case ROCKSDB:
                    return new EmbeddedRocksDBStateBackend(false);
                case ROCKSDB_INCREMENTAL:
                    return new EmbeddedRocksDBStateBackend(true);
                case FERRO:
                    return new FerroStateBackend(false);
                default:
                    return new FerroStateBackend(true);
            }
        }

        /** The RocksDB variant ferrostate must behave like. */
        Backend model() {
            return this == FERRO ? ROCKSDB : this == FERRO_INCREMENTAL ? ROCKSDB_INCREMENTAL : this;
        }
    }

    @BeforeEach
    void reset() {
        BrittleSerializer.readsFail = false;
    }

    @AfterEach
    void cleanUp() throws Exception {
        BrittleSerializer.readsFail = false;
        for (CheckpointableKeyedStateBackend<?> b : backends) {
            IOUtils.closeQuietly(b);
            b.dispose();
        }
        for (MockEnvironment env : envs) {
            env.close();
        }
    }

    // ------------------------------------------------------------------------
    //  A state registered twice with different types
    // ------------------------------------------------------------------------

    /** The registrations that must fail for a state "s" that holds String values. */
    private static Map<String, StateDescriptor<?, ?>> wrongTypes() {
        Map<String, StateDescriptor<?, ?>> wrong = new LinkedHashMap<>();
        wrong.put("as list", new ListStateDescriptor<>("s", StringSerializer.INSTANCE));
        wrong.put(
                "as map",
                new MapStateDescriptor<>("s", IntSerializer.INSTANCE, StringSerializer.INSTANCE));
        wrong.put("as value of Long", new ValueStateDescriptor<>("s", LongSerializer.INSTANCE));
        return wrong;
    }

    @Test
    void stateRegisteredTwiceWithDifferentTypesFailsAsOnRocksDbAndLosesNothing() throws Exception {
        Map<String, Map<Backend, String>> outcomes = new TreeMap<>();
        for (Backend kind : new Backend[] {Backend.HASHMAP, Backend.ROCKSDB, Backend.FERRO}) {
            CheckpointableKeyedStateBackend<Integer> backend = create(kind, ALL, null);
            writeValues(backend);

            // Through the user-facing path (what getRuntimeContext().getState() uses).
            record(
                    outcomes,
                    "1 live, getPartitionedState as list",
                    kind,
                    () -> {
                        ListState<String> list =
                                backend.getPartitionedState(
                                        VoidNamespace.INSTANCE,
                                        VoidNamespaceSerializer.INSTANCE,
                                        new ListStateDescriptor<>("s", StringSerializer.INSTANCE));
                        list.add("x");
                    });
            // Straight to the backend's registration, as a second operator instance would.
            for (Map.Entry<String, StateDescriptor<?, ?>> wrong : wrongTypes().entrySet()) {
                record(
                        outcomes,
                        "2 live, register " + wrong.getKey(),
                        kind,
                        () ->
                                backend.createOrUpdateInternalState(
                                        VoidNamespaceSerializer.INSTANCE, wrong.getValue()));
            }
            // Nothing lost: the backend still reads every value, and so does a restore of it.
            assertValues(backend, kind + " after the failed registrations");
            KeyedStateHandle checkpoint = checkpoint(backend, 1);
            assertValues(create(kind, ALL, checkpoint), kind + " restored");

            // After a restore the registered type comes from the snapshot.
            for (Map.Entry<String, StateDescriptor<?, ?>> wrong : wrongTypes().entrySet()) {
                CheckpointableKeyedStateBackend<Integer> restored = create(kind, ALL, checkpoint);
                record(
                        outcomes,
                        "3 restored, register " + wrong.getKey(),
                        kind,
                        () ->
                                restored.createOrUpdateInternalState(
                                        VoidNamespaceSerializer.INSTANCE, wrong.getValue()));
                // Can the same backend instance then register the state as it was?
                record(
                        outcomes,
                        "4 restored, register " + wrong.getKey() + ", then as it was",
                        kind,
                        () -> assertValues(restored, kind + " " + wrong.getKey()));
                // And snapshot it? (A failing task is not snapshotted; shown for comparison.)
                record(
                        outcomes,
                        "5 restored, register " + wrong.getKey() + ", then snapshot",
                        kind,
                        () -> assertValues(create(kind, ALL, checkpoint(restored, 2)), "again"));
                // A restarted task restores the same snapshot again: nothing lost.
                assertValues(
                        create(kind, ALL, checkpoint),
                        kind + " checkpoint after a failed registration " + wrong.getKey());
            }
        }
        print("State registered twice", outcomes);
        for (Map.Entry<String, Map<Backend, String>> e : outcomes.entrySet()) {
            assertThat(e.getValue().get(Backend.FERRO))
                    .as(e.getKey())
                    .isEqualTo(e.getValue().get(Backend.ROCKSDB));
            if (e.getKey().startsWith("1")
                    || e.getKey().startsWith("2")
                    || e.getKey().startsWith("3")) {
                assertThat(e.getValue().get(Backend.FERRO)).as(e.getKey()).isNotEqualTo("ok");
            }
        }
    }

    // ------------------------------------------------------------------------
    //  A restore from a snapshot of a different key-group range
    // ------------------------------------------------------------------------

    @Test
    void restoreFromAnotherKeyGroupRangeFailsAsOnRocksDbAndLosesNothing() throws Exception {
        Map<String, Map<Backend, String>> outcomes = new TreeMap<>();
        for (Backend kind : Backend.values()) {
            CheckpointableKeyedStateBackend<Integer> source = create(kind, LOWER, null);
            int written = writeAllKinds(source, LOWER);
            Map<String, KeyedStateHandle> snapshots = new LinkedHashMap<>();
            snapshots.put("canonical savepoint", savepoint(source, 1));
            snapshots.put("checkpoint", checkpoint(source, 2));
            for (Map.Entry<String, KeyedStateHandle> snapshot : snapshots.entrySet()) {
                for (KeyGroupRange range :
                        new KeyGroupRange[] {KeyGroupRange.of(64, 127), KeyGroupRange.of(32, 95)}) {
                    String what = snapshot.getKey() + " of " + LOWER + " into " + range;
                    outcomes.computeIfAbsent(what, w -> new TreeMap<>())
                            .put(kind, restoreOutcome(kind, range, snapshot.getValue()));
                }
                // Nothing lost: the snapshot still restores whole into its own range.
                CheckpointableKeyedStateBackend<Integer> again =
                        create(kind, LOWER, snapshot.getValue());
                assertThat(readAllKinds(again, LOWER))
                        .as("%s %s restored into its own range", kind, snapshot.getKey())
                        .isEqualTo(written);
            }
        }
        print("Restore from another key-group range", outcomes);
        for (Map.Entry<String, Map<Backend, String>> e : outcomes.entrySet()) {
            for (Backend ferro : new Backend[] {Backend.FERRO, Backend.FERRO_INCREMENTAL}) {
                assertThat(e.getValue().get(ferro))
                        .as("%s on %s", e.getKey(), ferro)
                        .isEqualTo(e.getValue().get(ferro.model()));
            }
        }
    }

    /** What a restore into {@code range} does: the failure, or how many entries it kept. */
    private String restoreOutcome(Backend kind, KeyGroupRange range, KeyedStateHandle handle) {
        try {
            CheckpointableKeyedStateBackend<Integer> restored = create(kind, range, handle);
            return "restored " + readAllKinds(restored, range) + " entries";
        } catch (Exception e) {
            return describe(e);
        }
    }

    // ------------------------------------------------------------------------
    //  Restored lists that cannot be read with the snapshot's serializer
    // ------------------------------------------------------------------------

    /**
     * ferrostate converts restored canonical lists to its own format with the serializer restored
     * from the snapshot. When that serializer cannot read them (the job's classes changed), the
     * restore must still succeed, as on RocksDB, which reads nothing at restore: the values are
     * kept byte for byte, written back unchanged by the next snapshot, and registering the state
     * fails with Flink's StateMigrationException instead of reading garbage.
     */
    @Test
    void restoredListsTheSnapshotSerializerCannotReadAreKeptByteForByte() throws Exception {
        ListStateDescriptor<String> brittle =
                new ListStateDescriptor<>("brittle", new BrittleSerializer());
        CheckpointableKeyedStateBackend<Integer> source = create(Backend.HASHMAP, ALL, null);
        for (int k = 0; k < KEYS; k++) {
            source.setCurrentKey(k);
            ListState<String> list = state(source, brittle);
            list.add("a" + k);
            list.add("b,," + k);
        }
        KeyedStateHandle savepoint = savepoint(source, 1);

        BrittleSerializer.readsFail = true;
        CheckpointableKeyedStateBackend<Integer> ferro = create(Backend.FERRO, ALL, savepoint);
        CheckpointableKeyedStateBackend<Integer> rocks = create(Backend.ROCKSDB, ALL, savepoint);
        // Not registered: the next canonical savepoint carries the lists unchanged.
        KeyedStateHandle passedOn = savepoint(ferro, 2);
        BrittleSerializer.readsFail = false;

        // RocksDB read nothing at restore; it reads with the new serializer, compatible as is.
        for (int k = 0; k < KEYS; k++) {
            rocks.setCurrentKey(k);
            assertThat(state(rocks, brittle).get()).containsExactly("a" + k, "b,," + k);
        }
        // ferrostate kept the lists whole and will not guess: registering fails clearly.
        assertThatThrownBy(() -> state(ferro, brittle))
                .satisfies(
                        e ->
                                assertThat(
                                                ExceptionUtils.findThrowable(
                                                        e, StateMigrationException.class))
                                        .isPresent())
                .hasStackTraceContaining("brittle");
        CheckpointableKeyedStateBackend<Integer> reader = create(Backend.HASHMAP, ALL, passedOn);
        for (int k = 0; k < KEYS; k++) {
            reader.setCurrentKey(k);
            assertThat(state(reader, brittle).get()).containsExactly("a" + k, "b,," + k);
        }
    }

    /** A string serializer whose reads fail on demand, as one restored for changed classes does. */
    public static final class BrittleSerializer extends TypeSerializerSingleton<String> {
        static volatile boolean readsFail;

        @Override
        public boolean isImmutableType() {
            return true;
        }

        @Override
        public String createInstance() {
            return "";
        }

        @Override
        public String copy(String from) {
            return from;
        }

        @Override
        public String copy(String from, String reuse) {
            return from;
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(String record, DataOutputView target) throws IOException {
            StringValue.writeString(record, target);
        }

        @Override
        public String deserialize(DataInputView source) throws IOException {
            if (readsFail) {
                throw new IllegalArgumentException("this class cannot hold the stored field");
            }
            return StringValue.readString(source);
        }

        @Override
        public String deserialize(String reuse, DataInputView source) throws IOException {
            return deserialize(source);
        }

        @Override
        public void copy(DataInputView source, DataOutputView target) throws IOException {
            StringValue.copyString(source, target);
        }

        @Override
        public TypeSerializerSnapshot<String> snapshotConfiguration() {
            return new BrittleSnapshot();
        }
    }

    public static final class BrittleSnapshot extends SimpleTypeSerializerSnapshot<String> {
        public BrittleSnapshot() {
            super(BrittleSerializer::new);
        }
    }

    // ------------------------------------------------------------------------
    //  Helpers
    // ------------------------------------------------------------------------

    private CheckpointableKeyedStateBackend<Integer> create(
            Backend kind, KeyGroupRange range, KeyedStateHandle restore) throws Exception {
        MockEnvironment env = MockEnvironment.builder().setManagedMemorySize(64L << 20).build();
        envs.add(env);
        Collection<KeyedStateHandle> handles =
                restore == null ? Collections.emptyList() : Collections.singletonList(restore);
        CheckpointableKeyedStateBackend<Integer> backend =
                kind.create()
                        .createKeyedStateBackend(
                                new KeyedStateBackendParametersImpl<>(
                                        env,
                                        new JobID(),
                                        "misuse",
                                        IntSerializer.INSTANCE,
                                        KEY_GROUPS,
                                        range,
                                        env.getTaskKvStateRegistry(),
                                        TtlTimeProvider.DEFAULT,
                                        new UnregisteredMetricsGroup(),
                                        handles,
                                        new CloseableRegistry()));
        backends.add(backend);
        return backend;
    }

    private static <S extends State> S state(
            CheckpointableKeyedStateBackend<Integer> backend, StateDescriptor<S, ?> desc)
            throws Exception {
        return backend.getPartitionedState(
                VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, desc);
    }

    private static void writeValues(CheckpointableKeyedStateBackend<Integer> backend)
            throws Exception {
        for (int k = 0; k < KEYS; k++) {
            backend.setCurrentKey(k);
            state(backend, VALUE).update("v" + k);
        }
    }

    private static void assertValues(CheckpointableKeyedStateBackend<Integer> backend, String when)
            throws Exception {
        for (int k = 0; k < KEYS; k++) {
            backend.setCurrentKey(k);
            assertThat(state(backend, VALUE).value()).as("key %d, %s", k, when).isEqualTo("v" + k);
        }
    }

    private static List<Integer> keysIn(KeyGroupRange range) {
        List<Integer> keys = new ArrayList<>();
        for (int k = 0; k < KEYS * 2; k++) {
            if (range.contains(KeyGroupRangeAssignment.assignToKeyGroup(k, KEY_GROUPS))) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** Writes value, list and map state for every key of the range; returns the entry count. */
    private static int writeAllKinds(
            CheckpointableKeyedStateBackend<Integer> backend, KeyGroupRange range)
            throws Exception {
        int entries = 0;
        for (int k : keysIn(range)) {
            backend.setCurrentKey(k);
            state(backend, VALUE).update("v" + k);
            state(backend, LIST).update(Arrays.asList("l" + k, "m" + k));
            MapState<Integer, String> map = state(backend, MAP);
            map.put(1, "one" + k);
            map.put(2, "two" + k);
            entries += 5;
        }
        return entries;
    }

    /** Reads back what {@link #writeAllKinds} wrote for the keys of the range; counts matches. */
    private static int readAllKinds(
            CheckpointableKeyedStateBackend<Integer> backend, KeyGroupRange range)
            throws Exception {
        int entries = 0;
        for (int k : keysIn(range)) {
            backend.setCurrentKey(k);
            if (("v" + k).equals(state(backend, VALUE).value())) {
                entries++;
            }
            Iterable<String> list = state(backend, LIST).get();
            if (list != null) {
                for (String e : list) {
                    entries += e.equals("l" + k) || e.equals("m" + k) ? 1 : 0;
                }
            }
            MapState<Integer, String> map = state(backend, MAP);
            entries += ("one" + k).equals(map.get(1)) ? 1 : 0;
            entries += ("two" + k).equals(map.get(2)) ? 1 : 0;
        }
        return entries;
    }

    private static KeyedStateHandle checkpoint(CheckpointableKeyedStateBackend<?> backend, long id)
            throws Exception {
        RunnableFuture<SnapshotResult<KeyedStateHandle>> future =
                backend.snapshot(
                        id,
                        id,
                        new MemCheckpointStreamFactory(64 << 20),
                        CheckpointOptions.forCheckpointWithDefaultLocation());
        future.run();
        return future.get().getJobManagerOwnedSnapshot();
    }

    private static <K> KeyedStateHandle savepoint(
            CheckpointableKeyedStateBackend<K> backend, long id) throws Exception {
        CheckpointStreamFactory streams = new MemCheckpointStreamFactory(64 << 20);
        RunnableFuture<SnapshotResult<KeyedStateHandle>> future =
                new SnapshotStrategyRunner<>(
                                "canonical savepoint",
                                new SavepointSnapshotStrategy<>(
                                        backend.savepoint().getSnapshotResources()),
                                new CloseableRegistry(),
                                SnapshotExecutionType.ASYNCHRONOUS)
                        .snapshot(
                                id,
                                id,
                                streams,
                                new CheckpointOptions(
                                        SavepointType.savepoint(SavepointFormatType.CANONICAL),
                                        CheckpointStorageLocationReference.getDefault()));
        future.run();
        return future.get().getJobManagerOwnedSnapshot();
    }

    interface Action {
        void run() throws Exception;
    }

    private static void record(
            Map<String, Map<Backend, String>> outcomes, String what, Backend kind, Action action) {
        String outcome;
        try {
            action.run();
            outcome = "ok";
        } catch (Throwable t) {
            outcome = describe(t);
        }
        outcomes.computeIfAbsent(what, w -> new TreeMap<>()).put(kind, outcome);
    }

    /** The outermost and innermost exception classes and the innermost message. */
    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String message =
                String.valueOf(root.getMessage())
                        .replaceAll("@[0-9a-f]+", "@…")
                        // Each backend's own state classes, e.g. RocksDBValueState.
                        .replaceAll(
                                "(org\\.apache\\.flink\\.contrib\\.streaming\\.state\\.RocksDB"
                                        + "|org\\.apache\\.flink\\.runtime\\.state\\.heap\\.Heap"
                                        + "|io\\.ferrostate\\.flink\\.Ferro)(\\w+State)",
                                "<backend's $2>");
        return t.getClass().getSimpleName()
                + (root == t ? "" : " <- " + root.getClass().getSimpleName())
                + ": "
                + message;
    }

    private static void print(String title, Map<String, Map<Backend, String>> outcomes) {
        StringBuilder sb = new StringBuilder(title).append(", side by side:\n");
        outcomes.forEach(
                (what, byBackend) -> {
                    sb.append("  ").append(what).append('\n');
                    byBackend.forEach(
                            (b, o) ->
                                    sb.append("    ")
                                            .append(b)
                                            .append(": ")
                                            .append(o)
                                            .append('\n'));
                });
        System.out.println(sb);
    }
}
