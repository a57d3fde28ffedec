package io.ferrostate.nexmark.check;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.table.data.RowData;
import org.apache.flink.types.RowKind;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

/**
 * A sink that sums a query's changelog up into a {@link Check}: exactly once (the partial check of
 * each subtask is its writer state), written by each subtask to {@code
 * <path>/part-<subtask>-of-<parallelism>} when its input ends. {@link CheckFiles} adds the parts
 * up.
 *
 * <p>Flink 1.x's {@code Sink} has a writer factory Flink 2.x removed ({@code
 * createWriter(Sink.InitContext)}), and a class that declares it cannot be serialized on 2.x (Java
 * serialization reflects on every method, and the parameter's class is gone). So this class has
 * everything but that method, and {@link #create} picks a concrete class for the Flink running the
 * job: {@link CheckSink1} (with the method, compiled here against Flink 1.20), or {@code
 * io.ferrostate.nexmark.check.CheckSink2} (without it, compiled against Flink 2.x from {@code
 * nexmark/src/flink-2/java}; flink-tests-2.3 adds it to the job jar).
 */
public abstract class CheckSink implements Sink<RowData>, SupportsWriterState<RowData, String> {
    private static final long serialVersionUID = 1L;

    private static final String FLINK_2_SINK = "io.ferrostate.nexmark.check.CheckSink2";

    private final String path;
    private final Check.Mode mode;
    private final RowFormat format;

    CheckSink(String path, Check.Mode mode, RowFormat format) {
        this.path = path;
        this.mode = mode;
        this.format = format;
    }

    /** The check sink for the Flink this runs on (see the class comment). */
    static CheckSink create(String path, Check.Mode mode, RowFormat format) {
        try {
            Class.forName(
                    "org.apache.flink.api.connector.sink2.Sink$InitContext",
                    false,
                    Sink.class.getClassLoader());
            return new CheckSink1(path, mode, format);
        } catch (ClassNotFoundException flink2) {
            try {
                return (CheckSink)
                        Class.forName(FLINK_2_SINK, true, CheckSink.class.getClassLoader())
                                .getDeclaredConstructor(
                                        String.class, Check.Mode.class, RowFormat.class)
                                .newInstance(path, mode, format);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(
                        "On Flink 2.x the check sink needs "
                                + FLINK_2_SINK
                                + " (nexmark/src/flink-2/java, compiled against Flink 2.x) in the"
                                + " job jar",
                        e);
            }
        }
    }

    /** A writer of a subtask that starts empty. */
    final StatefulSinkWriter<RowData, String> newWriter(int subtask, int parallelism)
            throws IOException {
        return new Writer(subtask, parallelism, Collections.emptyList());
    }

    @Override
    public StatefulSinkWriter<RowData, String> createWriter(WriterInitContext context)
            throws IOException {
        return new Writer(
                context.getTaskInfo().getIndexOfThisSubtask(),
                context.getTaskInfo().getNumberOfParallelSubtasks(),
                Collections.emptyList());
    }

    @Override
    public StatefulSinkWriter<RowData, String> restoreWriter(
            WriterInitContext context, Collection<String> recoveredState) throws IOException {
        return new Writer(
                context.getTaskInfo().getIndexOfThisSubtask(),
                context.getTaskInfo().getNumberOfParallelSubtasks(),
                recoveredState);
    }

    @Override
    public SimpleVersionedSerializer<String> getWriterStateSerializer() {
        return new SimpleVersionedSerializer<String>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(String state) {
                return state.getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public String deserialize(int version, byte[] serialized) throws IOException {
                if (version != 1) {
                    throw new IOException("Unknown check state version " + version);
                }
                return new String(serialized, StandardCharsets.UTF_8);
            }
        };
    }

    private final class Writer implements StatefulSinkWriter<RowData, String> {
        private final int subtask;
        private final int parallelism;
        private final Check check = new Check(mode);

        Writer(int subtask, int parallelism, Collection<String> recovered) throws IOException {
            this.subtask = subtask;
            this.parallelism = parallelism;
            for (String state : recovered) {
                check.merge(Check.parse(state));
            }
        }

        @Override
        public void write(RowData row, SinkWriter.Context context) {
            RowKind kind = row.getRowKind();
            int sign = kind == RowKind.INSERT || kind == RowKind.UPDATE_AFTER ? 1 : -1;
            check.addRow(format.format(row), sign);
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (!endOfInput) {
                return;
            }
            // Written whole under a hidden name, then renamed: a reader sees all of it or nothing.
            Path dir = new Path(path);
            FileSystem fs = dir.getFileSystem();
            fs.mkdirs(dir);
            Path part = new Path(dir, "part-" + subtask + "-of-" + parallelism);
            Path tmp = new Path(dir, ".part-" + subtask + ".inprogress");
            try (FSDataOutputStream out = fs.create(tmp, FileSystem.WriteMode.OVERWRITE)) {
                out.write(check.toString().getBytes(StandardCharsets.UTF_8));
            }
            fs.delete(part, false);
            if (!fs.rename(tmp, part)) {
                throw new IOException("Could not rename " + tmp + " to " + part);
            }
        }

        @Override
        public List<String> snapshotState(long checkpointId) {
            return Collections.singletonList(check.toString());
        }

        @Override
        public void close() {}
    }
}
