package io.ferrostate.nexmark.table;

import io.ferrostate.nexmark.GeneratorConfig;
import io.ferrostate.nexmark.NexmarkSchema;
import io.ferrostate.nexmark.NexmarkSource;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code 'connector' = 'nexmark'}: the Nexmark event stream as a table of all events (see {@code
 * queries/ddl.sql}). Options: {@code events}, {@code event-rate}, {@code base-time}, {@code seed},
 * {@code splits}, {@code throttle}.
 */
public final class NexmarkTableFactory implements DynamicTableSourceFactory {
    public static final String IDENTIFIER = "nexmark";

    public static final ConfigOption<Long> EVENTS =
            ConfigOptions.key("events")
                    .longType()
                    .defaultValue(0L)
                    .withDescription("Events to generate (ids 0 to events - 1); 0: unbounded.");
    public static final ConfigOption<Long> EVENT_RATE =
            ConfigOptions.key("event-rate")
                    .longType()
                    .defaultValue(GeneratorConfig.DEFAULT_EVENT_RATE)
                    .withDescription("Events per second of event time (not a throughput limit).");
    public static final ConfigOption<String> BASE_TIME =
            ConfigOptions.key("base-time")
                    .stringType()
                    .defaultValue(
                            Instant.ofEpochMilli(GeneratorConfig.DEFAULT_BASE_TIME_MS).toString())
                    .withDescription("Event time of the first event, an ISO-8601 instant.");
    public static final ConfigOption<Long> SEED =
            ConfigOptions.key("seed")
                    .longType()
                    .defaultValue(0L)
                    .withDescription("Seed of every random choice.");
    public static final ConfigOption<Integer> SPLITS =
            ConfigOptions.key("splits")
                    .intType()
                    .defaultValue(0)
                    .withDescription("Splits the ids are dealt to; 0: one per parallel reader.");
    public static final ConfigOption<Long> THROTTLE =
            ConfigOptions.key("throttle")
                    .longType()
                    .defaultValue(0L)
                    .withDescription("Wall-clock limit in events per second per reader; 0: none.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return new HashSet<>();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(EVENTS);
        options.add(EVENT_RATE);
        options.add(BASE_TIME);
        options.add(SEED);
        options.add(SPLITS);
        options.add(THROTTLE);
        return options;
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        checkSchema(context.getPhysicalRowDataType());
        long baseTime;
        try {
            baseTime = Instant.parse(options.get(BASE_TIME)).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new ValidationException(
                    "'base-time' must be an ISO-8601 instant, is " + options.get(BASE_TIME), e);
        }
        if (options.get(EVENT_RATE) <= 0) {
            throw new ValidationException(
                    "'event-rate' must be positive, is " + options.get(EVENT_RATE));
        }
        GeneratorConfig config =
                new GeneratorConfig(
                        options.get(EVENTS), options.get(EVENT_RATE), baseTime, options.get(SEED));
        return new Source(config, options.get(SPLITS), options.get(THROTTLE));
    }

    private static void checkSchema(DataType physical) {
        LogicalType want = NexmarkSchema.EVENT.getLogicalType().copy(true);
        LogicalType got = physical.getLogicalType().copy(true);
        if (!want.equals(got)) {
            throw new ValidationException(
                    "The nexmark connector produces the columns "
                            + want.asSummaryString()
                            + ", but the table declares "
                            + got.asSummaryString());
        }
    }

    /** The scan source: the generator behind a FLIP-27 source. */
    private static final class Source implements ScanTableSource {
        private final GeneratorConfig config;
        private final int splits;
        private final long throttle;

        Source(GeneratorConfig config, int splits, long throttle) {
            this.config = config;
            this.splits = splits;
            this.throttle = throttle;
        }

        @Override
        public ChangelogMode getChangelogMode() {
            return ChangelogMode.insertOnly();
        }

        @Override
        public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
            return SourceProvider.of(new NexmarkSource(config, splits, throttle));
        }

        @Override
        public DynamicTableSource copy() {
            return new Source(config, splits, throttle);
        }

        @Override
        public String asSummaryString() {
            return "Nexmark(" + config + ")";
        }
    }
}
