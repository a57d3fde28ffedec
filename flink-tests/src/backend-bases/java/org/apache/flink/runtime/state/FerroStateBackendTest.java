package org.apache.flink.runtime.state;

import io.ferrostate.flink.FerroStateBackend;
import io.ferrostate.flink.FerroStateOptions;
import io.ferrostate.flink.FerroStateOptions.TimerServiceFactory;

import org.apache.flink.configuration.Configuration;
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
import java.util.ArrayList;
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

    @Parameter(value = 2)
    public TimerServiceFactory timers;

    /**
     * Both checkpoint kinds on both storages with timers in the store (the default), and both
     * checkpoint kinds on files with heap timers.
     */
    @Parameters(name = "incremental={0}, storage={1}, timers={2}")
    public static List<Object[]> modes() {
        SupplierWithException<CheckpointStorage, IOException> files =
                () ->
                        new FileSystemCheckpointStorage(
                                new Path(TempDirUtils.newFolder(tempFolder).toURI().toString()),
                                0,
                                -1);
        List<Object[]> modes = new ArrayList<>();
        for (Object[] m : FerroTestModes.incrementalByStorage(files)) {
            modes.add(new Object[] {m[0], m[1], TimerServiceFactory.NATIVE});
        }
        modes.add(new Object[] {false, files, TimerServiceFactory.HEAP});
        modes.add(new Object[] {true, files, TimerServiceFactory.HEAP});
        return modes;
    }

    @Override
    protected ConfigurableStateBackend getStateBackend() {
        Configuration conf = new Configuration();
        conf.set(FerroStateOptions.TIMER_SERVICE_FACTORY, timers);
        return new FerroStateBackend(incremental)
                .configure(conf, FerroStateBackendTest.class.getClassLoader());
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

    /** True with timers in the store, false with heap timers (they keep key objects; issue 13). */
    @Override
    protected boolean isSafeToReuseKVState() {
        return timers == TimerServiceFactory.NATIVE;
    }
}
