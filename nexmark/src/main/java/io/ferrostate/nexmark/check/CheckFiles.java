package io.ferrostate.nexmark.check;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Adds up the {@code part-<subtask>-of-<parallelism>} files a {@link CheckSink} wrote into one
 * {@link Check}.
 */
public final class CheckFiles {
    private CheckFiles() {}

    /**
     * The check of a finished run.
     *
     * @throws IOException when a part is missing, unreadable or of another mode
     */
    public static Check read(Path dir) throws IOException {
        List<Path> parts;
        try (Stream<Path> files = Files.list(dir)) {
            parts =
                    files.filter(p -> p.getFileName().toString().startsWith("part-"))
                            .sorted()
                            .collect(Collectors.toList());
        }
        if (parts.isEmpty()) {
            throw new IOException("No check parts in " + dir + ": the sink did not finish");
        }
        for (Path p : parts) {
            String[] f = p.getFileName().toString().split("-");
            if (f.length != 4 || !f[2].equals("of") || Integer.parseInt(f[3]) != parts.size()) {
                throw new IOException("Check parts in " + dir + " do not make one run: " + parts);
            }
        }
        Check total = null;
        for (Path p : parts) {
            Check c = Check.parse(new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
            if (total == null) {
                total = c;
            } else {
                total.merge(c);
            }
        }
        return total;
    }
}
