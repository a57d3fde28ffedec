package org.apache.flink.runtime.state;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import org.junit.jupiter.api.AfterEach;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Flink's {@link InternalPriorityQueueTestBase} (8 tests) over the priority queue (timer) state a
 * keyed state backend hands out from {@code create(name, serializer)}, so ferrostate and
 * EmbeddedRocksDB compare on the same tests.
 */
abstract class BackendPriorityQueueTests extends InternalPriorityQueueTestBase {
    private final List<AbstractKeyedStateBackend<Long>> backends = new ArrayList<>();
    private final List<MockEnvironment> envs = new ArrayList<>();
    private int created;

    abstract StateBackend stateBackend() throws Exception;

    @Override
    protected InternalPriorityQueue<TestElement> newPriorityQueue(int initialCapacity) {
        try {
            MockEnvironment env = MockEnvironment.builder().build();
            envs.add(env);
            AbstractKeyedStateBackend<Long> backend =
                    (AbstractKeyedStateBackend<Long>)
                            stateBackend()
                                    .createKeyedStateBackend(
                                            new KeyedStateBackendParametersImpl<>(
                                                    env,
                                                    new JobID(),
                                                    "test_op",
                                                    LongSerializer.INSTANCE,
                                                    KEY_GROUP_RANGE.getNumberOfKeyGroups(),
                                                    KEY_GROUP_RANGE,
                                                    env.getTaskKvStateRegistry(),
                                                    TtlTimeProvider.DEFAULT,
                                                    new UnregisteredMetricsGroup(),
                                                    Collections.emptyList(),
                                                    new CloseableRegistry()));
            backends.add(backend);
            return backend.create("queue-" + (created++), TestElementSerializer.INSTANCE);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Override
    protected boolean testSetSemanticsAgainstDuplicateElements() {
        return true;
    }

    @AfterEach
    void disposeBackends() throws Exception {
        for (AbstractKeyedStateBackend<Long> b : backends) {
            b.dispose();
        }
        for (MockEnvironment env : envs) {
            env.close();
        }
        backends.clear();
        envs.clear();
    }
}
