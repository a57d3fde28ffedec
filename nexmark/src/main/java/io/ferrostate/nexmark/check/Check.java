package io.ferrostate.nexmark.check;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a query's result adds up to, so that runs on different backends compare: the multiset of
 * result rows after applying the changelog (inserts and update-afters add a row, deletes and
 * update-befores take it away).
 *
 * <p>Two modes: {@link Mode#DIGEST} keeps the row count and two 64-bit sums of row hashes (a
 * multiset hash: order-free, additive across subtasks, constant memory, for big runs); {@link
 * Mode#LINES} keeps the rows themselves (small runs: a difference names the rows).
 *
 * <p>The text form is what each sink subtask writes at the end of its input, and what {@link
 * #parse} reads back; {@link #merge} adds up subtasks.
 */
public final class Check {
    /** How a result is summed up. */
    public enum Mode {
        DIGEST,
        LINES
    }

    private static final String HEADER = "nexmark-check v1 ";

    private final Mode mode;
    private long rows;
    private long hashA;
    private long hashB;
    private final TreeMap<String, Long> lines = new TreeMap<>();

    public Check(Mode mode) {
        this.mode = mode;
    }

    public Mode mode() {
        return mode;
    }

    /** Adds ({@code sign} 1) or takes away ({@code sign} -1) one result row. */
    public void addRow(String row, int sign) {
        rows += sign;
        switch (mode) {
            case DIGEST:
                byte[] b = row.getBytes(StandardCharsets.UTF_8);
                hashA += sign * hash64(b, 0x2545F4914F6CDD1DL);
                hashB += sign * hash64(b, 0x9FB21C651E98DF25L);
                break;
            default:
                lines.merge(row, (long) sign, (x, y) -> x + y == 0 ? null : x + y);
        }
    }

    public void merge(Check other) {
        if (other.mode != mode) {
            throw new IllegalArgumentException(
                    "Cannot merge a " + other.mode + " check into a " + mode + " check");
        }
        rows += other.rows;
        hashA += other.hashA;
        hashB += other.hashB;
        other.lines.forEach((row, n) -> lines.merge(row, n, (x, y) -> x + y == 0 ? null : x + y));
    }

    /** Net result rows. */
    public long rows() {
        return rows;
    }

    /** The net rows and their multiplicities ({@link Mode#LINES} only). */
    public Map<String, Long> lines() {
        return lines;
    }

    /** One line that equals between two runs exactly when their results do. */
    public String summary() {
        if (mode == Mode.DIGEST) {
            return String.format("rows=%d digest=%016x%016x", rows, hashA, hashB);
        }
        long a = 0;
        long b = 0;
        for (Map.Entry<String, Long> e : lines.entrySet()) {
            byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
            a += e.getValue() * hash64(bytes, 0x2545F4914F6CDD1DL);
            b += e.getValue() * hash64(bytes, 0x9FB21C651E98DF25L);
        }
        return String.format("rows=%d digest=%016x%016x", rows, a, b);
    }

    @Override
    public String toString() {
        StringBuilder out =
                new StringBuilder(HEADER).append(mode.name().toLowerCase()).append('\n');
        out.append("rows\t").append(rows).append('\n');
        out.append("hash\t").append(hashA).append('\t').append(hashB).append('\n');
        lines.forEach(
                (row, n) -> out.append("row\t").append(n).append('\t').append(row).append('\n'));
        return out.toString();
    }

    /** Reads what {@link #toString()} wrote. */
    public static Check parse(String text) throws IOException {
        BufferedReader in = new BufferedReader(new StringReader(text));
        String header = in.readLine();
        if (header == null || !header.startsWith(HEADER)) {
            throw new IOException("Not a Nexmark check file (header " + header + ")");
        }
        Check check;
        try {
            check = new Check(Mode.valueOf(header.substring(HEADER.length()).trim().toUpperCase()));
        } catch (IllegalArgumentException e) {
            throw new IOException("Unknown check mode in " + header, e);
        }
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", 3);
            try {
                switch (f[0]) {
                    case "rows":
                        check.rows = Long.parseLong(f[1]);
                        break;
                    case "hash":
                        check.hashA = Long.parseLong(f[1]);
                        check.hashB = Long.parseLong(f[2]);
                        break;
                    case "row":
                        check.lines.merge(f[2], Long.parseLong(f[1]), Long::sum);
                        break;
                    default:
                        throw new IOException("Unknown line in a check file: " + line);
                }
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw new IOException("Damaged line in a check file: " + line, e);
            }
        }
        return check;
    }

    /** A 64-bit hash (SplitMix64's finalizer over 8-byte words); quality, not security. */
    static long hash64(byte[] data, long seed) {
        long h = seed ^ (data.length * 0x9E3779B97F4A7C15L);
        int i = 0;
        for (; i + 8 <= data.length; i += 8) {
            long k = 0;
            for (int j = 7; j >= 0; j--) {
                k = (k << 8) | (data[i + j] & 0xFF);
            }
            h = mix(h ^ mix(k));
        }
        long k = 0;
        for (int j = data.length - 1; j >= i; j--) {
            k = (k << 8) | (data[j] & 0xFF);
        }
        return mix(h ^ mix(k ^ 0xFF51AFD7ED558CCDL));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
