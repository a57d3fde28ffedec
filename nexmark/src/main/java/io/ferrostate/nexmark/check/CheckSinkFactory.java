package io.ferrostate.nexmark.check;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code 'connector' = 'nexmark-check'}: sums a query's result up (see {@link Check}) into files
 * under {@code path}. Options: {@code path}; {@code mode} ({@code digest} or {@code lines}); {@code
 * columns}, the checked columns (default: all), for results whose other columns may differ between
 * correct runs (ties).
 */
public final class CheckSinkFactory implements DynamicTableSinkFactory {
    public static final String IDENTIFIER = "nexmark-check";

    public static final ConfigOption<String> PATH =
            ConfigOptions.key("path")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Directory of the check files.");
    public static final ConfigOption<String> MODE =
            ConfigOptions.key("mode")
                    .stringType()
                    .defaultValue("digest")
                    .withDescription("digest (count and hash of the rows) or lines (the rows).");
    public static final ConfigOption<String> COLUMNS =
            ConfigOptions.key("columns")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Comma-separated names of the checked columns; default: all.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(PATH);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return new HashSet<>(Arrays.asList(MODE, COLUMNS));
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        List<String> names = context.getCatalogTable().getResolvedSchema().getColumnNames();
        List<LogicalType> types = new ArrayList<>();
        context.getPhysicalRowDataType().getChildren().forEach(t -> types.add(t.getLogicalType()));
        Check.Mode mode;
        try {
            mode = Check.Mode.valueOf(options.get(MODE).trim().toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new ValidationException(
                    "'mode' must be digest or lines, is " + options.get(MODE));
        }
        int[] columns;
        if (options.getOptional(COLUMNS).isPresent()) {
            String[] wanted = options.get(COLUMNS).split(",");
            columns = new int[wanted.length];
            for (int i = 0; i < wanted.length; i++) {
                columns[i] = indexOf(names, wanted[i].trim());
            }
        } else {
            columns = new int[names.size()];
            for (int i = 0; i < columns.length; i++) {
                columns[i] = i;
            }
        }
        return new TableSink(
                CheckSink.create(options.get(PATH), mode, new RowFormat(types, columns)));
    }

    private static int indexOf(List<String> names, String name) {
        int i = names.indexOf(name);
        if (i < 0) {
            throw new ValidationException("No column " + name + " in " + names);
        }
        return i;
    }

    private static final class TableSink implements DynamicTableSink {
        private final CheckSink sink;

        TableSink(CheckSink sink) {
            this.sink = sink;
        }

        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
            return ChangelogMode.all();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkV2Provider.of(sink);
        }

        @Override
        public DynamicTableSink copy() {
            return new TableSink(sink);
        }

        @Override
        public String asSummaryString() {
            return "NexmarkCheck";
        }
    }
}
