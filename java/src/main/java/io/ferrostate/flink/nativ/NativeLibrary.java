package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

/** Identity of the loaded native library and switches for failure tests. */
@Internal
public final class NativeLibrary {
    private NativeLibrary() {}

    /** Version of the native library. */
    public static native String version();

    /**
     * An address inside this class loader's copy of the library; differs between class loaders
     * that each loaded their own copy.
     */
    public static native long identity();

    /**
     * Fault injection: while on, every write the store makes to disk fails as if the disk were
     * full. Affects every store of this class loader's library copy.
     */
    public static native void setFailWrites(boolean on);

    /** Panics inside native code, to prove that a panic becomes a Java exception. */
    public static native void panicForTest(String message);
}
