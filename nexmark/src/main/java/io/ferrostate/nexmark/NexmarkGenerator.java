package io.ferrostate.nexmark;

import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;

import java.nio.charset.StandardCharsets;

import static io.ferrostate.nexmark.GeneratorConfig.AUCTION_ID_LEAD;
import static io.ferrostate.nexmark.GeneratorConfig.AUCTION_PROPORTION;
import static io.ferrostate.nexmark.GeneratorConfig.AVG_AUCTION_BYTES;
import static io.ferrostate.nexmark.GeneratorConfig.AVG_BID_BYTES;
import static io.ferrostate.nexmark.GeneratorConfig.AVG_PERSON_BYTES;
import static io.ferrostate.nexmark.GeneratorConfig.FIRST_AUCTION_ID;
import static io.ferrostate.nexmark.GeneratorConfig.FIRST_CATEGORY_ID;
import static io.ferrostate.nexmark.GeneratorConfig.FIRST_PERSON_ID;
import static io.ferrostate.nexmark.GeneratorConfig.HOT_AUCTION_RATIO;
import static io.ferrostate.nexmark.GeneratorConfig.HOT_BIDDER_RATIO;
import static io.ferrostate.nexmark.GeneratorConfig.HOT_SELLER_RATIO;
import static io.ferrostate.nexmark.GeneratorConfig.NUM_ACTIVE_PEOPLE;
import static io.ferrostate.nexmark.GeneratorConfig.NUM_CATEGORIES;
import static io.ferrostate.nexmark.GeneratorConfig.NUM_IN_FLIGHT_AUCTIONS;
import static io.ferrostate.nexmark.GeneratorConfig.PERSON_ID_LEAD;
import static io.ferrostate.nexmark.GeneratorConfig.PERSON_PROPORTION;
import static io.ferrostate.nexmark.GeneratorConfig.PROPORTION_DENOMINATOR;

/**
 * Generates Nexmark event {@code i} from its id alone, as Flink's internal {@link RowData} of the
 * {@code nexmark} table (see {@link NexmarkSchema}).
 *
 * <p>Event {@code i} is a person, an auction or a bid by {@code i mod 50} (1:3:46). Persons and
 * auctions are numbered in the order they are created, so the newest person or auction at any event
 * follows from the id; sellers and bidders are drawn from the recently active people, and bid
 * targets from the auctions still open, with the hot fractions of {@link GeneratorConfig}. Event
 * time is {@link GeneratorConfig#timestampMs(long)}: it never depends on the wall clock.
 *
 * <p>Not thread-safe: one generator per source reader.
 */
public final class NexmarkGenerator {
    public static final int PERSON = 0;
    public static final int AUCTION = 1;
    public static final int BID = 2;

    private static final String[] FIRST_NAMES = {
        "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter",
        "Walter"
    };
    private static final String[] LAST_NAMES = {
        "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"
    };
    private static final String[] US_STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};
    private static final String[] US_CITIES = {
        "Phoenix",
        "Los Angeles",
        "San Francisco",
        "Boise",
        "Portland",
        "Bend",
        "Redmond",
        "Seattle",
        "Kent",
        "Cheyenne"
    };

    /**
     * Named channels; one bid in ten comes through one of these, the rest through numbered ones.
     */
    private static final String[] CHANNELS = {"Apple", "Google", "Facebook", "Baidu"};

    private static final int NUMBERED_CHANNELS = 10_000;
    private static final byte[] LETTERS =
            "abcdefghijklmnopqrstuvwxyz".getBytes(StandardCharsets.US_ASCII);

    private final GeneratorConfig config;
    private final Rng rng = new Rng();
    private final StringData[] firstNames = strings(FIRST_NAMES);
    private final StringData[] lastNames = strings(LAST_NAMES);
    private final StringData[] states = strings(US_STATES);
    private final StringData[] cities = strings(US_CITIES);
    private final StringData[] channels = strings(CHANNELS);

    public NexmarkGenerator(GeneratorConfig config) {
        this.config = config;
    }

    public GeneratorConfig config() {
        return config;
    }

    /** {@link #PERSON}, {@link #AUCTION} or {@link #BID}. */
    public static int eventType(long eventId) {
        long offset = eventId % PROPORTION_DENOMINATOR;
        if (offset < PERSON_PROPORTION) {
            return PERSON;
        }
        return offset < PERSON_PROPORTION + AUCTION_PROPORTION ? AUCTION : BID;
    }

    /**
     * The event with this id: {@code (event_type, person, auction, bid, dateTime)}, exactly one of
     * the three nested rows set.
     */
    public RowData event(long eventId) {
        rng.reset(config.seed(), eventId);
        long ts = config.timestampMs(eventId);
        TimestampData time = TimestampData.fromEpochMillis(ts);
        int type = eventType(eventId);
        GenericRowData row = new GenericRowData(5);
        row.setField(0, type);
        switch (type) {
            case PERSON:
                row.setField(1, person(eventId, time));
                break;
            case AUCTION:
                row.setField(2, auction(eventId, ts, time));
                break;
            default:
                row.setField(3, bid(eventId, time));
        }
        row.setField(4, time);
        return row;
    }

    private GenericRowData person(long eventId, TimestampData time) {
        long id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
        StringData name =
                concat(
                        firstNames[rng.nextInt(firstNames.length)],
                        " ",
                        lastNames[rng.nextInt(lastNames.length)]);
        StringData email = StringData.fromBytes(emailBytes());
        StringData card = StringData.fromBytes(creditCardBytes());
        StringData city = cities[rng.nextInt(cities.length)];
        StringData state = states[rng.nextInt(states.length)];
        int size = 8 + bytes(name) + bytes(email) + bytes(card) + bytes(city) + bytes(state) + 8;
        return GenericRowData.of(
                id, name, email, card, city, state, time, extra(size, AVG_PERSON_BYTES));
    }

    private GenericRowData auction(long eventId, long ts, TimestampData time) {
        long id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
        long seller;
        if (rng.nextInt(HOT_SELLER_RATIO) > 0) {
            seller = (lastBase0PersonId(eventId) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO;
        } else {
            seller = nextBase0PersonId(eventId);
        }
        seller += FIRST_PERSON_ID;
        long category = FIRST_CATEGORY_ID + rng.nextInt(NUM_CATEGORIES);
        long initialBid = nextPrice();
        long reserve = initialBid + nextPrice();
        long expires = ts + nextAuctionLengthMs(eventId, ts);
        StringData itemName = StringData.fromBytes(letters(20));
        StringData description = StringData.fromBytes(letters(100));
        int size = 8 + bytes(itemName) + bytes(description) + 8 + 8 + 8 + 8 + 8 + 8;
        return GenericRowData.of(
                id,
                itemName,
                description,
                initialBid,
                reserve,
                time,
                TimestampData.fromEpochMillis(expires),
                seller,
                category,
                extra(size, AVG_AUCTION_BYTES));
    }

    private GenericRowData bid(long eventId, TimestampData time) {
        long auction;
        if (rng.nextInt(HOT_AUCTION_RATIO) > 0) {
            auction = (lastBase0AuctionId(eventId) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO;
        } else {
            auction = nextBase0AuctionId(eventId);
        }
        auction += FIRST_AUCTION_ID;
        long bidder;
        if (rng.nextInt(HOT_BIDDER_RATIO) > 0) {
            bidder = (lastBase0PersonId(eventId) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
        } else {
            bidder = nextBase0PersonId(eventId);
        }
        bidder += FIRST_PERSON_ID;
        long price = nextPrice();
        StringData channel;
        StringData url;
        if (rng.nextInt(10) == 0) {
            channel = channels[rng.nextInt(channels.length)];
            url = StringData.fromString("https://www.nexmark.com/" + path() + "/item.htm?query=1");
        } else {
            int n = rng.nextInt(NUMBERED_CHANNELS);
            channel = StringData.fromString("channel-" + n);
            url =
                    StringData.fromString(
                            "https://www.nexmark.com/"
                                    + path()
                                    + "/item.htm?query=1&channel_id="
                                    + n);
        }
        int size = 8 + 8 + 8 + bytes(channel) + bytes(url) + 8;
        return GenericRowData.of(
                auction, bidder, price, channel, url, time, extra(size, AVG_BID_BYTES));
    }

    // ---------------------------------------------------------------------------------------
    //  Ids: persons and auctions are numbered in creation order, base 0
    // ---------------------------------------------------------------------------------------

    /** The newest person at this event (the person created by it, if it is a person). */
    static long lastBase0PersonId(long eventId) {
        long epoch = eventId / PROPORTION_DENOMINATOR;
        long offset = eventId % PROPORTION_DENOMINATOR;
        if (offset >= PERSON_PROPORTION) {
            offset = PERSON_PROPORTION - 1;
        }
        return epoch * PERSON_PROPORTION + offset;
    }

    /** The newest auction at this event (the auction created by it, if it is one); -1: none yet. */
    static long lastBase0AuctionId(long eventId) {
        long epoch = eventId / PROPORTION_DENOMINATOR;
        long offset = eventId % PROPORTION_DENOMINATOR;
        if (offset < PERSON_PROPORTION) {
            // This cycle's auctions come after its person: the previous cycle's last one.
            epoch--;
            offset = AUCTION_PROPORTION - 1;
        } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
            offset = AUCTION_PROPORTION - 1;
        } else {
            offset -= PERSON_PROPORTION;
        }
        return epoch * AUCTION_PROPORTION + offset;
    }

    /** One of the active people, or one a little ahead of the newest. */
    private long nextBase0PersonId(long eventId) {
        long people = lastBase0PersonId(eventId) + 1;
        long active = Math.min(people, NUM_ACTIVE_PEOPLE);
        return people - active + rng.nextLong(active + PERSON_ID_LEAD);
    }

    /** One of the open auctions, or one a little ahead of the newest. */
    private long nextBase0AuctionId(long eventId) {
        long last = Math.max(lastBase0AuctionId(eventId), 0);
        long first = Math.max(last - NUM_IN_FLIGHT_AUCTIONS, 0);
        return first + rng.nextLong(last - first + 1 + AUCTION_ID_LEAD);
    }

    /**
     * How long an auction stays open: up to twice the event time it takes to create {@link
     * GeneratorConfig#NUM_IN_FLIGHT_AUCTIONS} more auctions, so about that many are open at once.
     */
    private long nextAuctionLengthMs(long eventId, long ts) {
        long eventsForAuctions =
                (long) NUM_IN_FLIGHT_AUCTIONS * PROPORTION_DENOMINATOR / AUCTION_PROPORTION;
        long horizon = config.timestampMs(eventId + eventsForAuctions) - ts;
        return 1 + rng.nextLong(Math.max(horizon * 2, 1));
    }

    /** Prices (in cents) spread over six orders of magnitude, from $1 to $1,000,000. */
    private long nextPrice() {
        return Math.round(Math.pow(10.0, rng.nextDouble() * 6.0) * 100.0);
    }

    // ---------------------------------------------------------------------------------------
    //  Strings
    // ---------------------------------------------------------------------------------------

    /** Padding that brings an event to {@code desiredAverage} bytes on average (+-20%). */
    private StringData extra(int currentSize, int desiredAverage) {
        if (currentSize > desiredAverage) {
            return StringData.fromBytes(new byte[0]);
        }
        int average = desiredAverage - currentSize;
        int delta = average / 5;
        int length = average - delta + rng.nextInt(2 * delta + 1);
        return StringData.fromBytes(letters(length));
    }

    private byte[] letters(int length) {
        byte[] b = new byte[length];
        fillLetters(b, 0, length);
        return b;
    }

    private void fillLetters(byte[] b, int from, int to) {
        long bits = 0;
        int left = 0;
        for (int i = from; i < to; i++) {
            if (left == 0) {
                bits = rng.nextLong();
                left = 12;
            }
            b[i] = LETTERS[(int) ((bits & 31) % 26)];
            bits >>>= 5;
            left--;
        }
    }

    private String path() {
        byte[] b = new byte[17];
        fillLetters(b, 0, 5);
        b[5] = '/';
        fillLetters(b, 6, 11);
        b[11] = '/';
        fillLetters(b, 12, 17);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private byte[] emailBytes() {
        byte[] b = new byte[7 + 1 + 5 + 4];
        fillLetters(b, 0, 7);
        b[7] = '@';
        fillLetters(b, 8, 13);
        b[13] = '.';
        b[14] = 'c';
        b[15] = 'o';
        b[16] = 'm';
        return b;
    }

    private byte[] creditCardBytes() {
        byte[] b = new byte[19];
        for (int group = 0; group < 4; group++) {
            int digits = rng.nextInt(10_000);
            int at = group * 5;
            for (int d = 3; d >= 0; d--) {
                b[at + d] = (byte) ('0' + digits % 10);
                digits /= 10;
            }
            if (group < 3) {
                b[at + 4] = ' ';
            }
        }
        return b;
    }

    private static StringData concat(StringData a, String sep, StringData b) {
        return StringData.fromString(a + sep + b);
    }

    private static int bytes(StringData s) {
        return s.toBytes().length;
    }

    private static StringData[] strings(String[] values) {
        StringData[] out = new StringData[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = StringData.fromString(values[i]);
        }
        return out;
    }
}
