package io.ferrostate.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.time.Duration;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A JVM that ran ferrostate with TTL state, a job clock and compactions exits promptly: RocksDB's
 * background threads never attach to the JVM (which would block its exit).
 */
class JvmExitTest {

    @Test
    void aJvmThatUsedFerrostateExits() throws Exception {
        String java =
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p =
                new ProcessBuilder(
                                java,
                                "-cp",
                                System.getProperty("java.class.path"),
                                JvmExitTest.class.getName())
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        assertThat(exited).as("the child JVM exited on its own").isTrue();
        assertThat(p.exitValue()).isEqualTo(0);
    }

    /** Child: TTL state with a job clock, compaction, dispose, then a plain exit. */
    public static void main(String[] args) throws Exception {
        AtomicLong time = new AtomicLong(1000);
        TtlTimeProvider clock = time::get;
        MockEnvironment env = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> backend =
                (FerroKeyedStateBackend<Integer>)
                        new FerroStateBackend(false)
                                .createKeyedStateBackend(
                                        new KeyedStateBackendParametersImpl<>(
                                                env,
                                                new JobID(),
                                                "exit-test",
                                                IntSerializer.INSTANCE,
                                                128,
                                                new KeyGroupRange(0, 127),
                                                env.getTaskKvStateRegistry(),
                                                clock,
                                                new UnregisteredMetricsGroup(),
                                                Collections.emptyList(),
                                                new CloseableRegistry()));
        ValueStateDescriptor<Long> desc = new ValueStateDescriptor<>("v", LongSerializer.INSTANCE);
        desc.enableTimeToLive(
                StateTtlConfig.newBuilder(Duration.ofMillis(100))
                        .cleanupInRocksdbCompactFilter(1)
                        .build());
        ValueState<Long> state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, desc);
        for (int k = 0; k < 10_000; k++) {
            backend.setCurrentKey(k);
            state.update((long) k);
        }
        time.set(5000);
        backend.compactState(desc);
        backend.dispose();
        env.close();
        System.exit(0);
    }
}
