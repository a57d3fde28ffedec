package io.ferrostate.examples;

import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.DefaultRollingPolicy;

/** The examples' file output: one line per record, committed exactly once on checkpoints. */
public final class Sinks {
    private Sinks() {}

    /**
     * Row-format {@link FileSink} writing straight under {@code path} (no date buckets). Files
     * become visible (lose their leading '.' and ".inprogress") when a checkpoint completes, or at
     * the end of a bounded job.
     */
    public static FileSink<String> lines(String path, String prefix) {
        return FileSink.forRowFormat(new Path(path), new SimpleStringEncoder<String>("UTF-8"))
                .withBucketAssigner(new BasePathBucketAssigner<>())
                .withRollingPolicy(DefaultRollingPolicy.builder().build())
                .withOutputFileConfig(
                        OutputFileConfig.builder()
                                .withPartPrefix(prefix)
                                .withPartSuffix(".txt")
                                .build())
                .build();
    }
}
