package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroKeyedStateBackend;
import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.memory.MemCheckpointStreamFactory;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RunnableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 4, "restoring a subset of key groups drops the others cheaply": a snapshot of key groups
 * 0-127 restored into a backend owning 0-63 keeps exactly the entries of 0-63, rewrites no entry
 * and writes no per-key deletion. Files holding only the dropped key groups go or stay untouched;
 * the only new data the restore writes is a range tombstone per state, which the next snapshot's
 * flush shows: its new files are a few KB, while rewriting or deleting the dropped entries one by
 * one would take hundreds of KB.
 */
class KeyGroupClipTest {
    private static final int MAX_PARALLELISM = 128;
    private static final int KEYS = 40_000;

    private MockEnvironment env;
    private final List<FerroKeyedStateBackend<Integer>> backends = new ArrayList<>();

    @BeforeEach
    void setUp() {
        env = MockEnvironment.builder().setManagedMemorySize(64L << 20).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (FerroKeyedStateBackend<Integer> b : backends) {
            b.dispose();
        }
        env.close();
    }

    @SuppressWarnings("unchecked")
    private FerroKeyedStateBackend<Integer> create(
            KeyGroupRange range, Collection<KeyedStateHandle> restore) throws Exception {
        FerroKeyedStateBackend<Integer> b =
                (FerroKeyedStateBackend<Integer>)
                        new FerroStateBackend(true)
                                .createKeyedStateBackend(
                                        new KeyedStateBackendParametersImpl<>(
                                                env,
                                                new JobID(),
                                                "test-op",
                                                IntSerializer.INSTANCE,
                                                MAX_PARALLELISM,
                                                range,
                                                env.getTaskKvStateRegistry(),
                                                TtlTimeProvider.DEFAULT,
                                                new UnregisteredMetricsGroup(),
                                                restore,
                                                new CloseableRegistry()));
        backends.add(b);
        return b;
    }

    private static ValueState<String> state(FerroKeyedStateBackend<Integer> b) throws Exception {
        return b.getPartitionedState(
                VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE,
                new ValueStateDescriptor<>("v", StringSerializer.INSTANCE));
    }

    private static IncrementalRemoteKeyedStateHandle snapshot(
            FerroKeyedStateBackend<Integer> b, long id) throws Exception {
        RunnableFuture<SnapshotResult<KeyedStateHandle>> f =
                b.snapshot(
                        id,
                        id,
                        new MemCheckpointStreamFactory(256 << 20),
                        CheckpointOptions.forCheckpointWithDefaultLocation());
        f.run();
        return (IncrementalRemoteKeyedStateHandle) f.get().getJobManagerOwnedSnapshot();
    }

    private static Map<String, Long> sstSizes(IncrementalRemoteKeyedStateHandle h) {
        Map<String, Long> out = new HashMap<>();
        for (HandleAndLocalPath f : h.getSharedState()) {
            out.put(f.getLocalPath(), f.getHandle().getStateSize());
        }
        return out;
    }

    private static Map<String, Long> sstFilesOnDisk(FerroKeyedStateBackend<?> b) {
        Map<String, Long> out = new HashMap<>();
        File[] files = new File(b.getInstanceBasePath(), "db").listFiles();
        if (files != null) {
            for (File f : files) {
                if (f.getName().endsWith(".sst")) {
                    out.put(f.getName(), f.length());
                }
            }
        }
        return out;
    }

    private static int keyGroup(int key) {
        return KeyGroupRangeAssignment.assignToKeyGroup(key, MAX_PARALLELISM);
    }

    private static String value(int key) {
        return "value-" + key + "-" + "x".repeat(80);
    }

    @Test
    void restoringHalfTheKeyGroupsDropsTheOtherHalfWithoutRewritingEntries() throws Exception {
        FerroKeyedStateBackend<Integer> source =
                create(new KeyGroupRange(0, MAX_PARALLELISM - 1), Collections.emptyList());
        ValueState<String> v = state(source);
        // One file of the lower half's key groups, then one of the upper half's.
        for (int key = 0; key < KEYS; key++) {
            if (keyGroup(key) < 64) {
                source.setCurrentKey(key);
                v.update(value(key));
            }
        }
        Map<String, Long> lowerOnly = sstSizes(snapshot(source, 1));
        for (int key = 0; key < KEYS; key++) {
            if (keyGroup(key) >= 64) {
                source.setCurrentKey(key);
                v.update(value(key));
            }
        }
        IncrementalRemoteKeyedStateHandle all = snapshot(source, 2);
        Map<String, Long> allFiles = sstSizes(all);
        assertThat(allFiles).containsAllEntriesOf(lowerOnly).hasSizeGreaterThan(lowerOnly.size());
        long upperData = 0;
        int lower = 0;
        for (int key = 0; key < KEYS; key++) {
            if (keyGroup(key) < 64) {
                lower++;
            } else {
                upperData += 4 + value(key).length();
            }
        }

        FerroKeyedStateBackend<Integer> restored =
                create(new KeyGroupRange(0, 63), Collections.singletonList(all));
        ValueState<String> r = state(restored);
        assertThat(restored.numKeyValueStateEntries())
                .as("entries left after clipping")
                .isEqualTo(lower);
        for (int key = 0; key < KEYS; key++) {
            if (keyGroup(key) < 64) {
                restored.setCurrentKey(key);
                assertThat(r.value()).as("value of key %d", key).isEqualTo(value(key));
            }
        }
        assertThat(restored.store().stats().rocksdbWrites)
                .as("RocksDB writes of the restore")
                .isZero();

        // The restored files are the snapshot's files, none rewritten: each is still there with
        // its size, or (holding only dropped key groups) deleted whole.
        Map<String, Long> onDisk = sstFilesOnDisk(restored);
        for (Map.Entry<String, Long> f : onDisk.entrySet()) {
            assertThat(allFiles)
                    .as("file %s comes from the snapshot", f.getKey())
                    .containsEntry(f.getKey(), f.getValue());
        }
        assertThat(onDisk).as("the lower half's file").containsAllEntriesOf(lowerOnly);

        // What the restore wrote shows in the next flush: a range tombstone per state.
        Map<String, Long> after = sstSizes(snapshot(restored, 4));
        long newBytes = 0;
        for (Map.Entry<String, Long> f : after.entrySet()) {
            if (!allFiles.containsKey(f.getKey())) {
                newBytes += f.getValue();
            }
        }
        System.out.printf(
                "clip: dropped %d bytes of entries; restore wrote %d bytes of new files; files %s -> %s%n",
                upperData, newBytes, allFiles.keySet(), after.keySet());
        assertThat(newBytes).as("bytes the restore added to the store").isLessThan(upperData / 100);
    }
}
