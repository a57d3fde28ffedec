package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.state.api.SavepointReaderKeyedStateITCase;

/**
 * Flink's own State Processor API reader test ({@code flink-state-processor-api} test-jar), run
 * against ferrostate as Flink runs it against its HashMap and EmbeddedRocksDB backends.
 */
public class FerroReaderKeyedStateITCase
        extends SavepointReaderKeyedStateITCase<FerroStateBackend> {
    @Override
    protected FerroStateBackend getStateBackend() {
        return new FerroStateBackend();
    }
}
