package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Decodes the structured results native methods return, the one reader of what {@code
 * rust/jni/src/results.rs} encodes: big-endian, a 4-byte record count, strings as a 4-byte length
 * and UTF-8, an absent key group as -1.
 */
@Internal
public final class NativeResults {

    private NativeResults() {}

    /** A file of a snapshot directory, as its manifest describes it. */
    public static final class SnapshotFile {
        public final String name;
        public final long size;
        public final int crc32c;

        public SnapshotFile(String name, long size, int crc32c) {
            this.name = name;
            this.size = size;
            this.crc32c = crc32c;
        }

        @Override
        public String toString() {
            return name + " (" + size + " bytes, crc32c " + Integer.toHexString(crc32c) + ")";
        }
    }

    /** What a snapshot holds of one state. */
    public static final class StateStats {
        public final String name;
        public final long entries;
        public final long bytes;

        /** The lowest key group with an entry, or -1 when the state has none. */
        public final int minKeyGroup;

        /** The highest key group with an entry, or -1 when the state has none. */
        public final int maxKeyGroup;

        StateStats(String name, long entries, long bytes, int minKeyGroup, int maxKeyGroup) {
            this.name = name;
            this.entries = entries;
            this.bytes = bytes;
            this.minKeyGroup = minKeyGroup;
            this.maxKeyGroup = maxKeyGroup;
        }
    }

    /** The files of a manifest. */
    static List<SnapshotFile> files(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        int n = in.getInt();
        List<SnapshotFile> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new SnapshotFile(string(in), in.getLong(), in.getInt()));
        }
        return done(in, out);
    }

    /** Statistics per state. */
    static List<StateStats> stats(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        int n = in.getInt();
        List<StateStats> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(
                    new StateStats(
                            string(in), in.getLong(), in.getLong(), in.getInt(), in.getInt()));
        }
        return done(in, out);
    }

    private static String string(ByteBuffer in) {
        byte[] b = new byte[in.getInt()];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static <T> List<T> done(ByteBuffer in, List<T> out) {
        if (in.hasRemaining()) {
            throw new IllegalStateException(
                    in.remaining()
                            + " bytes left after a native result: the library and the classes disagree");
        }
        return Collections.unmodifiableList(out);
    }
}
