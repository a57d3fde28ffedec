package io.ferrostate.sql;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.contrib.streaming.state.RocksDBStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameter;
import org.apache.flink.testutils.junit.extensions.parameterized.Parameters;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.BeforeTestExecutionCallback;
import org.junit.jupiter.api.extension.Extension;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestTemplateInvocationContext;
import org.junit.jupiter.api.extension.TestTemplateInvocationContextProvider;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.text.MessageFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs Flink's stream SQL ITCases on ferrostate, beside their HashMap and RocksDB runs.
 *
 * <p>Those classes extend the planner's {@code StreamingWithStateTestBase}, whose state backend
 * mode is HEAP or ROCKSDB: its {@code before()} sets {@code MemoryStateBackend} or {@code
 * RocksDBStateBackend} (incremental checkpoints) on the environment and turns object reuse on for
 * RocksDB. This provider (registered by service loader, JUnit's extension auto-detection on) adds,
 * for every parameter row of a class's {@code @Parameters} that has the ROCKSDB mode, one more
 * invocation of each test: the same parameters, display name prefixed {@code ferrostate}, and after
 * every {@code @BeforeEach} has run, the environment's backend replaced with ferrostate
 * (incremental checkpoints on, as for RocksDB) and its checkpoints written to a file checkpoint
 * storage of their own. Everything else (object reuse, the test's own checkpointing and failures,
 * the expected results) is the RocksDB row's, unchanged.
 */
public final class FerroStateInvocations implements TestTemplateInvocationContextProvider {

    static final String BASE =
            "org.apache.flink.table.planner.runtime.utils.StreamingWithStateTestBase";

    private static final String ROCKSDB_MODE = "ROCKSDB";

    @Override
    public boolean supportsTestTemplate(ExtensionContext context) {
        for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getSuperclass()) {
            if (c.getName().equals(BASE)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Stream<TestTemplateInvocationContext> provideTestTemplateInvocationContexts(
            ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        List<Method> providers =
                AnnotationSupport.findAnnotatedMethods(
                        testClass, Parameters.class, HierarchyTraversalMode.TOP_DOWN);
        if (providers.size() != 1) {
            throw new IllegalStateException(
                    testClass + " must have exactly one @Parameters method, has " + providers);
        }
        Method provider = providers.get(0);
        String template = provider.getAnnotation(Parameters.class).name();
        List<Object[]> rows = new ArrayList<>();
        try {
            provider.setAccessible(true);
            Object values = provider.invoke(null);
            Collection<?> all =
                    values instanceof Object[][]
                            ? Arrays.asList((Object[][]) values)
                            : (Collection<?>) values;
            for (Object row : all) {
                Object[] r = row instanceof Object[] ? (Object[]) row : new Object[] {row};
                if (Arrays.stream(r).anyMatch(FerroStateInvocations::isRocksDbMode)) {
                    rows.add(r);
                }
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Could not read the parameters of " + testClass, e);
        }
        List<Field> fields = AnnotationSupport.findAnnotatedFields(testClass, Parameter.class);
        return rows.stream().map(r -> new FerroInvocation(template, r, fields));
    }

    private static boolean isRocksDbMode(Object value) {
        return value != null
                && value.getClass().getName().endsWith("StateBackendMode")
                && ROCKSDB_MODE.equals(value.toString());
    }

    /** One invocation with a RocksDB row's parameters, on ferrostate. */
    private static final class FerroInvocation implements TestTemplateInvocationContext {
        private final String template;
        private final Object[] values;
        private final List<Field> fields;

        FerroInvocation(String template, Object[] values, List<Field> fields) {
            this.template = template;
            this.values = values;
            this.fields = fields;
        }

        @Override
        public String getDisplayName(int invocationIndex) {
            String name =
                    "{index}".equals(template)
                            ? Integer.toString(invocationIndex)
                            : MessageFormat.format(template, values);
            return "ferrostate: " + name;
        }

        @Override
        public List<Extension> getAdditionalExtensions() {
            List<Extension> extensions = new ArrayList<>();
            if (fields.isEmpty()) {
                extensions.add(new ConstructorParameters(values));
            } else {
                extensions.add(new FieldParameters(values, fields));
            }
            extensions.add(new SwitchToFerroState());
            return extensions;
        }
    }

    /** Constructor parameters, as Flink's {@code ParameterizedTestExtension} resolves them. */
    private static final class ConstructorParameters implements ParameterResolver {
        private final Object[] values;

        ConstructorParameters(Object[] values) {
            this.values = values;
        }

        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getDeclaringExecutable() instanceof java.lang.reflect.Constructor;
        }

        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            return values[parameter.getIndex()];
        }
    }

    /** {@code @Parameter} fields, as Flink's {@code ParameterizedTestExtension} injects them. */
    private static final class FieldParameters implements BeforeEachCallback {
        private final Object[] values;
        private final List<Field> fields;

        FieldParameters(Object[] values, List<Field> fields) {
            this.values = values;
            this.fields = fields;
        }

        @Override
        public void beforeEach(ExtensionContext context) throws Exception {
            for (Field f : fields) {
                f.setAccessible(true);
                f.set(
                        context.getRequiredTestInstance(),
                        values[f.getAnnotation(Parameter.class).value()]);
            }
        }
    }

    /**
     * After the base's {@code before()} has set RocksDB, puts ferrostate in its place; deletes the
     * checkpoints afterwards.
     */
    private static final class SwitchToFerroState
            implements BeforeTestExecutionCallback, AfterEachCallback {
        private File checkpoints;

        @Override
        public void beforeTestExecution(ExtensionContext context) throws Exception {
            StreamExecutionEnvironment env = javaEnv(context.getRequiredTestInstance());
            StateBackend set = env.getStateBackend();
            if (!(set instanceof RocksDBStateBackend)) {
                throw new IllegalStateException(
                        "Expected the base's before() to have set RocksDB, found " + set);
            }
            checkpoints = Files.createTempDirectory("ferrostate-sql-itcase").toFile();
            env.setStateBackend(new FerroStateBackend(true));
            env.getCheckpointConfig()
                    .setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toURI()));
        }

        @Override
        public void afterEach(ExtensionContext context) throws Exception {
            if (checkpoints != null) {
                NexmarkRun.deleteEventually(checkpoints.toPath());
            }
        }

        /** {@code StreamingTestBase.env()}: the Scala environment; the Java one behind it. */
        private static StreamExecutionEnvironment javaEnv(Object test)
                throws ReflectiveOperationException {
            Object env = findMethod(test.getClass(), "env").invoke(test);
            if (env instanceof StreamExecutionEnvironment) {
                return (StreamExecutionEnvironment) env;
            }
            return (StreamExecutionEnvironment) env.getClass().getMethod("getJavaEnv").invoke(env);
        }

        private static Method findMethod(Class<?> c, String name) throws NoSuchMethodException {
            for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                for (Method m : k.getDeclaredMethods()) {
                    if (m.getName().equals(name) && m.getParameterCount() == 0) {
                        m.setAccessible(true);
                        return m;
                    }
                }
            }
            throw new NoSuchMethodException(c + "." + name + "()");
        }
    }
}
