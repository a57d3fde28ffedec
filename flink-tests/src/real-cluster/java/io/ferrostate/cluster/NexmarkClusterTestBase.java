package io.ferrostate.cluster;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/** The SQL test classes of both Flink lines: Nexmark runs on the shared ferrostate cluster. */
@ExtendWith(FerroCluster.Resolver.class)
abstract class NexmarkClusterTestBase {

    static NexmarkKillRuns runs;

    @BeforeAll
    static void cluster(FerroCluster shared) {
        runs = new NexmarkKillRuns(shared);
    }

    @BeforeEach
    void twoTaskManagers(FerroCluster shared) {
        shared.cluster().ensureTaskManagers(FerroCluster.TASK_MANAGERS);
    }
}
