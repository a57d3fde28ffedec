package io.ferrostate.sql;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts the invocations of Flink's SQL ITCases per state backend (ferrostate, RocksDB, HashMap)
 * and outcome, and writes them to {@code target/sql-itcases-by-backend.txt} at the end of the run:
 * surefire's reports name only the test method, not the parameters.
 */
public final class BackendTally implements TestExecutionListener {
    private final Map<String, int[]> counts = new TreeMap<>();

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (test.isTest() && test.getUniqueId().contains("org.apache.flink.table.planner")) {
            int[] c = counts.computeIfAbsent(backend(test.getDisplayName()), k -> new int[3]);
            switch (result.getStatus()) {
                case SUCCESSFUL:
                    c[0]++;
                    break;
                case ABORTED: // an assumption did not hold: skipped
                    c[2]++;
                    break;
                default:
                    c[1]++;
            }
        }
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        if (test.isTest() && test.getUniqueId().contains("org.apache.flink.table.planner")) {
            counts.computeIfAbsent(backend(test.getDisplayName()), k -> new int[3])[2]++;
        }
    }

    private static String backend(String displayName) {
        if (displayName.startsWith("ferrostate:")) {
            return "ferrostate";
        }
        if (displayName.contains("ROCKSDB")) {
            return "rocksdb";
        }
        return displayName.contains("HEAP") ? "hashmap" : "other";
    }

    @Override
    public void testPlanExecutionFinished(TestPlan plan) {
        if (counts.isEmpty()) {
            return;
        }
        StringBuilder out = new StringBuilder("backend\tpassed\tfailed\tskipped\n");
        counts.forEach(
                (b, c) ->
                        out.append(b)
                                .append('\t')
                                .append(c[0])
                                .append('\t')
                                .append(c[1])
                                .append('\t')
                                .append(c[2])
                                .append('\n'));
        System.out.print("Flink SQL ITCases by backend:\n" + out);
        try {
            Path file = Paths.get("target", "sql-itcases-by-backend.txt");
            Files.createDirectories(file.getParent());
            Files.write(file, out.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            System.err.println("Could not write the SQL ITCase tally: " + e);
        }
    }
}
