package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

/** Identity of the loaded native library and switches for failure tests. */
@Internal
public final class NativeLibrary {
    private NativeLibrary() {}

    /** Version of the native library. */
    public static native String version();

    /**
     * An address inside this class loader's copy of the library; differs between class loaders that
     * each loaded their own copy.
     */
    public static native long identity();

    /**
     * Fault injection: while on, every write the store makes to disk fails as if the disk were
     * full. Affects every store of this class loader's library copy.
     */
    public static native void setFailWrites(boolean on);

    /** Panics inside native code, to prove that a panic becomes a Java exception. */
    public static native void panicForTest(String message);

    /** Does nothing: the cost of a native call (benchmarks). */
    public static native void noop();

    /** Registers a direct buffer for {@link #touch}; free it with {@link #freeTouchBuffer}. */
    public static native long registerTouchBuffer(java.nio.ByteBuffer buffer);

    public static native void freeTouchBuffer(long handle);

    /**
     * Reads {@code length} bytes of a registered buffer and writes 8 bytes back: the floor of one
     * state access through the shared buffer (benchmarks).
     */
    public static native int touch(long handle, int length);
}
