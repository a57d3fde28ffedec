package io.ferrostate.flink.nativ;

import io.ferrostate.flink.nativ.NativeResults.SnapshotFile;
import io.ferrostate.flink.nativ.NativeResults.StateStats;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Decodes the encodings the native side's own tests produce ({@code
 * rust/jni/tests/data/results.txt}, checked against {@code rust/jni/src/results.rs}): both sides
 * agree on the format of structured native results.
 */
class NativeResultsTest {
    private static final Path VECTORS = Paths.get("../rust/jni/tests/data/results.txt");

    @Test
    void decodesManifestFiles() throws IOException {
        List<SnapshotFile> files = NativeResults.files(vector("files"));
        assertEquals(2, files.size());
        assertEquals("000012.sst", files.get(0).name);
        assertEquals(5_000_000_000L, files.get(0).size);
        assertEquals(0xdeadbeef, files.get(0).crc32c);
        assertEquals("CURRENT", files.get(1).name);
        assertEquals(16, files.get(1).size);
        assertEquals(7, files.get(1).crc32c);
        assertEquals(0, NativeResults.files(new byte[4]).size());
    }

    @Test
    void decodesStateStatistics() throws IOException {
        List<StateStats> stats = NativeResults.stats(vector("stats"));
        assertEquals(2, stats.size());
        StateStats words = stats.get(0);
        assertEquals("wörds", words.name);
        assertEquals(3, words.entries);
        assertEquals(300, words.bytes);
        assertEquals(0, words.minKeyGroup);
        assertEquals(127, words.maxKeyGroup);
        StateStats empty = stats.get(1);
        assertEquals("empty", empty.name);
        assertEquals(-1, empty.minKeyGroup);
        assertEquals(-1, empty.maxKeyGroup);
    }

    @Test
    void namesCountersByTheirDeclaredPosition() {
        NativeResults.StoreCounters c = new NativeResults.StoreCounters(new long[] {1, 2, 3, 4, 5});
        assertEquals(1, c.rocksdbReads);
        assertEquals(2, c.rocksdbScans);
        assertEquals(3, c.rocksdbWrites);
        assertEquals(4, c.hotHits);
        assertEquals(5, c.evictions);
        NativeResults.StoreMemory m =
                new NativeResults.StoreMemory(new long[] {10, 20, 30, 40, 50});
        assertEquals(30, m.usedBytes());
        assertEquals(30, m.budget);
        assertEquals(40, m.allocatorAllocatedBytes);
        assertEquals(50, m.allocatorResidentBytes);
        NativeResults.BudgetUsage b = new NativeResults.BudgetUsage(new long[] {1, 2, 3, 4});
        assertEquals(2, b.hotLimit);
        assertEquals(4, b.rocksdbUsed);
    }

    @Test
    void refusesCountersOfAnotherLayout() {
        assertThrows(
                IllegalStateException.class,
                () -> new NativeResults.StoreCounters(new long[] {1, 2, 3, 4}));
    }

    @Test
    void refusesTrailingBytes() throws IOException {
        byte[] files = vector("files");
        byte[] longer = java.util.Arrays.copyOf(files, files.length + 1);
        assertThrows(IllegalStateException.class, () -> NativeResults.files(longer));
    }

    private static byte[] vector(String name) throws IOException {
        for (String line : Files.readAllLines(VECTORS, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f[0].equals(name)) {
                String hex = f[1];
                byte[] out = new byte[hex.length() / 2];
                for (int i = 0; i < out.length; i++) {
                    out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
                }
                return out;
            }
        }
        throw new AssertionError("no " + name + " in " + VECTORS);
    }
}
