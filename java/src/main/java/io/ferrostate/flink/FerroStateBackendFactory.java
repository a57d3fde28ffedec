package io.ferrostate.flink;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.StateBackendFactory;

/**
 * Creates {@link FerroStateBackend} from the configuration: set {@code state.backend.type} (or the
 * older {@code state.backend}) to {@code io.ferrostate.flink.FerroStateBackendFactory}.
 */
@PublicEvolving
public class FerroStateBackendFactory implements StateBackendFactory<FerroStateBackend> {

    @Override
    public FerroStateBackend createFromConfig(ReadableConfig config, ClassLoader classLoader) {
        return new FerroStateBackend().configure(config, classLoader);
    }
}
