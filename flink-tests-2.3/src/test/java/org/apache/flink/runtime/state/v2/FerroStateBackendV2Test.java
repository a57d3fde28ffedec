package org.apache.flink.runtime.state.v2;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.CheckpointStorage;
import org.apache.flink.runtime.state.ConfigurableStateBackend;
import org.apache.flink.runtime.state.FerroTestModes;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameter;
import org.apache.flink.testutils.junit.extensions.parameterized.ParameterizedTestExtension;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameters;
import org.apache.flink.testutils.junit.utils.TempDirUtils;
import org.apache.flink.util.function.SupplierWithException;

import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.util.List;

/**
 * Flink 2.3's test base of the asynchronous keyed state API ({@link StateBackendTestV2Base}:
 * snapshots, rescaling up and down, priority queues, TTL through State V2) against ferrostate's
 * asynchronous keyed backend (requests on its state executor thread), in both checkpoint modes and
 * with both checkpoint storages.
 */
@ExtendWith(ParameterizedTestExtension.class)
public class FerroStateBackendV2Test extends StateBackendTestV2Base<FerroStateBackend> {

    @TempDir private static java.nio.file.Path tempFolder;

    @Parameter(value = 0)
    public boolean incremental;

    @Parameter(value = 1)
    public SupplierWithException<CheckpointStorage, IOException> storageSupplier;

    @Parameters(name = "incremental={0}, storage={1}")
    public static List<Object[]> modes() {
        return FerroTestModes.incrementalByStorage(
                () ->
                        new FileSystemCheckpointStorage(
                                new Path(TempDirUtils.newFolder(tempFolder).toURI().toString()),
                                0,
                                -1));
    }

    @Override
    protected ConfigurableStateBackend getStateBackend() {
        return new FerroStateBackend(incremental);
    }

    @Override
    protected CheckpointStorage getCheckpointStorage() throws Exception {
        return storageSupplier.get();
    }

    /** Nothing to reset between the snapshot and the restore: the store lives on local disk. */
    @Override
    protected void restoreJob() {}
}
