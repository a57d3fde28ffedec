package io.ferrostate.cluster.jobs;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.utils.ParameterTool;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.util.Collector;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * State several times the TaskManager's managed memory, written, rewritten and read back: the
 * events are {@code 0 .. 3 * keys - 1}, event {@code i} is for key {@code i % keys} in pass {@code
 * i / keys}. Pass 0 writes each key's value (random, incompressible bytes derived from the key and
 * a version), pass 1 reads it, checks it and writes version 1, pass 2 reads and checks that. The
 * accumulators {@code written}, {@code checked} and {@code wrong} are the job's output: exactly
 * {@code 2 * keys}, {@code 2 * keys} and 0 when the backend kept every value. Not run in the test
 * JVM: the memory test jars it up and submits it to a real cluster, on any backend.
 */
public final class StateHeavyJob {
    private StateHeavyJob() {}

    public static void main(String[] args) throws Exception {
        ParameterTool params = ParameterTool.fromArgs(args);
        long keys = params.getLong("keys");
        int valueBytes = params.getInt("value-bytes");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.fromSequence(0, 3 * keys - 1)
                .keyBy(i -> i % keys, Types.LONG)
                .process(new Passes(keys, valueBytes))
                .name("passes")
                .uid("passes")
                .addSink(new DiscardingSink<>())
                .name("discard");
        env.execute("state-heavy: " + keys + " keys x " + valueBytes + " bytes, 3 passes");
    }

    /** The value of {@code key} at {@code version}: random bytes, the same on every run. */
    static byte[] value(long key, int version, int size) {
        SplittableRandom r = new SplittableRandom(key * 0x9E3779B97F4A7C15L + version);
        byte[] v = new byte[size];
        for (int i = 0; i < size; i += 8) {
            long x = r.nextLong();
            for (int b = 0; b < 8 && i + b < size; b++) {
                v[i + b] = (byte) (x >>> (8 * b));
            }
        }
        return v;
    }

    static final class Passes extends KeyedProcessFunction<Long, Long, Long> {
        private static final long serialVersionUID = 1L;

        private final long keys;
        private final int valueBytes;
        private transient ValueState<byte[]> state;
        private transient LongCounter written;
        private transient LongCounter checked;
        private transient LongCounter wrong;

        Passes(long keys, int valueBytes) {
            this.keys = keys;
            this.valueBytes = valueBytes;
        }

        @Override
        public void open(Configuration parameters) {
            state =
                    getRuntimeContext()
                            .getState(
                                    new ValueStateDescriptor<>(
                                            "value",
                                            PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            written = new LongCounter();
            checked = new LongCounter();
            wrong = new LongCounter();
            getRuntimeContext().addAccumulator("written", written);
            getRuntimeContext().addAccumulator("checked", checked);
            getRuntimeContext().addAccumulator("wrong", wrong);
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            long key = ctx.getCurrentKey();
            int pass = (int) (i / keys);
            if (pass > 0) {
                checked.add(1);
                if (!Arrays.equals(state.value(), value(key, pass - 1, valueBytes))) {
                    wrong.add(1);
                }
            }
            if (pass < 2) {
                state.update(value(key, pass, valueBytes));
                written.add(1);
            }
        }
    }
}
