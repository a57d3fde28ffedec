package io.ferrostate.examples;

/** A keyed measurement with an event time (a Flink POJO). */
public class WindowEvent {
    public long key;
    public long value;

    /** Event time, epoch milliseconds. */
    public long timestamp;

    public WindowEvent() {}

    public WindowEvent(long key, long value, long timestamp) {
        this.key = key;
        this.value = value;
        this.timestamp = timestamp;
    }

    @Override
    public String toString() {
        return "WindowEvent{key=" + key + ", value=" + value + ", ts=" + timestamp + "}";
    }
}
