package io.ferrostate.flink;

import io.ferrostate.flink.nativ.NativeLibrary;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code state.backend.ferrostate.debug.fail-writes-file}: while the file exists, the store's
 * writes fail (a snapshot fails with a clear error); once it is gone they succeed again.
 */
class FailWritesFileTest {

    @Test
    void theFileTurnsTheWriteFailureSwitchOnAndOff(@TempDir Path dir) throws Exception {
        Path switchFile = dir.resolve("fail-writes");
        Configuration conf = new Configuration();
        conf.set(FerroStateOptions.DEBUG_FAIL_WRITES_FILE, switchFile.toString());
        FerroStateBackend configured =
                new FerroStateBackend(false).configure(conf, getClass().getClassLoader());
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend =
                BackendTestUtils.create(
                        env,
                        configured,
                        IntSerializer.INSTANCE,
                        128,
                        new KeyGroupRange(0, 127),
                        Collections.emptyList());
        try {
            ValueState<Long> state =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
            backend.setCurrentKey(1);
            state.update(1L);
            assertThat(BackendTestUtils.snapshot(backend, 1)).isNotNull();

            Files.createFile(switchFile);
            backend.setCurrentKey(2);
            state.update(2L);
            assertThatThrownBy(() -> BackendTestUtils.snapshot(backend, 2))
                    .hasStackTraceContaining(
                            "no space left on device (ferrostate fault injection is on)");
            Files.delete(switchFile);
            backend.setCurrentKey(3);
            state.update(3L);
            assertThat(BackendTestUtils.snapshot(backend, 4)).isNotNull();
            for (int k = 1; k <= 3; k++) {
                backend.setCurrentKey(k);
                assertThat(state.value()).isEqualTo((long) k);
            }
        } finally {
            Files.deleteIfExists(switchFile);
            NativeLibrary.setFailWrites(false);
            backend.dispose();
            env.close();
        }
    }

    @Test
    void withoutTheOptionTheSwitchIsLeftAlone(@TempDir Path dir) throws Exception {
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend =
                BackendTestUtils.create(env, IntSerializer.INSTANCE);
        try {
            ValueState<Long> state =
                    backend.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
            backend.setCurrentKey(1);
            state.update(1L);
            NativeLibrary.setFailWrites(true);
            assertThatThrownBy(() -> BackendTestUtils.snapshot(backend, 1))
                    .hasStackTraceContaining("no space left on device");
        } finally {
            NativeLibrary.setFailWrites(false);
            backend.dispose();
            env.close();
        }
    }
}
