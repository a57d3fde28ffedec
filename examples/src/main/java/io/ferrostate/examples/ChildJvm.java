package io.ferrostate.examples;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a child JVM with this JVM's options and classpath, and watches it.
 *
 * <p>Why: a JVM that ran ferrostate can hang in its exit. RocksDB's background threads call into
 * the JVM (the TTL compaction filter asks Flink's clock), which attaches them; at exit RocksDB's
 * static destructors join those threads, and each one, detaching from a JVM that is already
 * exiting, blocks forever (seen with {@code System.exit}, {@code Runtime.halt} and surefire's forks
 * alike; SIGTERM does not end it either). The child writes its status to a file before it exits, so
 * the parent can stop a child that finished its work but does not go away, and report the status
 * the work ended with. A child that runs past {@code timeoutSeconds} is stopped too.
 */
public final class ChildJvm {
    /** The child's first two arguments: this flag and the status file. */
    public static final String STATUS_FILE = "--status-file";

    private ChildJvm() {}

    /**
     * Runs {@code mainClass} with {@link #STATUS_FILE} and {@code args}; returns its status, or
     * throws if it ran past {@code timeoutSeconds} without reporting one.
     */
    public static int run(
            String mainClass, List<String> args, int exitGraceSeconds, int timeoutSeconds)
            throws IOException, InterruptedException {
        Path statusFile = Files.createTempFile("ferrostate-child-", ".status");
        try {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(mainClass);
            command.add(STATUS_FILE);
            command.add(statusFile.toString());
            command.addAll(args);
            Process child = new ProcessBuilder(command).inheritIO().start();
            long started = System.nanoTime();
            long finishedAt = 0;
            while (!child.waitFor(200, TimeUnit.MILLISECONDS)) {
                long now = System.nanoTime();
                if (finishedAt == 0 && Files.size(statusFile) > 0) {
                    finishedAt = now;
                } else if (finishedAt != 0
                        && now - finishedAt > TimeUnit.SECONDS.toNanos(exitGraceSeconds)) {
                    System.err.printf(
                            "%nnote: the JVM running %s finished its work but did not exit within"
                                    + " %d s (a JVM that ran ferrostate can hang in its exit while"
                                    + " RocksDB's background threads are attached to it); stopped"
                                    + " it.%n",
                            mainClass.substring(mainClass.lastIndexOf('.') + 1), exitGraceSeconds);
                    child.destroyForcibly().waitFor();
                    break;
                } else if (finishedAt == 0
                        && now - started > TimeUnit.SECONDS.toNanos(timeoutSeconds)) {
                    child.destroyForcibly().waitFor();
                    throw new IllegalStateException(
                            mainClass
                                    + " did not finish within "
                                    + timeoutSeconds
                                    + " s; stopped it");
                }
            }
            String status =
                    new String(Files.readAllBytes(statusFile), StandardCharsets.UTF_8).trim();
            return status.isEmpty() ? child.exitValue() : Integer.parseInt(status);
        } finally {
            Files.deleteIfExists(statusFile);
        }
    }

    /** In the child: the arguments after {@link #STATUS_FILE} and its path. */
    public static String[] childArgs(String[] args) {
        if (args.length < 2 || !args[0].equals(STATUS_FILE)) {
            return args;
        }
        return Arrays.copyOfRange(args, 2, args.length);
    }

    /** In the child: records {@code status} for the parent, then exits with it. */
    public static void exit(String[] args, int status) throws IOException {
        System.out.flush();
        System.err.flush();
        if (args.length >= 2 && args[0].equals(STATUS_FILE)) {
            Files.write(
                    Path.of(args[1]), Integer.toString(status).getBytes(StandardCharsets.UTF_8));
        }
        // Flink leaves a few non-daemon threads behind after a MiniCluster closes.
        System.exit(status);
    }
}
