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
import java.lang.ref.WeakReference;
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

    /**
     * Loads ferrostate's classes (and its native library resource) itself, the rest from the
     * parent.
     */
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

    /**
     * A job's class loader that used ferrostate must be collectable once it is gone (nothing of
     * ferrostate, e.g. a JNI global reference to one of its classes, may pin it), and the library
     * copy it loaded is loaded again by a later class loader instead of a new copy: the library
     * stays mapped after its class loader is gone ({@code -z nodelete}), so a fresh copy per class
     * loader would grow a TaskManager by one mapped library per job submission.
     */
    @Test
    void aCollectedClassLoadersLibraryCopyIsLoadedAgainByTheNextOne() throws Exception {
        URL classes = classesDir();
        WeakReference<ClassLoader> first = useAndDrop(classes);
        awaitCollected(first);
        int mapped = mappedCopies();
        // The JVM unloads a collected class loader's libraries on its cleaner thread, shortly
        // after the GC: until then a new class loader takes another copy. Each attempt that did
        // frees its copy again, so a later attempt must find a copy to load again.
        boolean reused = false;
        for (int attempt = 0; attempt < 5 && !reused; attempt++) {
            Thread.sleep(500);
            WeakReference<ClassLoader> next = useAndDrop(classes);
            reused = mappedCopies() == mapped;
            mapped = mappedCopies();
            awaitCollected(next);
        }
        assertThat(reused)
                .as("a class loader loaded an already mapped copy of the library")
                .isTrue();
    }

    private static WeakReference<ClassLoader> useAndDrop(URL classes) throws Exception {
        ChildFirst loader =
                new ChildFirst(
                        new URL[] {classes}, ClassLoaderIsolationTest.class.getClassLoader());
        useBackend(loader, 7);
        loader.close();
        return new WeakReference<>(loader);
    }

    private static void awaitCollected(WeakReference<ClassLoader> ref) throws InterruptedException {
        for (int i = 0; i < 200 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(50);
        }
        assertThat(ref.get()).as("the class loader that used ferrostate was collected").isNull();
    }

    /** Distinct ferrostate library files mapped into this process. */
    private static int mappedCopies() throws IOException {
        java.util.Set<String> files = new java.util.HashSet<>();
        for (String line : java.nio.file.Files.readAllLines(Paths.get("/proc/self/maps"))) {
            int i = line.indexOf('/');
            if (i >= 0 && line.contains("libferrostate_jni")) {
                files.add(line.substring(i));
            }
        }
        return files.size();
    }

    @SuppressWarnings("unchecked")
    private static long useBackend(ClassLoader loader, long value) throws Exception {
        Class<?> loaderClass = loader.loadClass("io.ferrostate.flink.nativ.NativeLibraryLoader");
        loaderClass.getMethod("ensureLoaded").invoke(null);
        long identity =
                (long)
                        loader.loadClass("io.ferrostate.flink.nativ.NativeLibrary")
                                .getMethod("identity")
                                .invoke(null);
        StateBackend backend =
                (StateBackend)
                        loader.loadClass(FerroStateBackend.class.getName())
                                .getConstructor(boolean.class)
                                .newInstance(false);
        MockEnvironment env = BackendTestUtils.env();
        AbstractKeyedStateBackend<Integer> keyed =
                (AbstractKeyedStateBackend<Integer>)
                        (Object)
                                BackendTestUtils.createRaw(
                                        env,
                                        backend,
                                        IntSerializer.INSTANCE,
                                        new KeyGroupRange(0, 127));
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
