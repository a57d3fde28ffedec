package io.ferrostate.flink;

import io.ferrostate.flink.nativ.FerroNativeException;
import io.ferrostate.flink.nativ.NativeHooks;
import io.ferrostate.flink.nativ.NativeLibrary;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Failures inside the store become Java exceptions; the JVM and other stores live on. */
class FailureHandlingTest {

    @Test
    void aNativePanicBecomesAJavaException() {
        NativeLibraryHolder.load();
        assertThatThrownBy(() -> NativeHooks.panicForTest("deliberate panic for the test"))
                .isInstanceOf(FerroNativeException.class)
                .hasMessageContaining("native panic")
                .hasMessageContaining("deliberate panic for the test");
        // The JVM lives on, and so does the library.
        assertThat(NativeLibrary.version()).isNotEmpty();
        assertThatThrownBy(() -> NativeHooks.panicForTest("again"))
                .isInstanceOf(FerroNativeException.class);
    }

    @Test
    void badArgumentsAndUnknownStatesAreExceptions(@TempDir Path dir) {
        try (NativeMemory memory = new NativeMemory(32L << 20, 0.5, 0.25);
                NativeStore store =
                        new NativeStore(dir.resolve("db").toString(), memory, 1024, null)) {
            int id = store.registerState("s", NativeStore.KIND_VALUE);
            assertThatThrownBy(() -> store.get(id + 5, 1))
                    .isInstanceOf(FerroNativeException.class)
                    .hasMessageContaining("unknown state id");
            assertThatThrownBy(() -> store.get(id, 1 << 30))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("outside the registered buffer");
            assertThatThrownBy(() -> store.registerState("s", NativeStore.KIND_LIST))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("registered as Value");
            assertThatThrownBy(() -> store.registerState("default", NativeStore.KIND_VALUE))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.clipKeyGroups(1, 300, 400))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not fit");
            assertThatThrownBy(() -> store.registerState("k", 99))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("unknown state kind");
        }
    }

    @Test
    void aFullDiskFailsTheWriteWithAClearErrorAndRecovers(@TempDir Path dir) {
        try (NativeMemory memory = new NativeMemory(32L << 20, 0.5, 0.25);
                NativeStore store =
                        new NativeStore(dir.resolve("db").toString(), memory, 1024, null)) {
            int id = store.registerState("s", NativeStore.KIND_VALUE);
            store.keyView().clear();
            store.keyView().write(new byte[] {1, 2, 3}, 0, 3);
            store.valueOut().clear();
            store.valueOut().write(new byte[] {9}, 0, 1);
            store.put(id, 3, 1);
            NativeLibrary.setFailWrites(true);
            try {
                assertThatThrownBy(store::flushAll)
                        .isInstanceOf(FerroNativeException.class)
                        .hasMessageContaining("no space left on device");
            } finally {
                NativeLibrary.setFailWrites(false);
            }
            store.flushAll();
            store.dropHotTier();
            assertThat(store.get(id, 3)).isEqualTo(1);
        }
    }

    @Test
    void disposedStoresAndBackendsThrowInsteadOfCrashing(@TempDir Path dir) throws Exception {
        NativeMemory memory = new NativeMemory(32L << 20, 0.5, 0.25);
        NativeStore store = new NativeStore(dir.resolve("db").toString(), memory, 1024, null);
        int id = store.registerState("s", NativeStore.KIND_VALUE);
        store.close();
        store.close();
        assertThatThrownBy(() -> store.get(id, 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        memory.close();
        memory.close();

        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend =
                BackendTestUtils.create(env, IntSerializer.INSTANCE);
        ValueState<Long> state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
        backend.setCurrentKey(1);
        state.update(1L);
        File workDir = backend.getInstanceBasePath();
        backend.dispose();
        backend.dispose();
        assertThat(workDir).doesNotExist();
        assertThatThrownBy(state::value).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> state.update(2L)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(
                        () ->
                                backend.getPartitionedState(
                                        VoidNamespace.INSTANCE,
                                        VoidNamespaceSerializer.INSTANCE,
                                        new ValueStateDescriptor<>("w", LongSerializer.INSTANCE)))
                .isInstanceOf(IllegalStateException.class);
        // Managed memory went back to Flink: the environment checks it on close.
        env.close();
    }

    @Test
    void corruptOrTruncatedSnapshotsFailTheRestoreClearly() throws Exception {
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend =
                BackendTestUtils.create(env, IntSerializer.INSTANCE);
        ValueState<Long> state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
        for (int k = 0; k < 1000; k++) {
            backend.setCurrentKey(k);
            state.update((long) k);
        }
        KeyGroupsStateHandle handle = (KeyGroupsStateHandle) BackendTestUtils.snapshot(backend, 1);
        backend.dispose();
        byte[] bytes = ((ByteStreamStateHandle) handle.getDelegateStateHandle()).getData();

        byte[] truncated = Arrays.copyOf(bytes, bytes.length / 2);
        assertRestoreFails(env, withData(handle, truncated));
        byte[] garbage = bytes.clone();
        for (int i = 0; i < 64; i++) {
            garbage[i] = (byte) 0xAB;
        }
        assertRestoreFails(env, withData(handle, garbage));

        // The intact snapshot still restores every entry.
        FerroKeyedStateBackend<Integer> restored =
                BackendTestUtils.create(
                        env, IntSerializer.INSTANCE, Collections.singletonList(handle));
        ValueState<Long> s =
                restored.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
        for (int k = 0; k < 1000; k++) {
            restored.setCurrentKey(k);
            assertThat(s.value()).isEqualTo(k);
        }
        restored.dispose();
        env.close();
    }

    private static KeyGroupsStateHandle withData(KeyGroupsStateHandle h, byte[] data) {
        return new KeyGroupsStateHandle(
                h.getGroupRangeOffsets(), new ByteStreamStateHandle("damaged", data));
    }

    private static void assertRestoreFails(MockEnvironment env, KeyedStateHandle handle) {
        assertThatThrownBy(
                        () ->
                                BackendTestUtils.create(
                                        env,
                                        IntSerializer.INSTANCE,
                                        Collections.singletonList(handle)))
                .isInstanceOf(org.apache.flink.runtime.state.BackendBuildingException.class)
                .hasMessageContaining("Failed to build the ferrostate keyed state backend");
    }

    /** Loads the native library through the public entry point. */
    static final class NativeLibraryHolder {
        static void load() {
            io.ferrostate.flink.nativ.NativeLibraryLoader.ensureLoaded();
        }
    }
}
