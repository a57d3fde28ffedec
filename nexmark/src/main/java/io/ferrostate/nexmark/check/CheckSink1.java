package io.ferrostate.nexmark.check;

import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.table.data.RowData;

import java.io.IOException;

/** The check sink on Flink 1.x, whose {@code Sink} still has this writer factory. */
final class CheckSink1 extends CheckSink {
    private static final long serialVersionUID = 1L;

    CheckSink1(String path, Check.Mode mode, RowFormat format) {
        super(path, mode, format);
    }

    /** Flink 1.x's writer factory (no {@code @Override}: Flink 2.x no longer has it). */
    @SuppressWarnings("deprecation")
    public StatefulSinkWriter<RowData, String> createWriter(InitContext context)
            throws IOException {
        return newWriter(context.getSubtaskId(), context.getNumberOfParallelSubtasks());
    }
}
