package io.ferrostate.flink23;

import io.ferrostate.flink.FerroStateBackendFactory;
import io.ferrostate.flink.async.FerroStateExecutor;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.v2.AggregatingState;
import org.apache.flink.api.common.state.v2.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.v2.ListState;
import org.apache.flink.api.common.state.v2.ListStateDescriptor;
import org.apache.flink.api.common.state.v2.MapState;
import org.apache.flink.api.common.state.v2.MapStateDescriptor;
import org.apache.flink.api.common.state.v2.ReducingState;
import org.apache.flink.api.common.state.v2.ReducingStateDescriptor;
import org.apache.flink.api.common.state.v2.ValueState;
import org.apache.flink.api.common.state.v2.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A DataStream job on Flink 2.3's asynchronous state API ({@code KeyedStream#enableAsyncState}):
 * value, reducing, aggregating, list and map state (gets, updates, adds, clears, map puts, removes,
 * contains, emptiness and iteration), chained through state futures, with checkpoints, on
 * ferrostate's asynchronous backend and on HashMap (Flink's adaptor over the heap backend). The two
 * outputs must be equal line for line.
 */
class AsyncStateJobITCase {

    private static final long EVENTS = 60_000;
    private static final int KEYS = 97;

    @TempDir Path tmp;

    @Test
    void everyAsyncStateKindGivesHashMapsResults() throws Exception {
        long before = FerroStateExecutor.executedRequests();
        long batchedBefore = FerroStateExecutor.batchedRequests();
        long inlineBefore = FerroStateExecutor.inlineRequests();
        List<String> ferro = run(FerroStateBackendFactory.class.getName(), tmp.resolve("f"));
        long executed = FerroStateExecutor.executedRequests() - before;
        long batched = FerroStateExecutor.batchedRequests() - batchedBefore;
        long inline = FerroStateExecutor.inlineRequests() - inlineBefore;
        List<String> heap = run("hashmap", tmp.resolve("h"));
        // ferrostate's own asynchronous backend answered the requests (at least the count, sum,
        // max, list and two map requests of every event), not Flink's adaptor.
        assertThat(executed).isGreaterThanOrEqualTo(6 * EVENTS);
        // Reads of many records' keys went to the native store together.
        assertThat(batched).isPositive();
        // The state fits in memory: whenever the executor thread was idle, the task thread
        // executed the batch itself (inline execution is on by default).
        assertThat(inline).isPositive();
        long summaries = 0;
        for (int k = 0; k < KEYS; k++) {
            long events = EVENTS / KEYS + (k < EVENTS % KEYS ? 1 : 0);
            summaries += events / 50;
        }
        assertThat(heap).hasSize((int) summaries);
        assertThat(ferro).isEqualTo(heap);
    }

    private static List<String> run(String backend, Path dir) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.enableCheckpointing(Duration.ofMillis(200).toMillis());
        List<String> out = new ArrayList<>();
        // One source subtask: each key sees its events in one order on every run.
        env.fromSequence(0, EVENTS - 1)
                .setParallelism(1)
                .keyBy(v -> (int) (v % KEYS))
                .enableAsyncState()
                .process(new AllKinds())
                .executeAndCollect()
                .forEachRemaining(out::add);
        out.sort(null);
        return out;
    }

    /** Every 50th event of a key emits what all five states hold for it. */
    private static final class AllKinds extends KeyedProcessFunction<Integer, Long, String> {
        private transient ValueState<Long> count;
        private transient ReducingState<Long> sum;
        private transient AggregatingState<Long, Long> max;
        private transient ListState<Long> recent;
        private transient MapState<Long, Long> residues;

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            sum =
                    getRuntimeContext()
                            .getReducingState(
                                    new ReducingStateDescriptor<>("sum", Long::sum, Types.LONG));
            max =
                    getRuntimeContext()
                            .getAggregatingState(
                                    new AggregatingStateDescriptor<>("max", new Max(), Types.LONG));
            recent =
                    getRuntimeContext()
                            .getListState(new ListStateDescriptor<>("recent", Types.LONG));
            residues =
                    getRuntimeContext()
                            .getMapState(
                                    new MapStateDescriptor<>("residues", Types.LONG, Types.LONG));
        }

        @Override
        public void processElement(Long v, Context ctx, Collector<String> out) {
            int key = ctx.getCurrentKey();
            long residue = v % 7;
            count.asyncValue()
                    .thenCompose(
                            c -> {
                                long n = c == null ? 1 : c + 1;
                                return count.asyncUpdate(n).thenApply(x -> n);
                            })
                    .thenCompose(
                            n ->
                                    sum.asyncAdd(v)
                                            .thenCompose(x -> max.asyncAdd(v))
                                            .thenCompose(
                                                    x ->
                                                            n % 200 == 0
                                                                    ? recent.asyncClear()
                                                                    : recent.asyncAdd(v))
                                            .thenCompose(x -> residues.asyncGet(residue))
                                            .thenCompose(
                                                    r ->
                                                            residues.asyncPut(
                                                                    residue, r == null ? 1 : r + 1))
                                            .thenApply(x -> n))
                    .thenAccept(
                            n -> {
                                if (n % 50 == 0) {
                                    summary(key, n, out);
                                }
                            });
        }

        private void summary(int key, long n, Collector<String> out) {
            List<String> recentItems = new ArrayList<>();
            List<String> entries = new ArrayList<>();
            StringBuilder line = new StringBuilder("key=" + key + " n=" + n);
            sum.asyncGet()
                    .thenCompose(
                            s -> {
                                line.append(" sum=").append(s);
                                return max.asyncGet();
                            })
                    .thenCompose(
                            m -> {
                                line.append(" max=").append(m);
                                return recent.asyncGet();
                            })
                    .thenCompose(
                            it ->
                                    it.onNext(
                                            x -> {
                                                recentItems.add(String.valueOf(x));
                                            }))
                    .thenCompose(x -> residues.asyncContains(3L))
                    .thenCompose(
                            has -> {
                                line.append(" recent=").append(sorted(recentItems));
                                line.append(" has3=").append(has);
                                return residues.asyncRemove(0L);
                            })
                    .thenCompose(x -> residues.asyncEntries())
                    .thenCompose(
                            it ->
                                    it.onNext(
                                            e -> {
                                                entries.add(e.getKey() + ":" + e.getValue());
                                            }))
                    .thenCompose(x -> residues.asyncIsEmpty())
                    .thenAccept(
                            empty -> {
                                line.append(" residues=").append(sorted(entries));
                                line.append(" empty=").append(empty);
                                out.collect(line.toString());
                            });
        }

        private static <T> String sorted(Collection<T> items) {
            return items.stream().map(String::valueOf).sorted().collect(Collectors.joining(","));
        }
    }

    /** The largest value seen. */
    private static final class Max implements AggregateFunction<Long, Long, Long> {
        @Override
        public Long createAccumulator() {
            return Long.MIN_VALUE;
        }

        @Override
        public Long add(Long value, Long acc) {
            return Math.max(value, acc);
        }

        @Override
        public Long getResult(Long acc) {
            return acc;
        }

        @Override
        public Long merge(Long a, Long b) {
            return Math.max(a, b);
        }
    }
}
