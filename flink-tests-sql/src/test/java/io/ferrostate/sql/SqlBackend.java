package io.ferrostate.sql;

import io.ferrostate.flink.FerroStateBackendFactory;
import io.ferrostate.flink.FerroStateOptions;
import io.ferrostate.flink.FerroStateOptions.TimerServiceFactory;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;

/** The backends SQL jobs run on here, chosen by configuration only, as a user chooses them. */
enum SqlBackend {
    HASHMAP("hashmap", false, null),
    ROCKSDB("rocksdb", true, null),
    /** ferrostate as configured by default: incremental checkpoints, timers in the store. */
    FERROSTATE(FerroStateBackendFactory.class.getName(), true, TimerServiceFactory.NATIVE),
    FERROSTATE_FULL(FerroStateBackendFactory.class.getName(), false, TimerServiceFactory.NATIVE),
    /** ferrostate with its timers in Flink's heap queues. */
    FERROSTATE_HEAP_TIMERS(
            FerroStateBackendFactory.class.getName(), true, TimerServiceFactory.HEAP);

    private final String type;
    private final boolean incremental;
    private final TimerServiceFactory timers;

    SqlBackend(String type, boolean incremental, TimerServiceFactory timers) {
        this.type = type;
        this.incremental = incremental;
        this.timers = timers;
    }

    /**
     * Adds {@code state.backend.type}, incremental checkpoints on or off and, for ferrostate, where
     * its timers live to {@code conf}.
     */
    Configuration configure(Configuration conf) {
        conf.set(StateBackendOptions.STATE_BACKEND, type);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, incremental);
        if (timers != null) {
            conf.set(FerroStateOptions.TIMER_SERVICE_FACTORY, timers);
        }
        return conf;
    }
}
