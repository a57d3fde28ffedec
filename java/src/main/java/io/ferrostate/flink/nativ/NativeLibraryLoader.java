package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads ferrostate's native library from the jar.
 *
 * <p>The library is packed under {@code native/<os>-<arch>/}. Each class loader that loads
 * these classes extracts it to a file of its own before {@link System#load}: a jar in Flink's
 * {@code lib/} is loaded once, but a jar inside a job is loaded again by each job's class
 * loader, and the JVM refuses to load one library path into two class loaders. The system
 * property {@code ferrostate.native.library} points at a library file to use instead.
 */
@Internal
public final class NativeLibraryLoader {
    private static final Logger LOG = LoggerFactory.getLogger(NativeLibraryLoader.class);

    /** System property naming a library file to load instead of the packed one. */
    public static final String LIBRARY_PATH_PROPERTY = "ferrostate.native.library";

    private static final String LIBRARY_FILE = "libferrostate_jni.so";

    private static volatile boolean loaded;
    private static String loadedFrom;

    private NativeLibraryLoader() {}

    /** Loads the library once for this class loader. */
    public static void ensureLoaded() {
        if (loaded) {
            return;
        }
        synchronized (NativeLibraryLoader.class) {
            if (loaded) {
                return;
            }
            String override = System.getProperty(LIBRARY_PATH_PROPERTY);
            try {
                if (override != null && !override.isEmpty()) {
                    System.load(Paths.get(override).toAbsolutePath().toString());
                    loadedFrom = override;
                } else {
                    loadedFrom = extractAndLoad();
                }
            } catch (IOException | UnsatisfiedLinkError e) {
                throw new FerroNativeException(
                        "Could not load ferrostate's native library for "
                                + platform()
                                + ": "
                                + e.getMessage(),
                        e);
            }
            loaded = true;
            LOG.info(
                    "Loaded ferrostate native library {} from {} into class loader {}.",
                    NativeLibrary.version(),
                    loadedFrom,
                    NativeLibraryLoader.class.getClassLoader());
        }
    }

    /** Where the library of this class loader came from (null before loading). */
    public static String loadedFrom() {
        return loadedFrom;
    }

    /** The platform folder of the running JVM, e.g. {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osPart = os.contains("linux") ? "linux" : os.replaceAll("[^a-z0-9]", "");
        String archPart;
        switch (arch) {
            case "amd64":
            case "x86_64":
                archPart = "x86_64";
                break;
            case "aarch64":
            case "arm64":
                archPart = "aarch64";
                break;
            default:
                archPart = arch;
        }
        return osPart + "-" + archPart;
    }

    private static String extractAndLoad() throws IOException {
        String resource = "/native/" + platform() + "/" + LIBRARY_FILE;
        try (InputStream in = NativeLibraryLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException(
                        "the jar has no "
                                + resource
                                + "; ferrostate is built for linux-x86_64 only so far");
            }
            Path dir = Paths.get(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(dir);
            Path file = Files.createTempFile(dir, "libferrostate_jni-", ".so");
            File f = file.toFile();
            f.deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
            // The mapping stays valid after the file is gone.
            Files.deleteIfExists(file);
            return resource + " (extracted to " + file + ")";
        }
    }
}
