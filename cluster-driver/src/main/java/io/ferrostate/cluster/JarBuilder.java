package io.ferrostate.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Assembles job jars for the real-cluster tests from class directories and other jars (the first
 * entry of a name wins, as in a fat jar). No Maven plugin needed at test time.
 */
public final class JarBuilder {
    private interface Source {
        void writeTo(JarOutputStream out, Set<String> written) throws IOException;
    }

    private final List<Source> sources = new ArrayList<>();
    private String mainClass;

    private JarBuilder() {}

    public static JarBuilder create() {
        return new JarBuilder();
    }

    /** Every file under {@code dir}, by its path relative to {@code dir}. */
    public JarBuilder addDirectory(Path dir) {
        return addDirectory(dir, n -> true);
    }

    public JarBuilder addDirectory(Path dir, Predicate<String> include) {
        sources.add(
                (out, written) -> {
                    List<Path> files;
                    try (Stream<Path> s = Files.walk(dir)) {
                        files =
                                s.filter(Files::isRegularFile)
                                        .sorted()
                                        .collect(Collectors.toList());
                    }
                    for (Path f : files) {
                        String name = dir.relativize(f).toString().replace('\\', '/');
                        if (include.test(name) && written.add(name)) {
                            addParents(out, name, written);
                            out.putNextEntry(new JarEntry(name));
                            Files.copy(f, out);
                            out.closeEntry();
                        }
                    }
                });
        return this;
    }

    /** The entries of {@code jar} whose names pass {@code include} (the manifest never). */
    public JarBuilder addJar(Path jar, Predicate<String> include) {
        sources.add(
                (out, written) -> {
                    try (JarFile in = new JarFile(jar.toFile())) {
                        Enumeration<JarEntry> entries = in.entries();
                        while (entries.hasMoreElements()) {
                            JarEntry e = entries.nextElement();
                            String name = e.getName();
                            if (e.isDirectory()
                                    || name.equalsIgnoreCase("META-INF/MANIFEST.MF")
                                    || !include.test(name)
                                    || !written.add(name)) {
                                continue;
                            }
                            addParents(out, name, written);
                            out.putNextEntry(new JarEntry(name));
                            try (InputStream is = in.getInputStream(e)) {
                                is.transferTo(out);
                            }
                            out.closeEntry();
                        }
                    }
                });
        return this;
    }

    public JarBuilder addJar(Path jar) {
        return addJar(jar, n -> true);
    }

    public JarBuilder mainClass(String className) {
        this.mainClass = className;
        return this;
    }

    /** Writes the jar (atomically) and returns its path. */
    public Path write(Path jar) {
        try {
            Files.createDirectories(jar.toAbsolutePath().getParent());
            Path tmp = Files.createTempFile(jar.toAbsolutePath().getParent(), ".jar-", ".tmp");
            Manifest manifest = new Manifest();
            manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
            if (mainClass != null) {
                manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
            }
            try (OutputStream os = Files.newOutputStream(tmp);
                    JarOutputStream out = new JarOutputStream(os, manifest)) {
                Set<String> written = new LinkedHashSet<>();
                written.add("META-INF/MANIFEST.MF");
                written.add("META-INF/");
                for (Source s : sources) {
                    s.writeTo(out, written);
                }
            }
            Files.move(tmp, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return jar.toAbsolutePath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void addParents(JarOutputStream out, String name, Set<String> written)
            throws IOException {
        int i = name.indexOf('/');
        while (i >= 0) {
            String dir = name.substring(0, i + 1);
            if (written.add(dir)) {
                out.putNextEntry(new JarEntry(dir));
                out.closeEntry();
            }
            i = name.indexOf('/', i + 1);
        }
    }
}
