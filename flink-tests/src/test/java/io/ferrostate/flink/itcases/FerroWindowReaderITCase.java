package io.ferrostate.flink.itcases;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.state.api.SavepointWindowReaderITCase;

/**
 * Flink's own State Processor API window reader tests ({@code flink-state-processor-api} test-jar),
 * run against ferrostate: window contents, evictors and trigger state of every window function
 * kind, read back from a ferrostate savepoint.
 */
public class FerroWindowReaderITCase extends SavepointWindowReaderITCase<FerroStateBackend> {
    @Override
    protected FerroStateBackend getStateBackend() {
        return new FerroStateBackend();
    }
}
