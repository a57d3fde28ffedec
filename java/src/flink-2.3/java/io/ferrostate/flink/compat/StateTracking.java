package io.ferrostate.flink.compat;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.metrics.LatencyTrackingStateConfig;
import org.apache.flink.runtime.state.metrics.SizeTrackingStateConfig;

import java.io.Serializable;

/**
 * The state tracking Flink asks a keyed backend to apply: on Flink 2.x latency tracking ({@code
 * state.backend.latency-track.*}) and size tracking ({@code state.backend.size-track.*}).
 */
@Internal
public final class StateTracking implements Serializable {
    private static final long serialVersionUID = 1L;

    private final LatencyTrackingStateConfig.Builder latency;
    private final SizeTrackingStateConfig.Builder size;

    public StateTracking() {
        this(LatencyTrackingStateConfig.newBuilder(), SizeTrackingStateConfig.newBuilder());
    }

    private StateTracking(
            LatencyTrackingStateConfig.Builder latency, SizeTrackingStateConfig.Builder size) {
        this.latency = latency;
        this.size = size;
    }

    /** This tracking with the job's or cluster's settings applied. */
    public StateTracking configure(ReadableConfig config) {
        return new StateTracking(latency.configure(config), size.configure(config));
    }

    /** The configuration for one backend instance, reporting to the operator's metric group. */
    public Configs build(MetricGroup metricGroup) {
        return new Configs(
                latency.setMetricGroup(metricGroup).build(),
                size.setMetricGroup(metricGroup).build());
    }

    /** What {@link KeyedBackendBase} and {@link KeyedBackendBuilderBase} hand on to Flink. */
    public static final class Configs {
        final LatencyTrackingStateConfig latency;
        final SizeTrackingStateConfig size;

        Configs(LatencyTrackingStateConfig latency, SizeTrackingStateConfig size) {
            this.latency = latency;
            this.size = size;
        }
    }
}
