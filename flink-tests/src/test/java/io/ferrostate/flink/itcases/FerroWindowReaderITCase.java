package io.ferrostate.flink.itcases;

import org.apache.flink.state.api.SavepointWindowReaderITCase;

import io.ferrostate.flink.FerroStateBackend;

/**
 * Flink's own State Processor API window reader tests ({@code flink-state-processor-api}
 * test-jar), run against ferrostate: window contents, evictors and trigger state of every window
 * function kind, read back from a ferrostate savepoint.
 */
public class FerroWindowReaderITCase extends SavepointWindowReaderITCase<FerroStateBackend> {
    @Override
    protected FerroStateBackend getStateBackend() {
        return new FerroStateBackend();
    }
}
