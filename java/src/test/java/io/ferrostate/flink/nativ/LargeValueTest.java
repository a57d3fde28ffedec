package io.ferrostate.flink.nativ;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A value larger than the direct value buffer may grow to (a SQL window's list of rows, built by
 * appends) is read through a heap array: reading it needs no direct memory of its size, which
 * Flink's small direct-memory limit would refuse ("OutOfMemoryError: Direct buffer memory" in a
 * window join at 30M Nexmark events).
 */
class LargeValueTest {
    @TempDir Path dir;

    @Test
    void aValueLargerThanTheDirectLimitIsReadWhole() throws Exception {
        int chunk = 64 * 1024;
        int chunks = NativeStore.MAX_DIRECT_VALUE / chunk + 3;
        try (NativeMemory memory = new NativeMemory(64L << 20, 0.5, 0.25);
                NativeStore store =
                        new NativeStore(dir.resolve("db").toString(), memory, 64 * 1024, null)) {
            int state = store.registerState("list", NativeStore.KIND_LIST);
            byte[] expected = new byte[chunks * chunk];
            for (int c = 0; c < chunks; c++) {
                byte[] part = new byte[chunk];
                Arrays.fill(part, (byte) c);
                System.arraycopy(part, 0, expected, c * chunk, chunk);
                int keyLength = key(store);
                store.valueOut().clear();
                store.valueOut().write(part);
                store.append(state, keyLength, store.valueOut().position());
            }
            int length = store.get(state, key(store));
            assertEquals(expected.length, length);
            byte[] actual = new byte[length];
            store.valueIn(length).readFully(actual);
            assertArrayEquals(expected, actual);
            assertTrue(
                    store.valueOut().buffer().capacity() <= NativeStore.MAX_DIRECT_VALUE,
                    "the direct value buffer grew to " + store.valueOut().buffer().capacity());

            // A small value afterwards comes from the direct buffer again.
            store.valueOut().clear();
            store.valueOut().writeInt(42);
            int small = keySmall(store);
            store.put(state, small, 4);
            assertEquals(4, store.get(state, keySmall(store)));
            assertEquals(42, store.valueIn(4).readInt());
        }
    }

    @Test
    void aValueLargerThanTheDirectLimitIsWrittenAndTheBufferShrinksAfterwards() throws Exception {
        byte[] huge = new byte[NativeStore.MAX_DIRECT_VALUE * 2 + 5];
        for (int i = 0; i < huge.length; i++) {
            huge[i] = (byte) (i * 31);
        }
        try (NativeMemory memory = new NativeMemory(64L << 20, 0.5, 0.25);
                NativeStore store =
                        new NativeStore(dir.resolve("db").toString(), memory, 64 * 1024, null)) {
            int state = store.registerState("value", NativeStore.KIND_VALUE);
            store.valueOut().clear();
            store.valueOut().write(huge);
            store.put(state, key(store), store.valueOut().position());

            // The next write starts from a buffer of the retained size, registered natively.
            store.valueOut().clear();
            assertTrue(store.valueOut().buffer().capacity() <= NativeStore.MAX_DIRECT_VALUE);
            store.valueOut().writeInt(7);
            store.put(state, keySmall(store), 4);

            int length = store.get(state, key(store));
            assertEquals(huge.length, length);
            byte[] actual = new byte[length];
            store.valueIn(length).readFully(actual);
            assertArrayEquals(huge, actual);
            assertEquals(4, store.get(state, keySmall(store)));
            assertEquals(7, store.valueIn(4).readInt());
            assertTrue(store.valueOut().buffer().capacity() <= NativeStore.MAX_DIRECT_VALUE);
        }
    }

    private static int key(NativeStore store) throws Exception {
        store.keyView().clear();
        store.keyView().write(new byte[] {0, 0, 1, 2, 3});
        return store.keyView().position();
    }

    private static int keySmall(NativeStore store) throws Exception {
        store.keyView().clear();
        store.keyView().write(new byte[] {0, 0, 9});
        return store.keyView().position();
    }
}
