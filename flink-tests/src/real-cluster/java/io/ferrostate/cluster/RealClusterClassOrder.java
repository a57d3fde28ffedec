package io.ferrostate.cluster;

import org.junit.jupiter.api.ClassDescriptor;
import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.ClassOrdererContext;

import java.util.Comparator;
import java.util.List;

/**
 * The module's JUnit 5 class order (junit-platform.properties): every other class in the order
 * JUnit found it, then the real-cluster classes, the ones sharing {@link FerroCluster} first and
 * {@code RealClusterClassLoaderITCase} and {@code RealClusterMemoryITCase} (their own clusters)
 * last. Surefire runs all classes in one JUnit launch, and the shared cluster is stopped only when
 * JUnit closes its root context (after the last class) or when the class-loader test stops it
 * first: with this order its three JVMs are never idle while other tests run, and two clusters
 * never run at once.
 */
public final class RealClusterClassOrder implements ClassOrderer {

    /** By name: flink-tests-2.3 shares this class but not every test class named here. */
    private static final List<String> ORDER =
            List.of(
                    "io.ferrostate.cluster.RealClusterSmokeITCase",
                    "io.ferrostate.cluster.RealClusterSavepointITCase",
                    "io.ferrostate.cluster.RealClusterFaultsITCase",
                    "io.ferrostate.cluster.RealClusterSqlITCase",
                    "io.ferrostate.cluster.RealClusterAsyncSqlITCase",
                    "io.ferrostate.cluster.RealClusterClassLoaderITCase",
                    "io.ferrostate.cluster.RealClusterMemoryITCase");

    @Override
    public void orderClasses(ClassOrdererContext context) {
        // List.sort is stable: the other classes keep their order.
        context.getClassDescriptors()
                .sort(Comparator.comparingInt((ClassDescriptor d) -> rank(d.getTestClass())));
    }

    private static int rank(Class<?> c) {
        int i = ORDER.indexOf(c.getName());
        return i < 0 ? -1 : i;
    }
}
