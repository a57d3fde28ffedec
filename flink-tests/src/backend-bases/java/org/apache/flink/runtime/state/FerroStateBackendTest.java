package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.core.fs.Path;
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
 * Flink's {@link StateBackendTestBase} (69 tests) against ferrostate, in Flink's package so that
 * its package-private test methods are visible (nothing is overridden: every base test runs).
 */
@ExtendWith(ParameterizedTestExtension.class)
public class FerroStateBackendTest extends StateBackendTestBase<FerroStateBackend> {

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

    @Override
    protected boolean isSerializerPresenceRequiredOnRestore() {
        return false;
    }

    @Override
    protected boolean supportsAsynchronousSnapshots() {
        return true;
    }

    /** False while timers live in Flink's heap queues (they keep key objects; issue 13). */
    @Override
    protected boolean isSafeToReuseKVState() {
        return false;
    }
}
