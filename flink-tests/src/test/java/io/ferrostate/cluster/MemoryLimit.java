package io.ferrostate.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * A memory cgroup around one process, as a container runtime would put a TaskManager under a limit:
 * cgroup v2 ({@code memory.max}, swap off) where the machine has its memory controller, else cgroup
 * v1 ({@code memory.limit_in_bytes}, with swap limited the same); none where neither can be made
 * (no permission, no controller), with the reason in {@link #description()}. The cgroup is made
 * inside the process's own, so the limits above it still hold. Closing moves the process back (if
 * it still lives) and removes the cgroup.
 */
final class MemoryLimit implements AutoCloseable {
    private static final Path ROOT = Paths.get("/sys/fs/cgroup");

    private final long pid;
    private final Path dir;
    private final Path home;
    private final boolean v2;
    private final String description;

    private MemoryLimit(long pid, Path dir, Path home, boolean v2, String description) {
        this.pid = pid;
        this.dir = dir;
        this.home = home;
        this.v2 = v2;
        this.description = description;
    }

    /** Puts {@code pid} under a limit of {@code bytes}, or says why it cannot. */
    static MemoryLimit apply(long pid, long bytes, String name) {
        String tag = "ferrostate-" + name + "-" + System.nanoTime() % 1_000_000_000L;
        String why;
        try {
            Path home = ROOT.resolve(strip(cgroupOf(pid, "0::")));
            if (read(ROOT.resolve("cgroup.controllers")).contains("memory")) {
                Path dir = Files.createDirectory(home.resolve(tag));
                try {
                    write(dir.resolve("memory.max"), Long.toString(bytes));
                    write(dir.resolve("memory.swap.max"), "0");
                    write(dir.resolve("cgroup.procs"), Long.toString(pid));
                } catch (IOException e) {
                    Files.deleteIfExists(dir);
                    throw e;
                }
                return new MemoryLimit(
                        pid, dir, home, true, "cgroup v2 memory.max " + (bytes >> 20) + " MiB");
            }
            why = "cgroup v2 has no memory controller here";
        } catch (java.nio.file.NoSuchFileException e) {
            why = "no cgroup v2 hierarchy at " + ROOT + " (no " + e.getFile() + ")";
        } catch (IOException | RuntimeException e) {
            why = "cgroup v2 not usable (" + e + ")";
        }
        try {
            Path memRoot = ROOT.resolve("memory");
            Path home = memRoot.resolve(strip(cgroupOf(pid, ":memory:")));
            Path dir = Files.createDirectory(home.resolve(tag));
            try {
                // Memory the process already holds moves with it (deprecated in newer kernels).
                tryWrite(dir.resolve("memory.move_charge_at_immigrate"), "3");
                write(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
                tryWrite(dir.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
                write(dir.resolve("cgroup.procs"), Long.toString(pid));
            } catch (IOException e) {
                Files.deleteIfExists(dir);
                throw e;
            }
            return new MemoryLimit(
                    pid,
                    dir,
                    home,
                    false,
                    "cgroup v1 memory.limit_in_bytes " + (bytes >> 20) + " MiB (" + why + ")");
        } catch (IOException | RuntimeException e) {
            return new MemoryLimit(
                    pid, null, null, false, "none: " + why + "; no cgroup v1 (" + e + ")");
        }
    }

    /** The cgroup path of {@code pid} in the hierarchy whose /proc line starts with {@code tag}. */
    private static String cgroupOf(long pid, String tag) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/cgroup"))) {
            int at = line.indexOf(tag);
            if (tag.startsWith("0::") ? line.startsWith(tag) : at >= 0) {
                return line.substring(at + tag.length());
            }
        }
        throw new IOException("no '" + tag + "' line in /proc/" + pid + "/cgroup");
    }

    private static String strip(String path) {
        return path.startsWith("/") ? path.substring(1) : path;
    }

    private static String read(Path p) throws IOException {
        return new String(Files.readAllBytes(p), StandardCharsets.US_ASCII);
    }

    private static void write(Path p, String value) throws IOException {
        Files.write(p, value.getBytes(StandardCharsets.US_ASCII));
    }

    private static void tryWrite(Path p, String value) {
        try {
            write(p, value);
        } catch (IOException e) {
            // optional
        }
    }

    /** What limit applies, or why none does. */
    String description() {
        return description;
    }

    /** OOM kills in the cgroup so far; -1 without a cgroup or where the kernel does not say. */
    long oomKills() {
        if (dir == null) {
            return -1;
        }
        try {
            List<String> lines =
                    Files.readAllLines(dir.resolve(v2 ? "memory.events" : "memory.oom_control"));
            for (String l : lines) {
                if (l.startsWith("oom_kill ")) {
                    return Long.parseLong(l.substring("oom_kill ".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // not known
        }
        return -1;
    }

    /** The cgroup's peak memory (page cache included); -1 where not known. */
    long peakUsage() {
        if (dir == null) {
            return -1;
        }
        try {
            return Long.parseLong(
                    read(dir.resolve(v2 ? "memory.peak" : "memory.max_usage_in_bytes")).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (dir == null) {
            return;
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            tryWrite(home.resolve("cgroup.procs"), Long.toString(pid));
        }
        for (int i = 0; i < 50; i++) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException busy) {
                Thread.sleep(100);
            }
        }
        Files.deleteIfExists(dir);
    }
}
