package io.ferrostate.flink;

import io.ferrostate.flink.FerroKeyedStateBackend.StateRegistration;
import io.ferrostate.flink.nativ.NativeStore;

import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.runtime.state.ttl.TtlStateFactory;

/** How a state's TTL config maps onto the native store and the state objects' cleanup. */
final class FerroTtlSettings {

    private FerroTtlSettings() {}

    /** Flink's default incremental strategy, which background cleanup implies. */
    private static final StateTtlConfig.IncrementalCleanupStrategy DEFAULT_INCREMENTAL =
            StateTtlConfig.newBuilder(java.time.Duration.ofMillis(1))
                    .build()
                    .getCleanupStrategies()
                    .getIncrementalCleanupStrategy();

    /**
     * True when the TTL config asks for incremental cleanup itself, not only through the background
     * cleanup that implies Flink's default incremental strategy.
     */
    static boolean explicitIncrementalCleanup(StateTtlConfig ttl) {
        if (!ttl.isEnabled()) {
            return false;
        }
        StateTtlConfig.IncrementalCleanupStrategy s =
                ttl.getCleanupStrategies().getIncrementalCleanupStrategy();
        return s != null && s != DEFAULT_INCREMENTAL;
    }

    /**
     * Configures the native TTL compaction filter as Flink's RocksDB backend configures its own.
     */
    static <N, SV> void configureCompaction(
            NativeStore store,
            StateDescriptor<?, SV> stateDesc,
            StateRegistration<N, SV> registration) {
        StateTtlConfig ttl = stateDesc.getTtlConfig();
        boolean ttlSerializer =
                TtlStateFactory.TtlSerializer.isTtlStateSerializer(
                        registration.metaInfo.getStateSerializer());
        if (ttl.isEnabled()
                && ttl.getCleanupStrategies().inRocksdbCompactFilter()
                && ttlSerializer) {
            StateTtlConfig.RocksdbCompactFilterCleanupStrategy strategy =
                    ttl.getCleanupStrategies().getRocksdbCompactFilterCleanupStrategy();
            long queryAfter = strategy == null ? 1000 : strategy.getQueryTimeAfterNumEntries();
            int layout =
                    stateDesc instanceof ListStateDescriptor
                            ? NativeStore.TTL_LIST
                            : stateDesc instanceof MapStateDescriptor
                                    ? NativeStore.TTL_MAP
                                    : NativeStore.TTL_VALUE;
            store.setTtl(
                    registration.stateId,
                    ttl.getTimeToLive().toMillis(),
                    layout,
                    (int) Math.min(Integer.MAX_VALUE, Math.max(1, queryAfter)));
        } else {
            store.setTtl(registration.stateId, -1, NativeStore.TTL_VALUE, 1);
        }
    }
}
