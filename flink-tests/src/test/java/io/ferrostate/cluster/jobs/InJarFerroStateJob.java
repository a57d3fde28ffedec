package io.ferrostate.cluster.jobs;

import io.ferrostate.examples.SessionSummary;
import io.ferrostate.examples.SessionTrackerJob;
import io.ferrostate.examples.SessionTrackerParams;
import io.ferrostate.examples.Sinks;
import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The session tracker with ferrostate chosen in code, {@code env.setStateBackend(new
 * FerroStateBackend())}, for a job jar that carries ferrostate's classes (and native library)
 * itself: the real-cluster class-loader test submits it to a cluster whose lib/ has no ferrostate
 * and whose default backend is hashmap. Not run in the test JVM; the test jars it up with
 * ferrostate's jar and the examples' jar.
 */
public final class InJarFerroStateJob {
    private InJarFerroStateJob() {}

    public static void main(String[] args) throws Exception {
        SessionTrackerParams params = SessionTrackerParams.fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setStateBackend(new FerroStateBackend());
        SessionTrackerJob.configure(env, params);
        DataStream<String> lines =
                SessionTrackerJob.summaries(env, params)
                        .map(SessionSummary::toLine)
                        .returns(Types.STRING)
                        .name("summary-to-line")
                        .uid("summary-to-line");
        if (params.output != null) {
            lines.sinkTo(Sinks.lines(params.output, "sessions"))
                    .name("summary-file-sink")
                    .uid("summary-file-sink");
        } else {
            lines.print().name("summary-print").uid("summary-print");
        }
        env.execute("ferrostate in the job jar: session tracker (seed " + params.seed + ")");
    }
}
