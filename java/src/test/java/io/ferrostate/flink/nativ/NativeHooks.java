package io.ferrostate.flink.nativ;

import java.nio.ByteBuffer;

/**
 * Test and benchmark hooks of the native library ({@code rust/jni/src/hooks.rs}). They exist only
 * in the library built with the {@code test-hooks} feature, which {@code java/build-native.sh}
 * packs into the test classes (and so into this module's test-jar, which the benchmarks use); the
 * released jar's library has none of them.
 */
public final class NativeHooks {
    static {
        NativeLibraryLoader.ensureLoaded();
    }

    private NativeHooks() {}

    /** Panics inside native code, to prove that a panic becomes a Java exception. */
    public static native void panicForTest(String message);

    /** Does nothing: the cost of a native call (benchmarks). */
    public static native void noop();

    /** Registers a direct buffer for {@link #touch}; free it with {@link #freeTouchBuffer}. */
    public static native long registerTouchBuffer(ByteBuffer buffer);

    public static native void freeTouchBuffer(long handle);

    /**
     * Reads {@code length} bytes of a registered buffer and writes 8 bytes back: the floor of one
     * state access through the shared buffer (benchmarks).
     */
    public static native int touch(long handle, int length);

    /**
     * The Rust-only floor of a lookup (benchmarks): {@code count} lookups in one native call of the
     * keys laid back to back in {@code keys} (each {@code keyLength} bytes); returns the sum of the
     * value lengths found.
     */
    public static long benchGetLoop(
            NativeStore store, int state, ByteBuffer keys, int keyLength, int count) {
        return benchGetLoop(store.handle(), state, keys, keyLength, count);
    }

    private static native long benchGetLoop(
            long handle, int state, ByteBuffer keys, int keyLength, int count);
}
