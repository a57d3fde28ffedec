package io.ferrostate.sql;

import io.ferrostate.flink.FerroStateBackendFactory;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;

/** The backends SQL jobs run on here, chosen by configuration only, as a user chooses them. */
enum SqlBackend {
    HASHMAP("hashmap", false),
    ROCKSDB("rocksdb", true),
    FERROSTATE(FerroStateBackendFactory.class.getName(), true),
    FERROSTATE_FULL(FerroStateBackendFactory.class.getName(), false);

    private final String type;
    private final boolean incremental;

    SqlBackend(String type, boolean incremental) {
        this.type = type;
        this.incremental = incremental;
    }

    /** Adds {@code state.backend.type} and incremental checkpoints on or off to {@code conf}. */
    Configuration configure(Configuration conf) {
        conf.set(StateBackendOptions.STATE_BACKEND, type);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, incremental);
        return conf;
    }
}
