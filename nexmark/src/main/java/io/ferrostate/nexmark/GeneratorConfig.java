package io.ferrostate.nexmark;

import java.io.Serializable;
import java.time.Instant;

/**
 * What a Nexmark event stream looks like: how many events, how fast event time advances, from which
 * base time, and the seed. Two generators with equal configurations produce the same events, byte
 * for byte, whatever the parallelism or the machine.
 *
 * <p>The proportions and ratios are the benchmark's published defaults (NEXMark, Tucker et al., and
 * the Apache Beam suite's specification of it): one person, three auctions and 46 bids in every 50
 * events; half the bids go to the hot auctions and three quarters to the hot bidders; three
 * quarters of the auctions come from hot sellers; about 100 auctions are open at a time and about
 * 1000 people are active.
 */
public final class GeneratorConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Events of each kind in one cycle of {@link #PROPORTION_DENOMINATOR} events. */
    public static final int PERSON_PROPORTION = 1;

    public static final int AUCTION_PROPORTION = 3;
    public static final int BID_PROPORTION = 46;
    public static final int PROPORTION_DENOMINATOR =
            PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;

    /** One bid in {@code HOT_AUCTION_RATIO} goes to any auction, the others to a hot one. */
    public static final int HOT_AUCTION_RATIO = 2;

    /** One auction in {@code HOT_SELLER_RATIO} comes from any seller, the others from a hot one. */
    public static final int HOT_SELLER_RATIO = 4;

    /** One bid in {@code HOT_BIDDER_RATIO} comes from any bidder, the others from a hot one. */
    public static final int HOT_BIDDER_RATIO = 4;

    /** Auctions open at any one time (a new auction lasts about twice this many auctions). */
    public static final int NUM_IN_FLIGHT_AUCTIONS = 100;

    /** People who bid or sell at any one time. */
    public static final int NUM_ACTIVE_PEOPLE = 1000;

    /** How far ahead of the newest person or auction an id may point (a bid can come early). */
    public static final int PERSON_ID_LEAD = 10;

    public static final int AUCTION_ID_LEAD = 10;

    public static final long FIRST_PERSON_ID = 1000;
    public static final long FIRST_AUCTION_ID = 1000;
    public static final long FIRST_CATEGORY_ID = 10;
    public static final int NUM_CATEGORIES = 5;

    /** Average sizes in bytes the {@code extra} field pads each event to. */
    public static final int AVG_PERSON_BYTES = 200;

    public static final int AVG_AUCTION_BYTES = 500;
    public static final int AVG_BID_BYTES = 100;

    /** 2020-01-01T00:00:00Z: event time starts here in every run, not at the wall clock. */
    public static final long DEFAULT_BASE_TIME_MS =
            Instant.parse("2020-01-01T00:00:00Z").toEpochMilli();

    /** Events per second of event time, as Flink's Nexmark runs use by default. */
    public static final long DEFAULT_EVENT_RATE = 10_000_000L;

    private final long events;
    private final long eventRate;
    private final long baseTimeMs;
    private final long seed;

    /**
     * @param events how many events (ids 0 to events - 1); 0 or less for an unbounded stream
     * @param eventRate events per second of event time (the timestamp of event {@code i} is {@code
     *     baseTimeMs + i * 1000 / eventRate})
     * @param baseTimeMs event time of event 0
     * @param seed seed of every random choice
     */
    public GeneratorConfig(long events, long eventRate, long baseTimeMs, long seed) {
        if (eventRate <= 0) {
            throw new IllegalArgumentException("The event rate must be positive, is " + eventRate);
        }
        this.events = events;
        this.eventRate = eventRate;
        this.baseTimeMs = baseTimeMs;
        this.seed = seed;
    }

    public static GeneratorConfig of(long events) {
        return new GeneratorConfig(events, DEFAULT_EVENT_RATE, DEFAULT_BASE_TIME_MS, 0);
    }

    public long events() {
        return events;
    }

    public boolean bounded() {
        return events > 0;
    }

    public long eventRate() {
        return eventRate;
    }

    public long baseTimeMs() {
        return baseTimeMs;
    }

    public long seed() {
        return seed;
    }

    /** Event time of an event, in milliseconds since the epoch. */
    public long timestampMs(long eventId) {
        // eventId * 1000 overflows only past 9.2e15 events.
        return baseTimeMs + Math.multiplyExact(eventId, 1000L) / eventRate;
    }

    @Override
    public String toString() {
        return "events="
                + events
                + ", eventRate="
                + eventRate
                + "/s, baseTime="
                + Instant.ofEpochMilli(baseTimeMs)
                + ", seed="
                + seed;
    }
}
