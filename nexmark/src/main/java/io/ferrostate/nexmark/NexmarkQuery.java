package io.ferrostate.nexmark;

import io.ferrostate.nexmark.check.CheckSinkFactory;
import io.ferrostate.nexmark.table.NexmarkTableFactory;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableDescriptor;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.utils.LogicalTypeUtils;
import org.apache.flink.table.types.utils.TypeConversions;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One Nexmark query: its SQL (from {@code queries/<name>.sql}), how its result is checked, and how
 * to run it into a {@code nexmark-check} sink.
 *
 * <p>A query file holds statements separated by {@code ;}, the last one the query; a line {@code --
 * check: columns=a,b} names the checked columns when the others may differ between correct runs
 * (ties); {@code -- check: none} marks a result that depends on the wall clock.
 */
public final class NexmarkQuery {
    /** Every query here, in order: the stateless controls q0-q2 and the queries that keep state. */
    public static final List<String> ALL =
            Collections.unmodifiableList(
                    Arrays.asList(
                            "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q11", "q12",
                            "q15", "q16", "q17", "q18", "q19", "q20"));

    private static final String RESOURCES = "/io/ferrostate/nexmark/queries/";

    private final String name;
    private final List<String> statements;
    private final String select;
    private final Map<String, String> checkOptions;
    private final boolean comparable;

    private NexmarkQuery(
            String name,
            List<String> statements,
            String select,
            Map<String, String> checkOptions,
            boolean comparable) {
        this.name = name;
        this.statements = statements;
        this.select = select;
        this.checkOptions = checkOptions;
        this.comparable = comparable;
    }

    public static NexmarkQuery load(String name) {
        if (!ALL.contains(name)) {
            throw new IllegalArgumentException("Unknown Nexmark query " + name + "; known: " + ALL);
        }
        String text = resource(name + ".sql");
        Map<String, String> check = new LinkedHashMap<>();
        boolean comparable = true;
        for (String line : text.split("\n")) {
            String l = line.trim();
            if (l.startsWith("-- check:")) {
                String spec = l.substring("-- check:".length()).trim();
                if (spec.startsWith("columns=")) {
                    check.put(CheckSinkFactory.COLUMNS.key(), spec.substring("columns=".length()));
                } else if (spec.equals("none")) {
                    comparable = false;
                } else {
                    throw new IllegalStateException("Unknown check line in " + name + ": " + l);
                }
            }
        }
        List<String> parts = splitStatements(text);
        return new NexmarkQuery(
                name,
                parts.subList(0, parts.size() - 1),
                parts.get(parts.size() - 1),
                check,
                comparable);
    }

    public String name() {
        return name;
    }

    /** The query itself (its last statement). */
    public String select() {
        return select;
    }

    /**
     * Whether two correct runs give equal checks; false for q12, whose windows are processing time.
     */
    public boolean comparable() {
        return comparable;
    }

    /**
     * The table options Nexmark runs on Flink use: mini-batches of up to 50,000 rows or 2 s, and
     * split distinct aggregates (q15, q16).
     */
    public static Configuration tableOptions() {
        Configuration c = new Configuration();
        c.setString("table.exec.mini-batch.enabled", "true");
        c.setString("table.exec.mini-batch.allow-latency", "2 s");
        c.setString("table.exec.mini-batch.size", "50000");
        c.setString("table.optimizer.distinct-agg.split.enabled", "true");
        return c;
    }

    /**
     * Registers the source table and views (with these connector options, e.g. {@code events}),
     * runs the query's own statements, and submits {@code INSERT INTO} a check sink writing to
     * {@code checkPath} in {@code checkMode} ({@code digest} or {@code lines}).
     */
    public TableResult submit(
            TableEnvironment tEnv,
            Map<String, String> sourceOptions,
            String checkPath,
            String checkMode) {
        StringBuilder options = new StringBuilder();
        sourceOptions.forEach(
                (k, v) ->
                        options.append(",\n  '")
                                .append(escape(k))
                                .append("' = '")
                                .append(escape(v))
                                .append('\''));
        for (String ddl : splitStatements(resource("ddl.sql").replace("${options}", options))) {
            tEnv.executeSql(ddl);
        }
        statements.forEach(tEnv::executeSql);
        Table result = tEnv.sqlQuery(select);
        TableDescriptor.Builder sink =
                TableDescriptor.forConnector(CheckSinkFactory.IDENTIFIER)
                        .schema(sinkSchema(result.getResolvedSchema()))
                        .option(CheckSinkFactory.PATH.key(), checkPath)
                        .option(CheckSinkFactory.MODE.key(), checkMode);
        checkOptions.forEach(sink::option);
        return result.executeInsert(sink.build());
    }

    /** The sink's columns: the query's, with time attributes made plain timestamps. */
    private static Schema sinkSchema(ResolvedSchema schema) {
        Schema.Builder b = Schema.newBuilder();
        for (Column c : schema.getColumns()) {
            b.column(
                    c.getName(),
                    TypeConversions.fromLogicalToDataType(
                            LogicalTypeUtils.removeTimeAttributes(
                                    c.getDataType().getLogicalType())));
        }
        return b.build();
    }

    /** Source options of a bounded run of {@code events} events (other options at defaults). */
    public static Map<String, String> events(long events) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put(NexmarkTableFactory.EVENTS.key(), Long.toString(events));
        return o;
    }

    private static String escape(String s) {
        return s.replace("'", "''");
    }

    static List<String> splitStatements(String text) {
        StringBuilder sql = new StringBuilder();
        for (String line : text.split("\n")) {
            if (!line.trim().startsWith("--")) {
                sql.append(line).append('\n');
            }
        }
        List<String> out = new ArrayList<>();
        for (String s : sql.toString().split(";\\s*(\n|$)")) {
            if (!s.trim().isEmpty()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    private static String resource(String file) {
        try (InputStream in = NexmarkQuery.class.getResourceAsStream(RESOURCES + file)) {
            if (in == null) {
                throw new IllegalStateException("Missing resource " + RESOURCES + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
