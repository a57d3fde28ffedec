package io.ferrostate.bench;

import io.ferrostate.flink.nativ.NativeLibraryLoader;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeStore;

import java.io.File;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The benchmark-only native entry points, the test hooks of {@code NativeHooks} (in the shim's
 * test-jar, with a library built to have them; the released jar has none), bound by name so this
 * module compiles and runs against a backend jar that lacks some of them: a missing class or method
 * gives a null handle, a declared method whose native side is missing fails its probe with {@link
 * UnsatisfiedLinkError}; either way the runner leaves that floor benchmark out and the report says
 * so.
 *
 * <ul>
 *   <li>{@code NativeHooks.noop()}: an empty JNI call.
 *   <li>{@code NativeHooks.registerTouchBuffer(ByteBuffer) -> long}, {@code NativeHooks.touch(long
 *       handle, int length) -> int}, {@code NativeHooks.freeTouchBuffer(long)}: a call that reads
 *       {@code length} bytes of a shared direct buffer and writes 8 bytes back.
 *   <li>{@code NativeHooks.benchGetLoop(NativeStore store, int state, ByteBuffer keys, int
 *       keyLength, int count) -> long}: {@code count} lookups in the store from Rust alone (one JNI
 *       call for all of them).
 * </ul>
 *
 * MethodHandles held in static finals are inlined by the JIT: a call costs what the direct call
 * costs.
 */
final class Natives {
    static final MethodHandle NOOP;
    static final MethodHandle REGISTER_TOUCH_BUFFER;
    static final MethodHandle TOUCH;
    static final MethodHandle FREE_TOUCH_BUFFER;
    static final MethodHandle BENCH_GET_LOOP;

    static {
        boolean loaded;
        try {
            NativeLibraryLoader.ensureLoaded();
            loaded = true;
        } catch (RuntimeException | LinkageError e) {
            loaded = false;
        }
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        Class<?> hooks = null;
        try {
            hooks = Class.forName("io.ferrostate.flink.nativ.NativeHooks");
        } catch (ClassNotFoundException | LinkageError e) {
            loaded = false;
        }
        NOOP = loaded ? findStatic(lookup, hooks, "noop", MethodType.methodType(void.class)) : null;
        REGISTER_TOUCH_BUFFER =
                loaded
                        ? findStatic(
                                lookup,
                                hooks,
                                "registerTouchBuffer",
                                MethodType.methodType(long.class, ByteBuffer.class))
                        : null;
        TOUCH =
                loaded
                        ? findStatic(
                                lookup,
                                hooks,
                                "touch",
                                MethodType.methodType(int.class, long.class, int.class))
                        : null;
        FREE_TOUCH_BUFFER =
                loaded
                        ? findStatic(
                                lookup,
                                hooks,
                                "freeTouchBuffer",
                                MethodType.methodType(void.class, long.class))
                        : null;
        MethodHandle loop =
                loaded
                        ? findStatic(
                                lookup,
                                hooks,
                                "benchGetLoop",
                                MethodType.methodType(
                                        long.class,
                                        NativeStore.class,
                                        int.class,
                                        ByteBuffer.class,
                                        int.class,
                                        int.class))
                        : null;
        BENCH_GET_LOOP = loop;
    }

    private Natives() {}

    private static MethodHandle findStatic(
            MethodHandles.Lookup lookup, Class<?> c, String name, MethodType type) {
        try {
            return lookup.findStatic(c, name, type);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** Which native floors work here: name -> null when usable, else why not. */
    static Map<String, String> probe() {
        Map<String, String> result = new LinkedHashMap<>();
        result.put("jniNoop", probeNoop());
        result.put("jniTouch", probeTouch());
        result.put("rustLookup", probeLoop());
        return result;
    }

    private static String probeNoop() {
        if (NOOP == null) {
            return "NativeHooks.noop() is missing";
        }
        try {
            NOOP.invokeExact();
            return null;
        } catch (UnsatisfiedLinkError e) {
            return "native of NativeHooks.noop() is missing: " + e.getMessage();
        } catch (Throwable t) {
            return "NativeHooks.noop() failed: " + t;
        }
    }

    private static String probeTouch() {
        if (REGISTER_TOUCH_BUFFER == null || TOUCH == null || FREE_TOUCH_BUFFER == null) {
            return "NativeHooks.registerTouchBuffer/touch/freeTouchBuffer are missing";
        }
        try {
            ByteBuffer b = ByteBuffer.allocateDirect(64);
            long h = (long) REGISTER_TOUCH_BUFFER.invokeExact(b);
            int n = (int) TOUCH.invokeExact(h, 10);
            FREE_TOUCH_BUFFER.invokeExact(h);
            return n >= 0 ? null : "NativeHooks.touch returned " + n;
        } catch (UnsatisfiedLinkError e) {
            return "native of NativeHooks.touch is missing: " + e.getMessage();
        } catch (Throwable t) {
            return "NativeHooks.touch failed: " + t;
        }
    }

    private static String probeLoop() {
        if (BENCH_GET_LOOP == null) {
            return "NativeHooks.benchGetLoop(NativeStore, int, ByteBuffer, int, int) is missing";
        }
        File dir = null;
        try {
            dir = Files.createTempDirectory(BenchBackends.workRoot().toPath(), "probe-").toFile();
            try (NativeMemory memory = new NativeMemory(16L << 20, 0.5, 0.25);
                    NativeStore store =
                            new NativeStore(
                                    new File(dir, "db").getAbsolutePath(), memory, 65536, null)) {
                int state = store.registerState("probe", NativeStore.KIND_VALUE);
                ByteBuffer keys = ByteBuffer.allocateDirect(16);
                long sum = (long) BENCH_GET_LOOP.invokeExact(store, state, keys, 10, 1);
                return sum >= 0 ? null : "NativeHooks.benchGetLoop returned " + sum;
            }
        } catch (UnsatisfiedLinkError e) {
            return "native of NativeHooks.benchGetLoop is missing: " + e.getMessage();
        } catch (Throwable t) {
            return "NativeHooks.benchGetLoop failed: " + t;
        } finally {
            if (dir != null) {
                org.apache.flink.util.FileUtils.deleteDirectoryQuietly(dir);
            }
        }
    }
}
