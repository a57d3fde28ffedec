package io.ferrostate.flink.nativ;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A map's scan in batches: batches cut by the entry limit and by the buffer's size, and the last
 * batch, which the store marks so that no further native call is made. Like Flink's RocksDB map
 * iterator, a scan sees entries added behind it while batches follow, and none once its last batch
 * came.
 */
class ScanBatchTest {
    private static final byte[] PREFIX = {0, 0, 'k'};

    @TempDir Path dir;

    private NativeMemory memory;
    private NativeStore store;
    private int state;

    @BeforeEach
    void open() {
        memory = new NativeMemory(64L << 20, 0.5, 0.25);
        store = new NativeStore(dir.resolve("db").toString(), memory, 64 * 1024, null);
        state = store.registerState("map", NativeStore.KIND_MAP);
    }

    @AfterEach
    void close() {
        store.close();
        memory.close();
    }

    @Test
    void batchesCutByCountAndBySizeMakeTheWholeMapInOrder() throws Exception {
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // Every third value has 3,000 bytes: the 16 KiB scan buffer holds about 15 entries, so
            // batches of at most 128 are cut by the buffer's size, those of 1 and 7 by the count.
            String userKey = String.format("u%03d", i);
            put(userKey, i % 3 == 0 ? 3000 : 10);
            expected.add(userKey);
        }
        for (int limit : new int[] {1, 7, 128}) {
            assertThat(userKeys(new ScanBatch(store, state, PREFIX, true, limit)))
                    .as("batches of at most %d entries", limit)
                    .isEqualTo(expected);
        }
        assertThat(userKeys(new ScanBatch(store, state, new byte[] {0, 0, 'x'}, true, 7)))
                .isEmpty();
    }

    @Test
    void entriesAddedBehindAreSeenUntilTheLastBatchCame() throws Exception {
        for (String k : new String[] {"a", "b", "c"}) {
            put(k, 8);
        }
        ScanBatch scan = new ScanBatch(store, state, PREFIX, true, 2);
        List<String> seen = new ArrayList<>();
        while (scan.advance()) {
            seen.add(userKey(scan));
            if (seen.size() == 2) {
                // The first batch (a, b) was full: the next one is read after b.
                put("d", 8);
            }
            if (seen.size() == 4) {
                // The second batch (c, d) reached the map's end: no native call follows.
                put("e", 8);
            }
        }
        assertThat(seen).isEqualTo(Arrays.asList("a", "b", "c", "d"));
        assertThat(scan.advance()).isFalse();
        assertThat(userKeys(new ScanBatch(store, state, PREFIX, true, 2)))
                .isEqualTo(Arrays.asList("a", "b", "c", "d", "e"));
    }

    private void put(String userKey, int valueLength) throws Exception {
        store.keyView().clear();
        store.keyView().write(PREFIX);
        store.keyView().write(userKey.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        int keyLength = store.keyView().position();
        store.valueOut().clear();
        store.valueOut().write(new byte[valueLength]);
        store.putEntry(state, keyLength, PREFIX.length, store.valueOut().position());
    }

    private static String userKey(ScanBatch scan) {
        byte[] key = scan.copyKey();
        return new String(
                key,
                PREFIX.length,
                key.length - PREFIX.length,
                java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static List<String> userKeys(ScanBatch scan) {
        List<String> keys = new ArrayList<>();
        while (scan.advance()) {
            keys.add(userKey(scan));
        }
        return keys;
    }
}
