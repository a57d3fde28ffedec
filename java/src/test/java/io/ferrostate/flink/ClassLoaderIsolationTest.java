package io.ferrostate.flink;

import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.nio.file.Paths;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same ferrostate classes loaded by two class loaders in one JVM (as with a jar inside two
 * jobs): each loads its own copy of the native library and both backends work side by side.
 */
class ClassLoaderIsolationTest {

    /** Loads ferrostate's classes (and its native library resource) itself, the rest from the parent. */
    private static final class ChildFirst extends URLClassLoader {
        ChildFirst(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("io.ferrostate.flink.")) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        @Override
        public InputStream getResourceAsStream(String name) {
            URL url = findResource(name.startsWith("/") ? name.substring(1) : name);
            try {
                return url != null ? url.openStream() : super.getResourceAsStream(name);
            } catch (IOException e) {
                return null;
            }
        }
    }

    private static URL classesDir() throws Exception {
        Path p =
                Paths.get(
                        FerroStateBackend.class
                                .getProtectionDomain()
                                .getCodeSource()
                                .getLocation()
                                .toURI());
        return p.toUri().toURL();
    }

    @Test
    void twoClassLoadersEachLoadTheLibraryAndUseTheBackend() throws Exception {
        URL classes = classesDir();
        try (ChildFirst a = new ChildFirst(new URL[] {classes}, getClass().getClassLoader());
                ChildFirst b = new ChildFirst(new URL[] {classes}, getClass().getClassLoader())) {
            long idA = useBackend(a, 1);
            long idB = useBackend(b, 2);
            assertThat(idA).isNotEqualTo(idB);
            assertThat(a.loadClass(FerroStateBackend.class.getName()))
                    .isNotSameAs(b.loadClass(FerroStateBackend.class.getName()));
            // Both copies keep working after the other was used.
            assertThat(useBackend(a, 3)).isEqualTo(idA);
        }
    }

    @SuppressWarnings("unchecked")
    private static long useBackend(ClassLoader loader, long value) throws Exception {
        Class<?> loaderClass = loader.loadClass("io.ferrostate.flink.nativ.NativeLibraryLoader");
        loaderClass.getMethod("ensureLoaded").invoke(null);
        long identity =
                (long) loader.loadClass("io.ferrostate.flink.nativ.NativeLibrary").getMethod("identity").invoke(null);
        StateBackend backend =
                (StateBackend) loader.loadClass(FerroStateBackend.class.getName())
                        .getConstructor(boolean.class)
                        .newInstance(false);
        MockEnvironment env = BackendTestUtils.env();
        AbstractKeyedStateBackend<Integer> keyed =
                (AbstractKeyedStateBackend<Integer>)
                        (Object) BackendTestUtils.createRaw(env, backend, IntSerializer.INSTANCE, new KeyGroupRange(0, 127));
        try {
            org.apache.flink.api.common.state.ValueState<Long> state =
                    keyed.getPartitionedState(
                            VoidNamespace.INSTANCE,
                            VoidNamespaceSerializer.INSTANCE,
                            new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
            keyed.setCurrentKey(42);
            state.update(value);
            assertThat(state.value()).isEqualTo(value);
            assertThat(keyed.getClass().getClassLoader()).isSameAs(loader);
        } finally {
            keyed.dispose();
            env.close();
        }
        return identity;
    }
}
