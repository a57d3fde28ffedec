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
 */
public final class CheckSink implements Sink<RowData>, SupportsWriterState<RowData, String> {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final Check.Mode mode;
    private final RowFormat format;

    CheckSink(String path, Check.Mode mode, RowFormat format) {
        this.path = path;
        this.mode = mode;
        this.format = format;
    }

    /** Flink 1.x's writer factory (no {@code @Override}: Flink 2.x no longer has it). */
    public StatefulSinkWriter<RowData, String> createWriter(InitContext context)
            throws IOException {
        return new Writer(
                context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(),
                Collections.emptyList());
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
