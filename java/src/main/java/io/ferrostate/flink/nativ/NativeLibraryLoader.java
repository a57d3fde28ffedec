package io.ferrostate.flink.nativ;

import org.apache.flink.annotation.Internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
        Packed packed = new Packed("/native/" + platform() + "/" + LIBRARY_FILE);
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"));
        Files.createDirectories(dir);
        Path cache = privateCacheDir(dir);
        if (cache != null) {
            String loaded = loadReusableCopy(cache, packed);
            if (loaded != null) {
                return packed.resource + " (copy " + loaded + ")";
            }
        }
        // No usable cache directory: a copy of this load's own, deleted once mapped.
        Path file = Files.createTempFile(dir, "libferrostate_jni-", ".so");
        File f = file.toFile();
        f.deleteOnExit();
        Files.write(file, packed.bytes());
        System.load(file.toAbsolutePath().toString());
        // The mapping stays valid after the file is gone.
        Files.deleteIfExists(file);
        return packed.resource + " (extracted to " + file + ")";
    }

    /**
     * The library packed in the jar: its bytes, inflated only when a copy must be written, and its
     * SHA-256 and size, from the {@code .sha256} file the build writes beside it (computed from the
     * bytes when that file is missing).
     */
    static final class Packed {
        final String resource;
        private final String sha256;
        private final long size;
        private byte[] bytes;

        Packed(String resource) throws IOException {
            this.resource = resource;
            String described = null;
            try (InputStream in =
                    NativeLibraryLoader.class.getResourceAsStream(resource + ".sha256")) {
                if (in != null) {
                    described = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
                }
            }
            String[] parts = described == null ? new String[0] : described.split(" ");
            if (parts.length == 2 && parts[0].matches("[0-9a-f]{64}")) {
                sha256 = parts[0];
                size = Long.parseLong(parts[1]);
            } else {
                if (described != null) {
                    LOG.warn("Ignoring {}.sha256: not '<sha-256> <size>': {}", resource, described);
                }
                sha256 = sha256Hex(bytes());
                size = bytes.length;
            }
        }

        /** The library's bytes (read from the jar on first use). */
        byte[] bytes() throws IOException {
            if (bytes == null) {
                try (InputStream in = NativeLibraryLoader.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        throw new IOException(
                                "the jar has no "
                                        + resource
                                        + "; ferrostate is built for linux-x86_64 only so far");
                    }
                    bytes = in.readAllBytes();
                }
            }
            return bytes;
        }

        /** The SHA-256 of the library, in hex. */
        String sha256() {
            return sha256;
        }

        /** The library's size in bytes. */
        long size() {
            return size;
        }
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
    private static String loadReusableCopy(Path cache, Packed library) throws IOException {
        String version = library.sha256().substring(0, 16);
        for (int n = 0; n < MAX_COPIES; n++) {
            Path file = cache.resolve("libferrostate_jni-" + version + "-" + n + ".so");
            if (!Files.isRegularFile(file)) {
                Path tmp = Files.createTempFile(cache, "libferrostate_jni-", ".tmp");
                try {
                    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                        ByteBuffer b = ByteBuffer.wrap(library.bytes());
                        while (b.hasRemaining()) {
                            out.write(b);
                        }
                        // On disk before it has its name: a crash leaves no short copy behind.
                        out.force(true);
                    }
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
            // A copy is recognized by its name and size, not by reading it: the directory is
            // this user's alone, and a copy gets its name (the SHA-256 of its content) only once
            // written whole. So a TaskManager start does not inflate or hash the library again.
            if (Files.size(file) != library.size()) {
                LOG.warn("Ignoring {}: its size differs from the library's in the jar.", file);
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

    static String sha256Hex(byte[] bytes) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
            StringBuilder b = new StringBuilder();
            for (byte x : d) {
                b.append(String.format("%02x", x));
            }
            return b.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
