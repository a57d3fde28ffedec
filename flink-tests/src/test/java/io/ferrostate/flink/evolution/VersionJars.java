package io.ferrostate.flink.evolution;

import org.apache.avro.Schema;
import org.apache.avro.compiler.specific.SpecificCompiler;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Builds one job jar per version of the user's types, as a real job upgrade ships them: the POJO
 * {@code evo.Account} from a Java source and the Avro record {@code evo.Event} generated from an
 * {@code .avsc} file by Avro's own compiler (what avro-maven-plugin runs), both compiled here with
 * {@code javax.tools}. The classes exist only inside the jar, never on the test class path, so each
 * job sees its own version through its own user-code class loader.
 */
final class VersionJars {
    private VersionJars() {}

    /** Compiles {@code evolution/<pojoSource>} and {@code evolution/<avroSchema>} into a jar. */
    static File build(Path workDir, String name, String pojoSource, String avroSchema)
            throws IOException {
        Path dir = Files.createDirectories(workDir.resolve(name));
        Path src = Files.createDirectories(dir.resolve("src"));
        Path classes = Files.createDirectories(dir.resolve("classes"));

        Path pojo = Files.createDirectories(src.resolve("evo")).resolve("Account.java");
        Files.write(pojo, resource(pojoSource));
        Schema schema =
                new Schema.Parser().parse(new String(resource(avroSchema), StandardCharsets.UTF_8));
        new SpecificCompiler(schema).compileToDestination(null, src.toFile());

        List<File> sources;
        try (Stream<Path> walk = Files.walk(src)) {
            sources =
                    walk.filter(p -> p.toString().endsWith(".java"))
                            .map(Path::toFile)
                            .collect(Collectors.toList());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("No system Java compiler: the tests need a JDK.");
        }
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files =
                javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            List<String> options =
                    new ArrayList<>(
                            Arrays.asList(
                                    "-classpath",
                                    testClassPath(),
                                    "-d",
                                    classes.toString(),
                                    "--release",
                                    "11",
                                    "-proc:none",
                                    "-nowarn"));
            boolean ok =
                    javac.getTask(
                                    null,
                                    files,
                                    diagnostics,
                                    options,
                                    null,
                                    files.getJavaFileObjectsFromFiles(sources))
                            .call();
            if (!ok) {
                throw new IllegalStateException(
                        "Compiling " + name + " failed: " + diagnostics.getDiagnostics());
            }
        }

        File jar = dir.resolve(name + ".jar").toFile();
        try (OutputStream out = Files.newOutputStream(jar.toPath());
                JarOutputStream jarOut = new JarOutputStream(out);
                Stream<Path> walk = Files.walk(classes)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().collect(Collectors.toList())) {
                jarOut.putNextEntry(
                        new JarEntry(
                                classes.relativize(p).toString().replace(File.separatorChar, '/')));
                Files.copy(p, jarOut);
                jarOut.closeEntry();
            }
        }
        return jar;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in =
                VersionJars.class.getClassLoader().getResourceAsStream("evolution/" + name)) {
            if (in == null) {
                throw new IOException("Missing test resource evolution/" + name);
            }
            return in.readAllBytes();
        }
    }

    /** Surefire runs with a manifest-only jar; it publishes the real class path separately. */
    private static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isEmpty() ? cp : System.getProperty("java.class.path");
    }
}
