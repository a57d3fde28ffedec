package io.ferrostate.nexmark;

/**
 * The random choices of one event: SplitMix64 seeded from the run's seed and the event's id, so an
 * event is the same whichever subtask generates it and in whatever order.
 */
final class Rng {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private long state;

    void reset(long seed, long eventId) {
        state = mix(seed ^ mix(eventId + GOLDEN));
    }

    long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** Uniform in {@code [0, bound)} (bias below bound / 2^64); {@code bound} must be positive. */
    long nextLong(long bound) {
        return Long.remainderUnsigned(nextLong(), bound);
    }

    int nextInt(int bound) {
        return (int) Long.remainderUnsigned(nextLong(), bound);
    }

    /** Uniform in {@code [0, 1)}. */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
