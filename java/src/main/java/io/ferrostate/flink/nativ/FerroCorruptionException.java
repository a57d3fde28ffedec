package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Stored data failed a check: a snapshot file does not match its checksum, is truncated or missing,
 * or a value is malformed. The message names the file or value.
 */
@PublicEvolving
public class FerroCorruptionException extends FerroNativeException {
    private static final long serialVersionUID = 1L;

    public FerroCorruptionException(String message) {
        super(message);
    }
}
