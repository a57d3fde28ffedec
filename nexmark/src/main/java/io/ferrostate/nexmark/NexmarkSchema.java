package io.ferrostate.nexmark;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.types.DataType;

/**
 * The physical row of the {@code nexmark} connector: one table of all events, as Nexmark runs on
 * Flink use it, with views {@code person}, {@code auction} and {@code bid} over it ({@code
 * queries/ddl.sql}).
 */
public final class NexmarkSchema {
    private NexmarkSchema() {}

    public static final DataType PERSON =
            DataTypes.ROW(
                    DataTypes.FIELD("id", DataTypes.BIGINT()),
                    DataTypes.FIELD("name", DataTypes.STRING()),
                    DataTypes.FIELD("emailAddress", DataTypes.STRING()),
                    DataTypes.FIELD("creditCard", DataTypes.STRING()),
                    DataTypes.FIELD("city", DataTypes.STRING()),
                    DataTypes.FIELD("state", DataTypes.STRING()),
                    DataTypes.FIELD("dateTime", DataTypes.TIMESTAMP(3)),
                    DataTypes.FIELD("extra", DataTypes.STRING()));

    public static final DataType AUCTION =
            DataTypes.ROW(
                    DataTypes.FIELD("id", DataTypes.BIGINT()),
                    DataTypes.FIELD("itemName", DataTypes.STRING()),
                    DataTypes.FIELD("description", DataTypes.STRING()),
                    DataTypes.FIELD("initialBid", DataTypes.BIGINT()),
                    DataTypes.FIELD("reserve", DataTypes.BIGINT()),
                    DataTypes.FIELD("dateTime", DataTypes.TIMESTAMP(3)),
                    DataTypes.FIELD("expires", DataTypes.TIMESTAMP(3)),
                    DataTypes.FIELD("seller", DataTypes.BIGINT()),
                    DataTypes.FIELD("category", DataTypes.BIGINT()),
                    DataTypes.FIELD("extra", DataTypes.STRING()));

    public static final DataType BID =
            DataTypes.ROW(
                    DataTypes.FIELD("auction", DataTypes.BIGINT()),
                    DataTypes.FIELD("bidder", DataTypes.BIGINT()),
                    DataTypes.FIELD("price", DataTypes.BIGINT()),
                    DataTypes.FIELD("channel", DataTypes.STRING()),
                    DataTypes.FIELD("url", DataTypes.STRING()),
                    DataTypes.FIELD("dateTime", DataTypes.TIMESTAMP(3)),
                    DataTypes.FIELD("extra", DataTypes.STRING()));

    /** {@code event_type} 0 person, 1 auction, 2 bid; the other two rows are null. */
    public static final DataType EVENT =
            DataTypes.ROW(
                    DataTypes.FIELD("event_type", DataTypes.INT()),
                    DataTypes.FIELD("person", PERSON),
                    DataTypes.FIELD("auction", AUCTION),
                    DataTypes.FIELD("bid", BID),
                    DataTypes.FIELD("dateTime", DataTypes.TIMESTAMP(3)));
}
