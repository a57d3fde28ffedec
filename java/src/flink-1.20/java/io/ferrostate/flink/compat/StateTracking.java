package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.metrics.LatencyTrackingStateConfig;

import java.io.Serializable;

/**
 * The state tracking Flink asks a keyed backend to apply, as configured by {@code
 * state.backend.latency-track.*}. Flink 1.20 has latency tracking only; Flink 2.x adds size
 * tracking (the flink-2.3 source tree has that version of this class).
 */
@Internal
public final class StateTracking implements Serializable {
    private static final long serialVersionUID = 1L;

    private final LatencyTrackingStateConfig.Builder latency;

    public StateTracking() {
        this(LatencyTrackingStateConfig.newBuilder());
    }

    private StateTracking(LatencyTrackingStateConfig.Builder latency) {
        this.latency = latency;
    }

    /** This tracking with the job's or cluster's settings applied. */
    public StateTracking configure(ReadableConfig config) {
        return new StateTracking(latency.configure(config));
    }

    /** The configuration for one backend instance, reporting to the operator's metric group. */
    public Configs build(MetricGroup metricGroup) {
        return new Configs(latency.setMetricGroup(metricGroup).build());
    }

    /** What {@link KeyedBackendBase} and {@link KeyedBackendBuilderBase} hand on to Flink. */
    public static final class Configs {
        final LatencyTrackingStateConfig latency;

        Configs(LatencyTrackingStateConfig latency) {
            this.latency = latency;
        }
    }
}
