package io.ferrostate.flink.tools;

import io.ferrostate.flink.nativ.FerroNativeException;
import io.ferrostate.flink.nativ.NativeResults.StateStats;
import io.ferrostate.flink.nativ.NativeSnapshots;
import io.ferrostate.flink.snapshot.NativeSnapshotMeta;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.memory.DataInputViewStreamWrapper;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedBackendSerializationProxy;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StateSerializerProvider;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.runtime.state.restore.FullSnapshotRestoreOperation;
import org.apache.flink.runtime.state.restore.KeyGroup;
import org.apache.flink.runtime.state.restore.KeyGroupEntry;
import org.apache.flink.runtime.state.restore.SavepointRestoreResult;
import org.apache.flink.runtime.state.restore.ThrowingIterator;
import org.apache.flink.util.FileUtils;

import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Inspects a checkpoint or savepoint directory (a {@code chk-N} or savepoint folder with {@code
 * _metadata}) written with ferrostate: for every keyed state handle it prints the states, key-group
 * range, entries and bytes, and checks every file of ferrostate's native snapshots against the
 * CRC-32C its manifest records. Canonical savepoints (Flink's own format, which has no checksums)
 * are read completely and counted. Exit status 1 on any mismatch, missing file or unreadable
 * handle.
 *
 * <pre>
 * java -cp ferrostate-flink.jar:$FLINK_HOME/lib/* io.ferrostate.flink.tools.Inspect &lt;dir&gt;
 * </pre>
 */
@PublicEvolving
public final class Inspect {
    private final PrintStream out;
    private int problems;

    private Inspect(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Inspect <checkpoint-or-savepoint-directory>");
            System.exit(2);
        }
        System.exit(run(Paths.get(args[0]), System.out));
    }

    /** Inspects {@code dir}; returns the exit status. */
    public static int run(Path dir, PrintStream out) {
        Inspect inspect = new Inspect(out);
        try {
            inspect.inspect(dir);
        } catch (Exception e) {
            out.println("ERROR: " + e.getMessage());
            inspect.problems++;
        }
        out.println(
                inspect.problems == 0
                        ? "OK: every check passed"
                        : "FAILED: " + inspect.problems + " problem(s)");
        return inspect.problems == 0 ? 0 : 1;
    }

    private void inspect(Path dir) throws Exception {
        Path metadata = dir.resolve("_metadata");
        if (!Files.exists(metadata)) {
            throw new IOException(
                    "no _metadata in " + dir + ": not a Flink checkpoint or savepoint directory");
        }
        CheckpointMetadata md;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(metadata))) {
            md =
                    Checkpoints.loadCheckpointMetadata(
                            in, Inspect.class.getClassLoader(), dir.toString());
        }
        out.println("checkpoint " + md.getCheckpointId() + " in " + dir);
        for (OperatorState op : md.getOperatorStates()) {
            int prefixBytes =
                    CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix(
                            op.getMaxParallelism());
            for (OperatorSubtaskState sub : op.getStates()) {
                for (KeyedStateHandle h : sub.getManagedKeyedState()) {
                    out.println(
                            "operator "
                                    + op.getOperatorID()
                                    + ", key groups "
                                    + range(h.getKeyGroupRange()));
                    try {
                        if (h instanceof IncrementalRemoteKeyedStateHandle) {
                            nativeSnapshot((IncrementalRemoteKeyedStateHandle) h, prefixBytes);
                        } else if (h instanceof KeyGroupsStateHandle) {
                            canonical((KeyGroupsStateHandle) h);
                        } else {
                            out.println(
                                    "  handle of type "
                                            + h.getClass().getSimpleName()
                                            + " (not inspected)");
                        }
                    } catch (FerroNativeException | IOException e) {
                        out.println("  ERROR: " + e.getMessage());
                        problems++;
                    }
                }
            }
        }
    }

    private static String range(KeyGroupRange r) {
        return r.getStartKeyGroup() + ".." + r.getEndKeyGroup();
    }

    private void nativeSnapshot(IncrementalRemoteKeyedStateHandle h, int prefixBytes)
            throws Exception {
        File tmp = Files.createTempDirectory("ferrostate-inspect").toFile();
        try {
            List<HandleAndLocalPath> files = new ArrayList<>(h.getSharedState());
            files.addAll(h.getPrivateState());
            for (HandleAndLocalPath f : files) {
                try (InputStream in = f.getHandle().openInputStream();
                        OutputStream o =
                                Files.newOutputStream(new File(tmp, f.getLocalPath()).toPath())) {
                    in.transferTo(o);
                } catch (IOException e) {
                    throw new IOException(
                            "cannot read "
                                    + f.getLocalPath()
                                    + " from "
                                    + f.getHandle()
                                    + ": "
                                    + e.getMessage(),
                            e);
                }
            }
            try (FSDataInputStream in = h.getMetaDataStateHandle().openInputStream()) {
                NativeSnapshotMeta.readIndex(new DataInputViewStreamWrapper(in));
            }
            int n = NativeSnapshots.verify(tmp.getAbsolutePath()).size();
            out.println(
                    "  ferrostate native snapshot, checkpoint "
                            + h.getCheckpointId()
                            + ": "
                            + n
                            + " files, "
                            + h.getStateSize()
                            + " bytes, every checksum matches");
            out.printf("  %-32s %12s %14s %12s%n", "state", "entries", "bytes", "key groups");
            for (StateStats st : NativeSnapshots.stats(tmp.getAbsolutePath(), 0, prefixBytes)) {
                String kg = st.minKeyGroup < 0 ? "-" : st.minKeyGroup + ".." + st.maxKeyGroup;
                out.printf("  %-32s %12s %14s %12s%n", st.name, st.entries, st.bytes, kg);
            }
        } finally {
            FileUtils.deleteDirectory(tmp);
        }
    }

    @SuppressWarnings("unchecked")
    private void canonical(KeyGroupsStateHandle h) throws Exception {
        // The key serializer the snapshot was written with, so the compatibility check passes.
        org.apache.flink.api.common.typeutils.TypeSerializer<Object> keySerializer;
        try (FSDataInputStream in = h.openInputStream()) {
            KeyedBackendSerializationProxy<Object> proxy =
                    new KeyedBackendSerializationProxy<>(Inspect.class.getClassLoader());
            proxy.read(new DataInputViewStreamWrapper(in));
            keySerializer =
                    (org.apache.flink.api.common.typeutils.TypeSerializer<Object>)
                            proxy.getKeySerializerSnapshot().restoreSerializer();
        }
        FullSnapshotRestoreOperation<Object> op =
                new FullSnapshotRestoreOperation<>(
                        h.getKeyGroupRange(),
                        Inspect.class.getClassLoader(),
                        Collections.singletonList(h),
                        StateSerializerProvider.fromNewRegisteredSerializer(keySerializer));
        out.println("  canonical snapshot (Flink's format, no checksums): read in full");
        try (ThrowingIterator<SavepointRestoreResult> results = op.restore()) {
            while (results.hasNext()) {
                SavepointRestoreResult r = results.next();
                List<StateMetaInfoSnapshot> metas = r.getStateMetaInfoSnapshots();
                long[] entries = new long[metas.size()];
                long[] bytes = new long[metas.size()];
                int[] minKg = new int[metas.size()];
                int[] maxKg = new int[metas.size()];
                java.util.Arrays.fill(minKg, Integer.MAX_VALUE);
                java.util.Arrays.fill(maxKg, -1);
                try (ThrowingIterator<KeyGroup> groups = r.getRestoredKeyGroups()) {
                    while (groups.hasNext()) {
                        KeyGroup g = groups.next();
                        try (ThrowingIterator<KeyGroupEntry> es = g.getKeyGroupEntries()) {
                            while (es.hasNext()) {
                                KeyGroupEntry e = es.next();
                                int s = e.getKvStateId();
                                entries[s]++;
                                bytes[s] += e.getKey().length + e.getValue().length;
                                minKg[s] = Math.min(minKg[s], g.getKeyGroupId());
                                maxKg[s] = Math.max(maxKg[s], g.getKeyGroupId());
                            }
                        }
                    }
                }
                out.printf("  %-32s %12s %14s %12s%n", "state", "entries", "bytes", "key groups");
                for (int i = 0; i < metas.size(); i++) {
                    String kg = maxKg[i] < 0 ? "-" : minKg[i] + ".." + maxKg[i];
                    out.printf(
                            "  %-32s %12d %14d %12s%n",
                            metas.get(i).getName(), entries[i], bytes[i], kg);
                }
            }
        }
    }
}
