package io.ferrostate.flink.nativ;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads the batches the native side's own test writes ({@code rust/jni/tests/data/scan-batch.txt},
 * checked against {@code BatchWriter} in {@code rust/jni/src/batch.rs}): the two sides agree on the
 * scan batch format.
 */
class BatchCursorTest {
    private static final Path VECTORS = Paths.get("../rust/jni/tests/data/scan-batch.txt");

    @Test
    void readsUntaggedBatches() throws IOException {
        BatchCursor c = new BatchCursor(false);
        c.reset(vector("untagged"), 3);
        expect(c, -1, "k1", "v1");
        expect(c, -1, "", "empty key");
        expect(c, -1, "key3", "");
        assertFalse(c.next());
    }

    @Test
    void readsTaggedBatches() throws IOException {
        BatchCursor c = new BatchCursor(true);
        c.reset(vector("tagged"), 2);
        expect(c, 0, "a", "b");
        expect(c, 5, "kk", "vvv");
        assertFalse(c.next());
        assertEquals(0, c.remaining());
    }

    private static void expect(BatchCursor c, int state, String key, String value) {
        assertTrue(c.next());
        if (state >= 0) {
            assertEquals(state, c.stateIndex());
        }
        assertArrayEquals(key.getBytes(StandardCharsets.UTF_8), c.copyKey());
        assertArrayEquals(value.getBytes(StandardCharsets.UTF_8), c.copyValue());
        assertEquals(key.length(), c.keyLength());
        assertEquals(value.length(), c.valueLength());
    }

    /** The bytes of the batch {@code kind}, in a direct buffer as the native side fills. */
    private static ByteBuffer vector(String kind) throws IOException {
        for (String line : Files.readAllLines(VECTORS, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f[0].equals(kind)) {
                String hex = f[2];
                ByteBuffer b = ByteBuffer.allocateDirect(hex.length() / 2 + 16);
                for (int i = 0; i < hex.length(); i += 2) {
                    b.put((byte) Integer.parseInt(hex.substring(i, i + 2), 16));
                }
                return b;
            }
        }
        throw new AssertionError("no " + kind + " batch in " + VECTORS);
    }
}
