package io.ferrostate.bench;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A metric group that keeps the gauges registered under it (and its subgroups) and reads every one
 * of them on its own thread every {@code periodMs}, as a metric reporter does (Flink's reporters
 * and the web UI's fetcher read every 10 s by default; the benchmark reads far more often, so that
 * any cost the reads put on the task thread shows).
 */
final class PollingMetricGroup extends UnregisteredMetricsGroup implements AutoCloseable {
    private final List<Gauge<?>> gauges = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService reader;
    private volatile long reads;

    PollingMetricGroup(long periodMs) {
        reader =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "bench-metric-reader");
                            t.setDaemon(true);
                            return t;
                        });
        reader.scheduleAtFixedRate(this::readAll, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    private void readAll() {
        for (Gauge<?> g : gauges) {
            g.getValue();
        }
        reads++;
    }

    @Override
    public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
        gauges.add(gauge);
        return gauge;
    }

    @Override
    public MetricGroup addGroup(String name) {
        return this;
    }

    @Override
    public MetricGroup addGroup(String key, String value) {
        return this;
    }

    /** Gauges registered so far. */
    int gauges() {
        return gauges.size();
    }

    /**
     * Stops the reader. A group whose gauges were never read fails: the trial it belonged to
     * measured ferrostate without the reads it stands for (a trial lasts seconds; reads come every
     * {@code periodMs}).
     */
    @Override
    public void close() throws InterruptedException {
        reader.shutdownNow();
        reader.awaitTermination(10, TimeUnit.SECONDS);
        if (!gauges.isEmpty() && reads == 0) {
            throw new IllegalStateException(
                    "The metrics-on trial ended before its "
                            + gauges.size()
                            + " gauges were read once: it measured no metric reads.");
        }
    }
}
