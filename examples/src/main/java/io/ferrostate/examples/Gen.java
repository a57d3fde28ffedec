package io.ferrostate.examples;

/**
 * Deterministic pseudo-randomness: every generated event is a pure function of (seed, index), so
 * the jobs, the reference and any rerun see exactly the same stream.
 */
public final class Gen {
    private Gen() {}

    /** SplitMix64's finalizer: a bijective, well-mixing 64-bit hash. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A hash of (seed, i) for one purpose ({@code salt}), uniform over 64 bits. */
    public static long hash(long seed, long i, long salt) {
        return mix(mix(seed ^ (salt * 0x9E3779B97F4A7C15L)) + i * 0xD1B54A32D192ED03L);
    }

    /** A value uniform in [0, n). */
    public static int below(long seed, long i, long salt, int n) {
        return (int) Long.remainderUnsigned(hash(seed, i, salt), n);
    }
}
