package io.ferrostate.bench;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.v2.State;
import org.apache.flink.api.common.state.v2.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.core.asyncprocessing.AsyncFutureImpl;
import org.apache.flink.core.asyncprocessing.InternalAsyncFuture;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.asyncprocessing.AsyncRequestContainer;
import org.apache.flink.runtime.asyncprocessing.EpochManager;
import org.apache.flink.runtime.asyncprocessing.RecordContext;
import org.apache.flink.runtime.asyncprocessing.StateExecutor;
import org.apache.flink.runtime.asyncprocessing.StateRequest;
import org.apache.flink.runtime.asyncprocessing.StateRequestHandler;
import org.apache.flink.runtime.asyncprocessing.StateRequestType;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.AsyncKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.runtime.state.v2.internal.InternalPartitionedState;
import org.apache.flink.util.FileUtils;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Flink 2's asynchronous state API at the level of a state executor: batches of value-state
 * requests (what Flink's async execution controller hands over, 100 at a time here) executed by the
 * backends that implement the API natively, ForSt and ferrostate, on the keys and values of {@link
 * ValueStateBenchmark} (500,000 Long keys, Long values; the in-memory regime's budget as managed
 * memory). Each operation is one request; the cost of building the requests and their futures is
 * the same for both. HashMap and EmbeddedRocksDB run the async API only through Flink's synchronous
 * adaptor, which has no executor, so they are not in this benchmark.
 */
@org.openjdk.jmh.annotations.State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class AsyncValueStateBenchmark {

    static final int BATCH = 100;
    private static final int KEYS = StateBenchmarkData.SETUP_KEY_COUNT;

    @Param({"FORST", "FERROSTATE"})
    public BenchBackends.BackendType backend;

    @Param({"in-memory"})
    public String regime;

    private File dir;
    private MockEnvironment env;
    private AsyncKeyedStateBackend<Long> keyed;
    private StateExecutor executor;
    private State value;
    private long next;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Regime r = Regime.of(regime);
        dir = Files.createTempDirectory(BenchBackends.workRoot().toPath(), "async-").toFile();
        env = MockEnvironment.builder().setManagedMemorySize(r.budgetBytes()).build();
        env.setCheckpointStorageAccess(
                new JobManagerCheckpointStorage().createCheckpointStorage(new JobID()));
        keyed =
                BenchBackends.stateBackend(backend, dir)
                        .createAsyncKeyedStateBackend(
                                new KeyedStateBackendParametersImpl<>(
                                        env,
                                        new JobID(),
                                        "bench-op",
                                        LongSerializer.INSTANCE,
                                        BenchBackends.NUMBER_OF_KEY_GROUPS,
                                        BenchBackends.KEY_GROUP_RANGE,
                                        env.getTaskKvStateRegistry(),
                                        TtlTimeProvider.DEFAULT,
                                        new UnregisteredMetricsGroup(),
                                        (name, v) -> {},
                                        Collections.emptyList(),
                                        new CloseableRegistry(),
                                        1.0));
        keyed.setup(new NoHandler());
        executor = keyed.createStateExecutor();
        value =
                keyed.getOrCreateKeyedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("value", LongSerializer.INSTANCE));
        List<Long> keys = StateBenchmarkData.SETUP_KEYS;
        for (int i = 0; i < keys.size(); i += 1000) {
            AsyncRequestContainer<StateRequest<?, ?, ?, ?>> c = executor.createRequestContainer();
            for (int j = i; j < Math.min(i + 1000, keys.size()); j++) {
                c.offer(request(StateRequestType.VALUE_UPDATE, keys.get(j), keys.get(j)));
            }
            executor.executeBatchRequests(c).get();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        executor.shutdown();
        keyed.dispose();
        keyed.close();
        env.close();
        FileUtils.deleteDirectoryQuietly(dir);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void valueGet(Blackhole bh) throws Exception {
        List<InternalAsyncFuture<Object>> futures = new ArrayList<>(BATCH);
        AsyncRequestContainer<StateRequest<?, ?, ?, ?>> c = executor.createRequestContainer();
        for (int i = 0; i < BATCH; i++) {
            StateRequest<?, ?, ?, ?> r = request(StateRequestType.VALUE_GET, nextKey(), null);
            futures.add(future(r));
            c.offer(r);
        }
        executor.executeBatchRequests(c).get();
        for (InternalAsyncFuture<Object> f : futures) {
            bh.consume(f.get());
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void valueUpdate() throws Exception {
        AsyncRequestContainer<StateRequest<?, ?, ?, ?>> c = executor.createRequestContainer();
        for (int i = 0; i < BATCH; i++) {
            long key = nextKey();
            c.offer(request(StateRequestType.VALUE_UPDATE, key, key + 1));
        }
        executor.executeBatchRequests(c).get();
    }

    private long nextKey() {
        next = (next + 7919) % KEYS;
        return StateBenchmarkData.SETUP_KEYS.get((int) next);
    }

    @SuppressWarnings("unchecked")
    private static InternalAsyncFuture<Object> future(StateRequest<?, ?, ?, ?> r) {
        return (InternalAsyncFuture<Object>) r.getFuture();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private StateRequest<?, ?, ?, ?> request(StateRequestType type, long key, Object payload) {
        RecordContext<Long> context =
                new RecordContext<>(
                        key,
                        key,
                        c -> {},
                        KeyGroupRangeAssignment.assignToKeyGroup(
                                key, BenchBackends.NUMBER_OF_KEY_GROUPS),
                        new EpochManager.Epoch(0),
                        0);
        context.setNamespace((InternalPartitionedState) value, VoidNamespace.INSTANCE);
        AsyncFutureImpl<Object> future =
                new AsyncFutureImpl<>(
                        task -> {
                            throw new UnsupportedOperationException("no callbacks here");
                        },
                        (message, t) -> {
                            throw new IllegalStateException(message, t);
                        });
        return new StateRequest(value, type, false, payload, future, context);
    }

    /** Requests come from the benchmark, never through a handler. */
    private static final class NoHandler implements StateRequestHandler {
        @Override
        public <IN, OUT> InternalAsyncFuture<OUT> handleRequest(
                State state, StateRequestType type, IN payload) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <IN, OUT> OUT handleRequestSync(State state, StateRequestType type, IN payload) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <N> void setCurrentNamespaceForState(
                InternalPartitionedState<N> state, N namespace) {
            throw new UnsupportedOperationException();
        }
    }
}
