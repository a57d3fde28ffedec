package io.ferrostate.flink.itcases;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A job on a local MiniCluster whose configuration names ferrostate only through {@code
 * state.backend.type}: it checkpoints every 100 ms, fails on purpose after a checkpoint completed,
 * restarts from that checkpoint, and must end with every key's state exactly as if every event had
 * been processed once.
 */
class CheckpointRecoveryITCase {
    private static final long EVENTS = 60_000;
    private static final int KEYS = 500;

    @BeforeEach
    void reset() {
        AllStateKindsJob.RESULTS.clear();
        AllStateKindsJob.FAILURES.set(0);
        AllStateKindsJob.STATE_CLASSES.clear();
    }

    private static Configuration ferrostateByConfigurationOnly() {
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", "io.ferrostate.flink.FerroStateBackendFactory");
        conf.setString("execution.checkpointing.interval", "100 ms");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        return conf;
    }

    @Test
    void resumesFromACheckpointWithEveryKeysStateIntact() throws Exception {
        AllStateKindsJob.failAt = EVENTS * 2 / 3;
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(ferrostateByConfigurationOnly());
        env.setParallelism(2);
        AllStateKindsJob.build(env, EVENTS, KEYS, 50);
        JobExecutionResult result = env.execute("ferrostate checkpoint recovery");

        assertThat(AllStateKindsJob.STATE_CLASSES)
                .containsExactly("io.ferrostate.flink.FerroValueState");
        assertThat(AllStateKindsJob.FAILURES.get())
                .as("the injected failure happened")
                .isEqualTo(1);
        assertThat(result.getNetRuntime()).isPositive();
        assertThat(AllStateKindsJob.RESULTS).hasSize(KEYS);
        for (long key = 0; key < KEYS; key++) {
            assertThat(AllStateKindsJob.RESULTS.get(key))
                    .as("state of key %d", key)
                    .isEqualTo(AllStateKindsJob.expected(key, EVENTS, KEYS));
        }
    }
}
