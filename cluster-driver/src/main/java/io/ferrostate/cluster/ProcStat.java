package io.ferrostate.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/** What Linux's {@code /proc} says of a process: its CPU time and resident memory. */
public final class ProcStat {
    private ProcStat() {}

    /** CPU seconds of a process from /proc/PID/stat (utime + stime); -1 when it is gone. */
    public static double cpuSeconds(long pid) {
        try {
            String stat =
                    new String(
                            Files.readAllBytes(Paths.get("/proc/" + pid + "/stat")),
                            StandardCharsets.US_ASCII);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // Fields after the command: state is f[0]; utime is field 14 of the file, f[11].
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Resident memory of a process (VmRSS of /proc/PID/status), in bytes; 0 when it is gone. */
    public static long rssBytes(long pid) {
        try {
            for (String l : Files.readAllLines(Paths.get("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return 0;
    }
}
