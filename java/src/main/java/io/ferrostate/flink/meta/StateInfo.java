package io.ferrostate.flink.meta;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.RegisteredStateMetaInfoBase;

import javax.annotation.Nullable;

/** What the backend knows of one key/value state: its id in the native store and its meta info. */
@Internal
public final class StateInfo {
    public final int stateId;
    public final RegisteredStateMetaInfoBase metaInfo;

    /**
     * Why some restored list values could not be split into elements with the serializer restored
     * from the snapshot (they are kept whole, as one element); null when all were.
     */
    @Nullable private Exception unreadRestoredLists;

    public StateInfo(int stateId, RegisteredStateMetaInfoBase metaInfo) {
        this.stateId = stateId;
        this.metaInfo = metaInfo;
    }

    /** Records that restored list values were kept whole because they could not be read. */
    public void keptRestoredListsWhole(Exception cause) {
        if (unreadRestoredLists == null) {
            unreadRestoredLists = cause;
        }
    }

    /** Why restored list values were kept whole, or null when every one was read. */
    @Nullable
    public Exception unreadRestoredLists() {
        return unreadRestoredLists;
    }
}
