package io.ferrostate.flink.meta;

import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.StateDescriptor;

/** How the native store lays out the values of each kind of Flink state. */
@Internal
public final class StateKinds {

    private StateKinds() {}

    /** The native store's kind ({@code NativeStore.KIND_*}) of a state of this type. */
    public static int kindOf(StateDescriptor.Type type) {
        switch (type) {
            case LIST:
                return NativeStore.KIND_LIST;
            case MAP:
                return NativeStore.KIND_MAP;
            default:
                return NativeStore.KIND_VALUE;
        }
    }
}
