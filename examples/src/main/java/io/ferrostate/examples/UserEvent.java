package io.ferrostate.examples;

import java.util.Objects;

/** One interaction of a user with a feature of the product (a Flink POJO). */
public class UserEvent {
    public long userId;
    public String feature;

    /** Event time, epoch milliseconds. */
    public long timestamp;

    public UserEvent() {}

    public UserEvent(long userId, String feature, long timestamp) {
        this.userId = userId;
        this.feature = feature;
        this.timestamp = timestamp;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof UserEvent)) {
            return false;
        }
        UserEvent e = (UserEvent) o;
        return userId == e.userId && timestamp == e.timestamp && Objects.equals(feature, e.feature);
    }

    @Override
    public int hashCode() {
        return Objects.hash(userId, feature, timestamp);
    }

    @Override
    public String toString() {
        return "UserEvent{user=" + userId + ", feature=" + feature + ", ts=" + timestamp + "}";
    }
}
