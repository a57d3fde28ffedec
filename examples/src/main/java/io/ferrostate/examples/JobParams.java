package io.ferrostate.examples;

import java.io.Serializable;

/**
 * What every example job's parameters have: the generated stream's size, seed, rate and time step,
 * and how the job runs (checkpoint interval, parallelism, output). Each job's parameters extend it
 * with their own and set their own defaults; plain Java, so {@link Reference} can replay the very
 * same stream.
 */
public abstract class JobParams implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The options every job takes, for its usage text. */
    static final String COMMON_USAGE =
            "  --unbounded              generate forever (ignores --events)\n"
                    + "  --rate R                 events per second, 0 = as fast as possible (default 0)\n"
                    + "  --checkpoint-interval MS checkpoint interval, 0 = leave it to the cluster"
                    + " configuration (default 1000)\n";

    public long events;
    public boolean unbounded = false;
    public long seed;
    public double rate = 0;
    public long stepMs;
    public long checkpointIntervalMs = 1000;
    public int parallelism = -1;
    public String output = null;

    protected JobParams(long events, long seed, long stepMs) {
        this.events = events;
        this.seed = seed;
        this.stepMs = stepMs;
    }

    /** Reads the common options into this object (whose fields are the defaults). */
    void readCommon(Args a) {
        events = a.getLong("events", events);
        unbounded = a.getFlag("unbounded") || unbounded;
        seed = a.getLong("seed", seed);
        rate = Double.parseDouble(a.get("rate", Double.toString(rate)));
        stepMs = a.getLong("step-ms", stepMs);
        checkpointIntervalMs = a.getLong("checkpoint-interval", checkpointIntervalMs);
        parallelism = a.getInt("parallelism", parallelism);
        output = a.get("output", output);
    }

    /** Rejects common options out of range. */
    void validateCommon() {
        require(events >= 0, "--events must be >= 0");
        require(rate >= 0, "--rate must be >= 0");
        require(stepMs >= 0, "--step-ms must be >= 0");
        require(checkpointIntervalMs >= 0, "--checkpoint-interval must be >= 0");
    }

    static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** How many events the source emits. */
    public long eventCount() {
        return unbounded ? Long.MAX_VALUE : events;
    }
}
