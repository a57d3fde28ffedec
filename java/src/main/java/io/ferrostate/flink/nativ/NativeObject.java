package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Owns one native object behind a {@code long} handle and frees it exactly once. Any use after
 * {@link #close()} throws {@link IllegalStateException} instead of touching freed memory.
 */
@Internal
public abstract class NativeObject implements AutoCloseable {
    private final long handle;
    private final String description;
    private final AtomicBoolean closed = new AtomicBoolean(false);

    protected NativeObject(long handle, String description) {
        if (handle == 0) {
            throw new FerroNativeException("native " + description + " was not created");
        }
        this.handle = handle;
        this.description = description;
    }

    /** The handle, or an {@link IllegalStateException} once closed. */
    protected final long handle() {
        if (closed.get()) {
            throw new IllegalStateException("The native " + description + " is already closed.");
        }
        return handle;
    }

    public final boolean isClosed() {
        return closed.get();
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            dispose(handle);
        }
    }

    /** Frees the native object; called once. */
    protected abstract void dispose(long handle);

    @Override
    public String toString() {
        return description + (closed.get() ? " (closed)" : "");
    }
}
