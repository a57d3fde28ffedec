package org.apache.flink.runtime.state;

import org.apache.flink.runtime.state.storage.JobManagerCheckpointStorage;
import org.apache.flink.util.function.SupplierWithException;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters ferrostate's subclasses of Flink's backend test bases run with: full and
 * incremental checkpoints, each to the JobManager's memory and to files.
 */
public final class FerroTestModes {
    private FerroTestModes() {}

    /** {incremental, storage supplier} for both checkpoint kinds and both storages. */
    public static List<Object[]> incrementalByStorage(
            SupplierWithException<CheckpointStorage, IOException> files) {
        SupplierWithException<CheckpointStorage, IOException> jm = JobManagerCheckpointStorage::new;
        return Arrays.asList(
                new Object[][] {{false, jm}, {false, files}, {true, jm}, {true, files}});
    }
}
