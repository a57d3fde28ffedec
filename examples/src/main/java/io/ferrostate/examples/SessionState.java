package io.ferrostate.examples;

/** What the tracker keeps per user in its session {@code ValueState} (a Flink POJO). */
public class SessionState {
    /** Event time of the session's first event. */
    public long startTime;

    /** Event time of the session's latest event. */
    public long lastEventTime;

    public long eventCount;

    /** {@code lastEventTime - startTime}. */
    public long durationMs;

    public SessionState() {}

    public SessionState(long startTime) {
        this.startTime = startTime;
        this.lastEventTime = startTime;
    }

    /** Counts one more event of the session. */
    public void add(long eventTime) {
        eventCount++;
        lastEventTime = Math.max(lastEventTime, eventTime);
        durationMs = lastEventTime - startTime;
    }
}
