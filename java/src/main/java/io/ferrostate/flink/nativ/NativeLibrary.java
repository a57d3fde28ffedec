package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

/**
 * Identity of the loaded native library and the write-failure switch of fault drills ({@code
 * state.backend.ferrostate.debug.fail-writes-file}). Test and benchmark hooks are in the test
 * sources ({@code NativeHooks}), with a library built to have them.
 */
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
}
