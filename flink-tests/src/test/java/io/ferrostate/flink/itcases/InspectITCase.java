package io.ferrostate.flink.itcases;

import io.ferrostate.flink.tools.Inspect;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The inspector on checkpoints a job wrote: it lists states and verifies every checksum of a native
 * (incremental) checkpoint, reads a canonical one through, and exits 1 naming the file when one is
 * damaged.
 */
class InspectITCase {

    @ParameterizedTest(name = "incremental={0}")
    @ValueSource(booleans = {true, false})
    void inspectsAndCatchesDamage(boolean incremental, @TempDir Path dir) throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", "io.ferrostate.flink.FerroStateBackendFactory");
        conf.setString("execution.checkpointing.interval", "200 ms");
        conf.setString("execution.checkpointing.incremental", Boolean.toString(incremental));
        conf.setString(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        conf.setString("execution.checkpointing.dir", dir.toUri().toString());
        conf.setString("execution.checkpointing.data-inline-threshold", "1kb");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        AllStateKindsJob.failAt = -1;
        AllStateKindsJob.build(env, 10_000_000, 1000, 20);
        JobClient job = env.executeAsync("inspect me");
        Path chk = null;
        long deadline = System.currentTimeMillis() + 60_000;
        while (chk == null && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
            chk = latestCheckpoint(dir).orElse(null);
        }
        job.cancel().get();
        assertThat(chk).as("a completed checkpoint").isNotNull();
        chk = latestCheckpoint(dir).orElseThrow();

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int status = Inspect.run(chk, new PrintStream(buf, true, "UTF-8"));
        String text = buf.toString(StandardCharsets.UTF_8);
        assertThat(status).as(text).isZero();
        assertThat(text).contains("countAndSum", "buckets", "last", "OK: every check passed");
        assertThat(text).contains(incremental ? "every checksum matches" : "canonical snapshot");

        if (incremental) {
            Path victim;
            try (Stream<Path> files =
                    Files.list(dir.resolve(chk.getParent().getFileName()).resolve("shared"))) {
                victim =
                        files.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
            }
            byte[] bytes = Files.readAllBytes(victim);
            bytes[bytes.length / 2] ^= 0x10;
            Files.write(victim, bytes);
            buf.reset();
            status = Inspect.run(chk, new PrintStream(buf, true, "UTF-8"));
            text = buf.toString(StandardCharsets.UTF_8);
            assertThat(status).as(text).isEqualTo(1);
            assertThat(text).contains("checksum mismatch", ".sst");
        }
    }

    private static Optional<Path> latestCheckpoint(Path dir) throws Exception {
        try (Stream<Path> jobs = Files.list(dir)) {
            return jobs.flatMap(
                            j -> {
                                try {
                                    return Files.list(j);
                                } catch (Exception e) {
                                    return Stream.empty();
                                }
                            })
                    .filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .filter(p -> Files.exists(p.resolve("_metadata")))
                    .max(
                            Comparator.comparingInt(
                                    p ->
                                            Integer.parseInt(
                                                    p.getFileName().toString().substring(4))));
        }
    }
}
