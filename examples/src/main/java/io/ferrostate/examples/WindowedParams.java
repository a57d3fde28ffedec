package io.ferrostate.examples;

/**
 * Parameters of {@link WindowedJob}, and the generated event stream they define. Plain Java (no
 * Flink classes), so {@link Reference} can replay the very same stream.
 *
 * <p>Event {@code i} has the base time {@code i * stepMs}. Time is cut into phases of {@code
 * phaseMs}; in each phase one group of {@code keysPerPhase} keys (picked by hash of the phase) is
 * active, and the event goes to one of its keys. So a key's events are dense while its group is
 * active and absent for whole phases otherwise: session windows (gap < phase) open, grow, merge and
 * close. The event time is the base time plus a jitter in [0, jitterMs], so the stream is out of
 * order by at most {@code jitterMs} and a bounded-out-of-orderness watermark of that bound never
 * makes an event late.
 */
public class WindowedParams extends JobParams {
    private static final long serialVersionUID = 1L;

    /** Event time of base time 0, a multiple of every window size used here. */
    public static final long START = 1_700_000_000_000L;

    public static final String USAGE =
            "WindowedJob options:\n"
                    + "  --events N               events to generate (default 100000)\n"
                    + COMMON_USAGE
                    + "  --keys K                 distinct keys (default 16)\n"
                    + "  --keys-per-phase A       keys active in one phase (default 4)\n"
                    + "  --seed S                 seed of the generated stream (default 7)\n"
                    + "  --step-ms MS             event-time distance between events (default 5)\n"
                    + "  --phase-ms MS            length of one phase (default 5000)\n"
                    + "  --jitter-ms MS           maximum out-of-orderness (default 200)\n"
                    + "  --tumble-ms MS           tumbling window size (default 10000)\n"
                    + "  --session-gap-ms MS      session window gap (default 3000)\n"
                    + "  --parallelism P          parallelism of the windows (default: the environment's)\n"
                    + "  --output PATH            write results to files under PATH (exactly once);"
                    + " without it they are printed";

    public int keys = 16;
    public int keysPerPhase = 4;
    public long phaseMs = 5000;
    public long jitterMs = 200;
    public long tumbleMs = 10_000;
    public long sessionGapMs = 3000;

    public WindowedParams() {
        super(100_000, 7, 5);
    }

    public static WindowedParams fromArgs(String... args) {
        return fromArgs(new WindowedParams(), Args.parse(args));
    }

    /** Reads the options into {@code p} (whose fields are the defaults); rejects unknown ones. */
    public static WindowedParams fromArgs(WindowedParams p, Args a) {
        p.readCommon(a);
        p.keys = a.getInt("keys", p.keys);
        p.keysPerPhase = a.getInt("keys-per-phase", p.keysPerPhase);
        p.phaseMs = a.getLong("phase-ms", p.phaseMs);
        p.jitterMs = a.getLong("jitter-ms", p.jitterMs);
        p.tumbleMs = a.getLong("tumble-ms", p.tumbleMs);
        p.sessionGapMs = a.getLong("session-gap-ms", p.sessionGapMs);
        a.rejectUnknown(USAGE);
        p.validate();
        return p;
    }

    public WindowedParams validate() {
        validateCommon();
        require(keys >= 1, "--keys must be >= 1");
        require(keysPerPhase >= 1 && keysPerPhase <= keys, "--keys-per-phase must be in [1, keys]");
        require(phaseMs >= 1, "--phase-ms must be >= 1");
        require(jitterMs >= 0, "--jitter-ms must be >= 0");
        require(tumbleMs >= 1, "--tumble-ms must be >= 1");
        require(sessionGapMs >= 1, "--session-gap-ms must be >= 1");
        return this;
    }

    /** Event {@code i} of the stream: a pure function of (seed, i). */
    public WindowEvent event(long i) {
        long base = i * stepMs;
        long phase = base / phaseMs;
        int groups = Math.max(1, keys / keysPerPhase);
        long group = Gen.below(seed, phase, 11, groups);
        long key = group * keysPerPhase + Gen.below(seed, i, 12, keysPerPhase);
        long jitter = jitterMs == 0 ? 0 : Gen.below(seed, i, 13, (int) jitterMs + 1);
        long value = 1 + Gen.below(seed, i, 14, 100);
        return new WindowEvent(key, value, START + base + jitter);
    }
}
