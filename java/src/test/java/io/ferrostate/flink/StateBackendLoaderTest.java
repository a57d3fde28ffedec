package io.ferrostate.flink;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.StateBackendLoader;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Flink's own loader picks ferrostate from configuration alone, by either key. */
class StateBackendLoaderTest {

    private static final String FACTORY = FerroStateBackendFactory.class.getName();

    @Test
    void stateBackendTypeSelectsFerrostate() throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", FACTORY);
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        StateBackend backend =
                StateBackendLoader.loadStateBackendFromConfig(
                        conf, getClass().getClassLoader(), null);
        assertThat(backend).isInstanceOf(FerroStateBackend.class);
        assertThat(((FerroStateBackend) backend).isIncrementalCheckpointsEnabled()).isTrue();
    }

    @Test
    void theOlderStateBackendKeySelectsFerrostate() throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.backend", FACTORY);
        StateBackend backend =
                StateBackendLoader.loadStateBackendFromConfig(
                        conf, getClass().getClassLoader(), null);
        assertThat(backend).isInstanceOf(FerroStateBackend.class);
        assertThat(StateBackendOptions.STATE_BACKEND.key()).isEqualTo("state.backend.type");
    }

    @Test
    void anApplicationBackendIsConfiguredFromTheClusterConfiguration() throws Exception {
        Configuration conf = new Configuration();
        conf.setString(FerroStateOptions.HOT_TIER_RATIO.key(), "0.3");
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        StateBackend backend =
                StateBackendLoader.fromApplicationOrConfigOrDefault(
                        new FerroStateBackend(),
                        new Configuration(),
                        conf,
                        getClass().getClassLoader(),
                        null);
        assertThat(backend).isInstanceOf(FerroStateBackend.class);
        assertThat(((FerroStateBackend) backend).isIncrementalCheckpointsEnabled()).isTrue();
    }
}
