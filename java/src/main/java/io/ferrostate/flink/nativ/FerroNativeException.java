package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A failure inside ferrostate's native store: an error it returned or a panic it caught. The
 * message says which operation failed and why. The JVM is unaffected; the task fails and Flink
 * restores it from the last checkpoint.
 */
@PublicEvolving
public class FerroNativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FerroNativeException(String message) {
        super(message);
    }

    public FerroNativeException(String message, Throwable cause) {
        super(message, cause);
    }
}
