package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

/**
 * The native memory budget shared by the stores of one Flink slot: the hot tiers and RocksDB's
 * block cache and memtables all live inside it.
 */
@Internal
public final class NativeMemory extends NativeObject {

    static {
        NativeLibraryLoader.ensureLoaded();
    }

    private final long budget;

    public NativeMemory(long budget, double hotRatio, double writeBufferRatio) {
        super(create(budget, hotRatio, writeBufferRatio), "memory budget of " + budget + " bytes");
        this.budget = budget;
    }

    public long budget() {
        return budget;
    }

    /** The budget and what the stores sharing it hold. */
    public NativeResults.BudgetUsage usage() {
        return new NativeResults.BudgetUsage(usage(handle()));
    }

    long nativeHandle() {
        return handle();
    }

    @Override
    protected void dispose(long handle) {
        free(handle);
    }

    private static native long create(long budget, double hotRatio, double writeBufferRatio);

    private static native void free(long handle);

    private static native long[] usage(long handle);
}
