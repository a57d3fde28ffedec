package io.ferrostate.nexmark;

import org.apache.flink.table.data.RowData;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class NexmarkGeneratorTest {

    private static final GeneratorConfig CONFIG =
            new GeneratorConfig(100_000, 1_000, GeneratorConfig.DEFAULT_BASE_TIME_MS, 7);

    @Test
    void sameIdSameEventWhateverTheOrder() {
        NexmarkGenerator a = new NexmarkGenerator(CONFIG);
        NexmarkGenerator b = new NexmarkGenerator(CONFIG);
        RowData late = a.event(99_999);
        for (long id = 0; id < 1000; id++) {
            assertThat(b.event(id).toString()).isEqualTo(a.event(id).toString());
        }
        assertThat(b.event(99_999).toString()).isEqualTo(late.toString());
    }

    @Test
    void anotherSeedOtherEvents() {
        NexmarkGenerator a = new NexmarkGenerator(CONFIG);
        NexmarkGenerator b =
                new NexmarkGenerator(new GeneratorConfig(100_000, 1_000, CONFIG.baseTimeMs(), 8));
        assertThat(b.event(10).toString()).isNotEqualTo(a.event(10).toString());
    }

    @Test
    void proportionsAndIds() {
        NexmarkGenerator g = new NexmarkGenerator(CONFIG);
        int[] kinds = new int[3];
        long lastPerson = GeneratorConfig.FIRST_PERSON_ID - 1;
        long lastAuction = GeneratorConfig.FIRST_AUCTION_ID - 1;
        Set<Long> categories = new HashSet<>();
        long hotBids = 0;
        for (long id = 0; id < 50_000; id++) {
            RowData e = g.event(id);
            int type = e.getInt(0);
            kinds[type]++;
            assertThat(type).isEqualTo(NexmarkGenerator.eventType(id));
            assertThat(e.getTimestamp(4, 3).getMillisecond()).isEqualTo(CONFIG.timestampMs(id));
            if (type == NexmarkGenerator.PERSON) {
                long pid = e.getRow(1, 8).getLong(0);
                assertThat(pid).isEqualTo(lastPerson + 1);
                lastPerson = pid;
            } else if (type == NexmarkGenerator.AUCTION) {
                RowData a = e.getRow(2, 10);
                assertThat(a.getLong(0)).isEqualTo(lastAuction + 1);
                lastAuction = a.getLong(0);
                assertThat(a.getLong(7))
                        .isBetween(GeneratorConfig.FIRST_PERSON_ID, lastPerson + 10);
                assertThat(a.getTimestamp(6, 3).getMillisecond())
                        .isGreaterThan(CONFIG.timestampMs(id));
                categories.add(a.getLong(8));
            } else {
                RowData b = e.getRow(3, 7);
                long auction = b.getLong(0);
                assertThat(auction).isBetween(GeneratorConfig.FIRST_AUCTION_ID, lastAuction + 10);
                if (auction >= lastAuction - 1) {
                    hotBids++;
                }
                assertThat(b.getLong(2)).isBetween(100L, 100_000_000L);
            }
        }
        assertThat(kinds).containsExactly(1_000, 3_000, 46_000);
        assertThat(categories).hasSize(GeneratorConfig.NUM_CATEGORIES);
        // Half the bids go to the hot (newest even) auction.
        assertThat(hotBids).isGreaterThan(46_000 / 2);
    }

    @Test
    void eventsAreAboutTheirAverageSize() {
        NexmarkGenerator g = new NexmarkGenerator(CONFIG);
        long bidBytes = 0;
        for (long id = 4; id < 50; id++) {
            bidBytes += g.event(id).getRow(3, 7).toString().length();
        }
        assertThat(bidBytes / 46).isBetween(80L, 260L);
    }
}
