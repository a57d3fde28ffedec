package io.ferrostate.cluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Samples the resident memory of some processes (TaskManagers) on its own thread every {@code
 * periodMs}, and keeps each one's peak and the number of sampling rounds.
 */
public final class RssSampler {
    private final List<ProcessHandle> processes;
    private final long periodMs;
    private final Map<Long, Long> peaks = new ConcurrentHashMap<>();
    private volatile boolean running;
    private volatile long rounds;
    private Thread thread;

    public RssSampler(Collection<ProcessHandle> processes, long periodMs) {
        this.processes = new ArrayList<>(processes);
        this.periodMs = periodMs;
    }

    public void start() {
        running = true;
        thread =
                new Thread(
                        () -> {
                            while (running) {
                                sample();
                                try {
                                    Thread.sleep(periodMs);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        },
                        "rss-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        for (ProcessHandle p : processes) {
            peaks.merge(p.pid(), ProcStat.rssBytes(p.pid()), Math::max);
        }
        rounds++;
    }

    /** Stops sampling after one last round. */
    public void stop() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join();
        sample();
    }

    /** The largest peak of one process. */
    public long peak() {
        return peaks.values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /** Sampling rounds so far. */
    public long rounds() {
        return rounds;
    }
}
