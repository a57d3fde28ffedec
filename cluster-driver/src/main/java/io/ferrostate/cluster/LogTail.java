package io.ferrostate.cluster;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the lines appended to a log file since the last call (whole lines only). */
public final class LogTail implements AutoCloseable {
    private final Path file;
    private final RandomAccessFile in;
    private long offset;
    private final StringBuilder partial = new StringBuilder();
    private final byte[] buffer = new byte[64 * 1024];

    /** Starts at the current end of {@code file}. */
    public LogTail(Path file) {
        this.file = file;
        try {
            this.in = new RandomAccessFile(file.toFile(), "r");
            this.offset = in.length();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path file() {
        return file;
    }

    /** Complete lines appended since the last call. */
    public List<String> newLines() {
        List<String> lines = new ArrayList<>();
        try {
            long length = in.length();
            while (offset < length) {
                in.seek(offset);
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, length - offset));
                if (n <= 0) {
                    break;
                }
                offset += n;
                partial.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int start = 0;
        int nl;
        while ((nl = partial.indexOf("\n", start)) >= 0) {
            lines.add(partial.substring(start, nl));
            start = nl + 1;
        }
        partial.delete(0, start);
        return lines;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
