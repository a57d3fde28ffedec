package io.ferrostate.flink;

import io.ferrostate.flink.nativ.NativeLibrary;

import org.apache.flink.annotation.Internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Drives the store's write-failure switch ({@link NativeLibrary#setFailWrites}) from a file, so a
 * fault drill on a real cluster can flip it from outside: see {@link
 * FerroStateOptions#DEBUG_FAIL_WRITES_FILE}. {@link #sync()} costs one {@code stat}; the backend
 * calls it when it is built and before each snapshot, never on state accesses.
 */
@Internal
final class FailWritesFile {
    private static final Logger LOG = LoggerFactory.getLogger(FailWritesFile.class);

    /** Last state set through any instance (the switch is per library copy, like this class). */
    private static volatile Boolean lastOn;

    private final Path file;

    FailWritesFile(String file) {
        this.file = Paths.get(file);
    }

    /** Turns the switch on while the file exists and off once it is gone. */
    void sync() {
        boolean on = Files.exists(file);
        NativeLibrary.setFailWrites(on);
        Boolean previous = lastOn;
        if (previous == null || previous != on) {
            lastOn = on;
            if (on) {
                LOG.warn(
                        "ferrostate fault injection ON: {} exists, every write of the stores fails"
                                + " as if the disk were full.",
                        file);
            } else if (previous != null) {
                LOG.warn("ferrostate fault injection OFF: {} is gone, writes succeed again.", file);
            }
        }
    }

    @Override
    public String toString() {
        return file.toString();
    }
}
