package io.ferrostate.flink.snapshot;

import io.ferrostate.flink.nativ.FerroCorruptionException;
import io.ferrostate.flink.nativ.NativeSnapshots;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueStateSnapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The meta stream of ferrostate's native snapshots: {@code [index][Flink's
 * KeyedBackendSerializationProxy][timers]}. The index (written and checked natively) records the
 * states, key groups and every file with its checksum and remote location, so {@code ferrostate
 * inspect} reads a checkpoint without a JVM. The timers start, when some queues live in the store,
 * with {@code [-2][count][names]} naming those (their elements came with the store's files); then
 * {@code [count]} heap queues follow as, per queue, runs of {@code [key group][count][elements]}
 * ended by {@code -1}. The stream ends with the CRC-32C of everything before it and a trailer
 * magic, so a damaged or truncated meta data file (serializers, timers) fails the restore instead
 * of restoring wrong timers.
 */
@Internal
public final class NativeSnapshotMeta {
    private static final byte[] MAGIC = {'F', 'E', 'R', 'R', 'O', 'M', 'T', 1};
    private static final byte[] TRAILER = {'F', 'E', 'R', 'R', 'O', 'C', 'R', 'C'};

    /** Writes {@code meta[0, length)} followed by its CRC-32C and the trailer magic. */
    public static void writeChecksummed(OutputStream out, byte[] meta, int length)
            throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(meta, 0, length);
        out.write(meta, 0, length);
        int c = (int) crc.getValue();
        out.write(new byte[] {(byte) (c >>> 24), (byte) (c >>> 16), (byte) (c >>> 8), (byte) c});
        out.write(TRAILER);
    }

    /**
     * Reads a whole meta data stream and checks its CRC-32C trailer; returns the bytes the checksum
     * covers. {@code what} names the file in the error of a damaged stream.
     */
    public static byte[] readChecksummed(InputStream in, String what) throws IOException {
        byte[] all = in.readAllBytes();
        int n = all.length - 12;
        if (n < 0 || !Arrays.equals(Arrays.copyOfRange(all, n + 4, all.length), TRAILER)) {
            throw new FerroCorruptionException(
                    "checksum mismatch in the snapshot meta data file "
                            + what
                            + ": it has no checksum trailer (truncated, or damaged at its end)");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, n);
        int stored =
                ((all[n] & 0xff) << 24)
                        | ((all[n + 1] & 0xff) << 16)
                        | ((all[n + 2] & 0xff) << 8)
                        | (all[n + 3] & 0xff);
        if (stored != (int) crc.getValue()) {
            throw new FerroCorruptionException(
                    String.format(
                            "checksum mismatch in the snapshot meta data file %s: stored crc32c %08x,"
                                    + " computed %08x over %d bytes",
                            what, stored, (int) crc.getValue(), n));
        }
        return Arrays.copyOf(all, n);
    }

    private NativeSnapshotMeta() {}

    /** Reads the index and checks it; throws a clear error for a foreign or damaged stream. */
    public static void readIndex(DataInputView in) throws IOException {
        byte[] head = new byte[12];
        in.readFully(head);
        if (!Arrays.equals(Arrays.copyOf(head, 8), MAGIC)) {
            throw new FerroCorruptionException(
                    "The snapshot's meta data is not ferrostate's: it was written by another state"
                            + " backend's native format. Restore it on ferrostate from a canonical"
                            + " savepoint instead.");
        }
        int len =
                ((head[8] & 0xff) << 24)
                        | ((head[9] & 0xff) << 16)
                        | ((head[10] & 0xff) << 8)
                        | (head[11] & 0xff);
        if (len < 0 || len > (64 << 20)) {
            throw new FerroCorruptionException("snapshot index length " + len + " is impossible");
        }
        byte[] all = Arrays.copyOf(head, 12 + len + 4);
        in.readFully(all, 12, len + 4);
        NativeSnapshots.indexLength(all);
    }

    /** Marks the list of queues kept in the store, before the heap queues' count. */
    private static final int STORED_QUEUES = -2;

    /**
     * Writes the names of the queues kept in the store, then the timers of {@code range} from the
     * heap queues' snapshots. Without stored queues the stream is as before they existed.
     */
    @SuppressWarnings("unchecked")
    public static void writeQueues(
            DataOutputView out,
            List<String> storedQueues,
            List<HeapPriorityQueueStateSnapshot<?>> queues,
            KeyGroupRange range)
            throws IOException {
        if (!storedQueues.isEmpty()) {
            out.writeInt(STORED_QUEUES);
            out.writeInt(storedQueues.size());
            for (String name : storedQueues) {
                out.writeUTF(name);
            }
        }
        out.writeInt(queues.size());
        for (HeapPriorityQueueStateSnapshot<?> q : queues) {
            TypeSerializer<Object> serializer =
                    (TypeSerializer<Object>) q.getMetaInfo().getElementSerializer();
            for (int kg : range) {
                Iterator<Object> it = (Iterator<Object>) q.getIteratorForKeyGroup(kg);
                if (!it.hasNext()) {
                    continue;
                }
                java.util.List<Object> elements = new java.util.ArrayList<>();
                it.forEachRemaining(elements::add);
                out.writeInt(kg);
                out.writeInt(elements.size());
                for (Object e : elements) {
                    serializer.serialize(e, out);
                }
            }
            out.writeInt(-1);
        }
    }

    /** Receives restored timers. */
    public interface QueueSink {
        /** Serializer of the elements of queue {@code index}. */
        TypeSerializer<?> serializer(int index);

        /** Takes one element of queue {@code index} in key group {@code keyGroup}. */
        void accept(int index, int keyGroup, Object element) throws IOException;
    }

    /** The start of the timers: which queues the store holds, and how many heap queues follow. */
    public static final class QueueHeader {
        /** Names of the queues whose elements are in the store. */
        public final Set<String> inStore;

        final int heapQueues;

        QueueHeader(Set<String> inStore, int heapQueues) {
            this.inStore = inStore;
            this.heapQueues = heapQueues;
        }
    }

    /** Reads the names of the queues kept in the store (none in older streams). */
    public static QueueHeader readQueueHeader(DataInputView in) throws IOException {
        Set<String> names = new HashSet<>();
        int mark = in.readInt();
        if (mark != STORED_QUEUES) {
            return new QueueHeader(names, mark);
        }
        int n = in.readInt();
        if (n < 0) {
            throw new FerroCorruptionException("negative count of stored timer queues");
        }
        for (int i = 0; i < n; i++) {
            names.add(in.readUTF());
        }
        return new QueueHeader(names, in.readInt());
    }

    /** Reads the heap queues' elements after {@link #readQueueHeader}. */
    public static void readHeapQueues(
            DataInputView in, QueueHeader header, int expectedQueues, QueueSink sink)
            throws IOException {
        int n = header.heapQueues;
        if (n != expectedQueues) {
            throw new FerroCorruptionException(
                    "snapshot holds "
                            + n
                            + " timer queues but its meta data names "
                            + expectedQueues);
        }
        for (int q = 0; q < n; q++) {
            TypeSerializer<?> serializer = sink.serializer(q);
            for (int kg = in.readInt(); kg != -1; kg = in.readInt()) {
                int count = in.readInt();
                if (count < 0) {
                    throw new FerroCorruptionException("negative timer count in the snapshot");
                }
                for (int i = 0; i < count; i++) {
                    sink.accept(q, kg, serializer.deserialize(in));
                }
            }
        }
    }
}
