package io.ferrostate.examples;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The examples' command line: {@code --name value} pairs and bare {@code --flag}s. Kept tiny and
 * free of Flink classes so the same parsing runs in the jobs, the demo and the reference.
 */
public final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> read = new HashSet<>();

    private Args() {}

    public static Args parse(String... args) {
        Args parsed = new Args();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new IllegalArgumentException("expected --name [value], got '" + arg + "'");
            }
            String name = arg.substring(2);
            String value = "true";
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            }
            parsed.values.put(name, value);
        }
        return parsed;
    }

    public boolean has(String name) {
        read.add(name);
        return values.containsKey(name);
    }

    public String get(String name, String fallback) {
        read.add(name);
        return values.getOrDefault(name, fallback);
    }

    public long getLong(String name, long fallback) {
        String v = get(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " expects a number, got '" + v + "'");
        }
    }

    public int getInt(String name, int fallback) {
        return Math.toIntExact(getLong(name, fallback));
    }

    public boolean getFlag(String name) {
        String v = get(name, "false");
        return v.equals("true") || v.equals("yes") || v.equals("1");
    }

    /** Fails on options no caller asked for, so a typo does not silently run the defaults. */
    public void rejectUnknown(String usage) {
        Set<String> unknown = new HashSet<>(values.keySet());
        unknown.removeAll(read);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown option(s) " + unknown + "\n" + usage);
        }
    }
}
