package io.ferrostate.nexmark;

import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.table.data.RowData;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The Nexmark event stream as a Flink source. The ids are dealt to {@code splits} splits round
 * robin (split {@code s} of {@code n} generates ids {@code s, s + n, s + 2n, ...}), so every split
 * emits its events in event-time order and no event is late for a bounded out-of-orderness
 * watermark. A split's state is the next id it emits: restores resume exactly where the checkpoint
 * was taken.
 */
public final class NexmarkSource
        implements Source<RowData, NexmarkSource.Split, List<NexmarkSource.Split>> {
    private static final long serialVersionUID = 1L;

    /** Events a reader emits per call before it yields to the task's mailbox. */
    private static final int BATCH = 256;

    private final GeneratorConfig config;
    private final int splits;
    private final long eventsPerSecondPerReader;

    /**
     * @param splits how many splits; 0 or less: one per parallel reader
     * @param eventsPerSecondPerReader wall-clock throttle of each reader; 0 or less: none
     */
    public NexmarkSource(GeneratorConfig config, int splits, long eventsPerSecondPerReader) {
        this.config = config;
        this.splits = splits;
        this.eventsPerSecondPerReader = eventsPerSecondPerReader;
    }

    @Override
    public Boundedness getBoundedness() {
        return config.bounded() ? Boundedness.BOUNDED : Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SplitEnumerator<Split, List<Split>> createEnumerator(
            SplitEnumeratorContext<Split> context) {
        int n = splits > 0 ? splits : context.currentParallelism();
        List<Split> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(new Split(i, n, i));
        }
        return new Enumerator(context, all);
    }

    @Override
    public SplitEnumerator<Split, List<Split>> restoreEnumerator(
            SplitEnumeratorContext<Split> context, List<Split> checkpoint) {
        return new Enumerator(context, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<Split> getSplitSerializer() {
        return new SplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<List<Split>> getEnumeratorCheckpointSerializer() {
        return new EnumeratorStateSerializer();
    }

    @Override
    public SourceReader<RowData, Split> createReader(SourceReaderContext context) {
        return new Reader(
                new NexmarkGenerator(config),
                eventsPerSecondPerReader,
                context.metricGroup().getIOMetricGroup().getNumRecordsInCounter());
    }

    /** Ids {@code index, index + stride, ...}; {@code next} is the next one to emit. */
    public static final class Split implements SourceSplit {
        final int index;
        final int stride;
        long next;

        Split(int index, int stride, long next) {
            this.index = index;
            this.stride = stride;
            this.next = next;
        }

        @Override
        public String splitId() {
            return index + "/" + stride;
        }

        Split copy() {
            return new Split(index, stride, next);
        }

        @Override
        public String toString() {
            return "NexmarkSplit{" + splitId() + ", next=" + next + "}";
        }
    }

    /** Hands each reader the splits {@code index mod parallelism == subtask}, all at once. */
    private static final class Enumerator implements SplitEnumerator<Split, List<Split>> {
        private final SplitEnumeratorContext<Split> context;
        private final List<Split> unassigned;

        Enumerator(SplitEnumeratorContext<Split> context, List<Split> unassigned) {
            this.context = context;
            this.unassigned = new ArrayList<>(unassigned);
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {}

        @Override
        public void addSplitsBack(List<Split> splits, int subtaskId) {
            unassigned.addAll(splits);
        }

        @Override
        public void addReader(int subtaskId) {
            int parallelism = context.currentParallelism();
            Iterator<Split> it = unassigned.iterator();
            while (it.hasNext()) {
                Split s = it.next();
                if (s.index % parallelism == subtaskId) {
                    context.assignSplit(s, subtaskId);
                    it.remove();
                }
            }
            context.signalNoMoreSplits(subtaskId);
        }

        @Override
        public List<Split> snapshotState(long checkpointId) {
            List<Split> copy = new ArrayList<>();
            unassigned.forEach(s -> copy.add(s.copy()));
            return copy;
        }

        @Override
        public void close() {}
    }

    /** Generates its splits' events one split after another. */
    private static final class Reader implements SourceReader<RowData, Split> {
        private final NexmarkGenerator generator;
        private final long events;
        private final long throttle;
        private final ArrayDeque<Split> splits = new ArrayDeque<>();
        private boolean noMoreSplits;
        private CompletableFuture<Void> available = new CompletableFuture<>();
        private final Counter recordsIn;
        private long startNanos = -1;
        private long emitted;

        Reader(NexmarkGenerator generator, long throttle, Counter recordsIn) {
            this.generator = generator;
            this.recordsIn = recordsIn;
            this.events =
                    generator.config().bounded() ? generator.config().events() : Long.MAX_VALUE;
            this.throttle = throttle;
        }

        @Override
        public void start() {}

        @Override
        public InputStatus pollNext(ReaderOutput<RowData> output) throws Exception {
            Split split = splits.peek();
            while (split != null && split.next >= events) {
                splits.poll();
                split = splits.peek();
            }
            if (split == null) {
                if (noMoreSplits) {
                    return InputStatus.END_OF_INPUT;
                }
                available = new CompletableFuture<>();
                return InputStatus.NOTHING_AVAILABLE;
            }
            int batch = throttle > 0 ? permitted() : BATCH;
            int i = 0;
            for (; i < batch && split.next < events; i++) {
                output.collect(generator.event(split.next));
                split.next += split.stride;
            }
            emitted += i;
            recordsIn.inc(i);
            return InputStatus.MORE_AVAILABLE;
        }

        /** How many events the throttle lets out now; sleeps a little when none. */
        private int permitted() throws InterruptedException {
            long now = System.nanoTime();
            if (startNanos < 0) {
                startNanos = now;
            }
            long due = (now - startNanos) / 1000 * throttle / 1_000_000;
            if (due <= emitted) {
                Thread.sleep(Math.max(1, Math.min(10, 1000 / throttle)));
                return 0;
            }
            return (int) Math.min(BATCH, due - emitted);
        }

        @Override
        public List<Split> snapshotState(long checkpointId) {
            List<Split> state = new ArrayList<>();
            splits.forEach(s -> state.add(s.copy()));
            return state;
        }

        @Override
        public CompletableFuture<Void> isAvailable() {
            return available;
        }

        @Override
        public void addSplits(List<Split> added) {
            splits.addAll(added);
            available.complete(null);
        }

        @Override
        public void notifyNoMoreSplits() {
            noMoreSplits = true;
            available.complete(null);
        }

        @Override
        public void close() {}
    }

    private static final class SplitSerializer implements SimpleVersionedSerializer<Split> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(Split split) throws IOException {
            DataOutputSerializer out = new DataOutputSerializer(16);
            write(split, out);
            return out.getCopyOfBuffer();
        }

        @Override
        public Split deserialize(int version, byte[] serialized) throws IOException {
            checkVersion(version);
            return read(new DataInputDeserializer(serialized));
        }
    }

    private static final class EnumeratorStateSerializer
            implements SimpleVersionedSerializer<List<Split>> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(List<Split> state) throws IOException {
            DataOutputSerializer out = new DataOutputSerializer(64);
            out.writeInt(state.size());
            for (Split s : state) {
                write(s, out);
            }
            return out.getCopyOfBuffer();
        }

        @Override
        public List<Split> deserialize(int version, byte[] serialized) throws IOException {
            checkVersion(version);
            DataInputDeserializer in = new DataInputDeserializer(serialized);
            int n = in.readInt();
            List<Split> state = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                state.add(read(in));
            }
            return state;
        }
    }

    private static void write(Split s, DataOutputSerializer out) throws IOException {
        out.writeInt(s.index);
        out.writeInt(s.stride);
        out.writeLong(s.next);
    }

    private static Split read(DataInputDeserializer in) throws IOException {
        int index = in.readInt();
        int stride = in.readInt();
        long next = in.readLong();
        if (stride <= 0 || index < 0 || index >= stride || next < 0) {
            throw new IOException(
                    "Damaged Nexmark split state: index "
                            + index
                            + ", stride "
                            + stride
                            + ", next "
                            + next);
        }
        return new Split(index, stride, next);
    }

    private static void checkVersion(int version) throws IOException {
        if (version != 1) {
            throw new IOException("Unknown Nexmark split state version " + version);
        }
    }
}
