package io.ferrostate.flink.restore;

import io.ferrostate.flink.nativ.FerroCorruptionException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The file names a native checkpoint's state handle gives its files come from checkpoint metadata:
 * a restore writes each only as a plain file in the restore directory, and refuses a name that
 * would lead anywhere else.
 */
class SnapshotFileNameTest {

    @TempDir File dir;

    @Test
    void plainNamesStayInTheRestoreDirectory() throws Exception {
        assertThat(FerroNativeRestoreOperation.fileIn(dir, "000042.sst"))
                .isEqualTo(new File(dir, "000042.sst"));
        assertThat(FerroNativeRestoreOperation.fileIn(dir, "FERROSTATE-MANIFEST").getParentFile())
                .isEqualTo(dir);
    }

    @Test
    void namesThatLeaveTheDirectoryAreRefused() {
        for (String bad :
                new String[] {
                    "", ".", "..", "../000042.sst", "a/b.sst", "/etc/passwd", "..\\x", "x\0.sst"
                }) {
            assertThatThrownBy(() -> FerroNativeRestoreOperation.fileIn(dir, bad))
                    .as("name %s", bad)
                    .isInstanceOf(FerroCorruptionException.class)
                    .hasMessageContaining("not a plain file name");
        }
        assertThatThrownBy(() -> FerroNativeRestoreOperation.fileIn(dir, null))
                .isInstanceOf(FerroCorruptionException.class);
    }
}
