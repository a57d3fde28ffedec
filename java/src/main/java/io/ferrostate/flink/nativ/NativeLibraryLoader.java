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
 * <p>The library is packed under {@code native/<os>-<arch>/}. A jar in Flink's {@code lib/} is
 * loaded once, but a jar inside a job is loaded again by each job's class loader, and the JVM
 * refuses to load one library path into two live class loaders. So each class loader loads one of
 * numbered copies in {@code <java.io.tmpdir>/ferrostate-native-<user>/}, the first that no live
 * class loader holds; a copy whose class loader was collected is reused (see {@link
 * #loadReusableCopy}). Without a private cache directory it falls back to a file of its own,
 * deleted once mapped. The system property {@code ferrostate.native.library} points at a library
 * file to use instead.
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
        byte[] library;
        try (InputStream in = NativeLibraryLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException(
                        "the jar has no "
                                + resource
                                + "; ferrostate is built for linux-x86_64 only so far");
            }
            library = in.readAllBytes();
        }
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"));
        Files.createDirectories(dir);
        Path cache = privateCacheDir(dir);
        if (cache != null) {
            String loaded = loadReusableCopy(cache, library);
            if (loaded != null) {
                return resource + " (copy " + loaded + ")";
            }
        }
        // No usable cache directory: a copy of this load's own, deleted once mapped.
        Path file = Files.createTempFile(dir, "libferrostate_jni-", ".so");
        File f = file.toFile();
        f.deleteOnExit();
        Files.write(file, library);
        System.load(file.toAbsolutePath().toString());
        // The mapping stays valid after the file is gone.
        Files.deleteIfExists(file);
        return resource + " (extracted to " + file + ")";
    }

    /** Copies per library version at most: as many class loaders may hold it at once. */
    private static final int MAX_COPIES = 64;

    /**
     * Loads the library from one of the numbered copies {@code <cache>/libferrostate_jni-<sha
     * prefix>-<n>.so}, the first one no live class loader of this JVM has loaded; returns its path,
     * or null if all are taken.
     *
     * <p>Why numbered, reused copies instead of a fresh file per load: the library is linked with
     * {@code -z nodelete} (RocksDB's background threads outlive a class loader), so every copy a
     * process ever loads stays mapped, with its own RocksDB thread pools. A fresh file per load
     * would add one mapped copy per job that carries ferrostate in its jar, for the life of the
     * TaskManager. The JVM lets a path be loaded by one live class loader at a time and frees the
     * path once that class loader is collected; loading the same path again then gets the copy that
     * is still mapped (the dynamic linker matches it by name), so a process maps as many copies as
     * class loaders held the library at the same time.
     */
    private static String loadReusableCopy(Path cache, byte[] library) throws IOException {
        String version = sha256Prefix(library);
        for (int n = 0; n < MAX_COPIES; n++) {
            Path file = cache.resolve("libferrostate_jni-" + version + "-" + n + ".so");
            if (!Files.isRegularFile(file)) {
                Path tmp = Files.createTempFile(cache, "libferrostate_jni-", ".tmp");
                try {
                    Files.write(tmp, library);
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    // Another process or class loader wrote it first.
                    if (!Files.isRegularFile(file)) {
                        throw e;
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
            // Load only what is byte for byte the library of this jar.
            if (!java.util.Arrays.equals(Files.readAllBytes(file), library)) {
                LOG.warn("Ignoring {}: it differs from the library in the jar.", file);
                continue;
            }
            try {
                System.load(file.toAbsolutePath().toString());
                return file.toString();
            } catch (UnsatisfiedLinkError e) {
                String m = String.valueOf(e.getMessage());
                if (m.contains("already loaded in another classloader")) {
                    continue; // held by a live class loader: try the next copy
                }
                throw e;
            }
        }
        return null;
    }

    /**
     * {@code <tmp>/ferrostate-native-<user>}, created owner-only; null if it exists but is not a
     * directory of this user that only this user can write (a library loaded from it must be ours).
     */
    private static Path privateCacheDir(Path tmp) {
        try {
            String user =
                    System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
            Path dir = tmp.resolve("ferrostate-native-" + user);
            java.util.Set<java.nio.file.attribute.PosixFilePermission> ownerOnly =
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------");
            if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Files.createDirectory(
                            dir,
                            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                    ownerOnly));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    // created concurrently
                }
            }
            if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    || !Files.getOwner(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            .getName()
                            .equals(System.getProperty("user.name"))
                    || !Files.getPosixFilePermissions(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                            .equals(ownerOnly)) {
                LOG.warn(
                        "Not reusing native library copies in {}: not a private directory of this user.",
                        dir);
                return null;
            }
            return dir;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            LOG.warn("Not reusing native library copies: {}", e.toString());
            return null;
        }
    }

    private static String sha256Prefix(byte[] bytes) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                b.append(String.format("%02x", d[i]));
            }
            return b.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
