package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;

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

/** Flink's {@link StateBackendMigrationTestBase} (32 tests) against ferrostate; nothing skipped. */
@ExtendWith(ParameterizedTestExtension.class)
public class FerroStateBackendMigrationTest
        extends StateBackendMigrationTestBase<FerroStateBackend> {

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
                                TempDirUtils.newFolder(tempFolder).toURI().toString()));
    }

    @Override
    protected FerroStateBackend getStateBackend() {
        return new FerroStateBackend(incremental);
    }

    @Override
    protected CheckpointStorage getCheckpointStorage() throws Exception {
        return storageSupplier.get();
    }
}
