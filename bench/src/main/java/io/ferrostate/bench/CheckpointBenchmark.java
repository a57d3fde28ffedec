package io.ferrostate.bench;

import io.ferrostate.flink.FerroStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.contrib.streaming.state.EmbeddedRocksDBStateBackend;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.core.fs.Path;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.CheckpointStorageLocationReference;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointableKeyedStateBackend;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackendParametersImpl;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.SharedStateRegistryImpl;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.filesystem.FsCheckpointStorageAccess;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FileUtils;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.RunnableFuture;
import java.util.stream.Stream;

/**
 * Checkpoint and restore figures (issue 6 item 9): the same keyed state on {@code
 * EmbeddedRocksDBStateBackend} with incremental checkpoints and on ferrostate (incremental
 * checkpoints on as well), one backend after the other in one process.
 *
 * <p>For each backend: load N {@code Long} keys with a {@code byte[]} value each into a {@code
 * ValueState} (128 key groups, range 0-127, the same managed-memory budget); checkpoint 1 to a
 * file-system checkpoint directory ({@link FsCheckpointStorageAccess} over a local directory, as
 * {@code FileSystemCheckpointStorage} does); notify it complete; overwrite 1% of the keys;
 * checkpoint 2 (incremental); restore checkpoint 2 into a new backend (range 0-127); restore it
 * into two backends of half the key-group range each (rescale to parallelism 2). The checkpoints'
 * handles go through Flink's {@link SharedStateRegistryImpl}, as on the JobManager, so the
 * placeholders of checkpoint 2 become the files checkpoint 1 uploaded.
 *
 * <p>Timings: synchronous part = the {@code snapshot(...)} call; asynchronous part = running the
 * returned future; restore = {@code createKeyedStateBackend} with the handles (the reads that check
 * the restored values are outside the timing). Uploaded bytes = bytes of the files that the
 * checkpoint newly wrote under the checkpoint directory, cross-checked with {@code
 * getCheckpointedSize()}.
 *
 * <pre>
 * java -cp "bench/target/classes:$(cat bench/target/bench.classpath)" io.ferrostate.bench.CheckpointBenchmark \
 *   --mb 1024 --value-bytes 100 --budget-mb 256 --change-percent 1 --change-rounds 10 --backends ROCKSDB,FERROSTATE \
 *   --repeats 5 --out bench/results --name checkpoints [--workdir /tmp] [--no-count]
 * </pre>
 */
public final class CheckpointBenchmark {
    static final int MAX_PARALLELISM = 128;
    static final KeyGroupRange FULL = new KeyGroupRange(0, MAX_PARALLELISM - 1);
    static final List<KeyGroupRange> HALVES =
            Arrays.asList(
                    new KeyGroupRange(0, MAX_PARALLELISM / 2 - 1),
                    new KeyGroupRange(MAX_PARALLELISM / 2, MAX_PARALLELISM - 1));
    static final String STATE = "value";

    /**
     * Flink's defaults: state.storage.fs.memory-threshold (20 KiB),
     * state.storage.fs.write-buffer-size.
     */
    static final int FS_SMALL_FILE_THRESHOLD = 20 * 1024;

    static final int FS_WRITE_BUFFER = 4096;
    static final int SAMPLES = 2000;

    private final long keys;
    private final int valueBytes;
    private final long budgetBytes;
    private final double changePercent;
    private final boolean countKeys;
    private final File workRoot;
    private final int repeats;

    /** How many times 1% of the keys change, each followed by a checkpoint (2, 3, ...). */
    /** How many times RocksDB's upload at the same step a later checkpoint may upload. */
    static final double STEP_LIMIT = 2.0;

    private final int rounds;

    /**
     * Whether to compact fully after the load, before checkpoint 1. Without it, the compactions the
     * load left pending land between checkpoint 1 and 2 or not, by timing, and checkpoint 2 uploads
     * their output (hundreds of MB, either backend) instead of the change.
     */
    private final boolean compactAfterLoad;

    private CheckpointBenchmark(
            long keys,
            int valueBytes,
            long budgetBytes,
            double changePercent,
            boolean countKeys,
            File workRoot,
            int repeats,
            int rounds,
            boolean compactAfterLoad) {
        this.compactAfterLoad = compactAfterLoad;
        this.repeats = repeats;
        this.rounds = rounds;
        this.keys = keys;
        this.valueBytes = valueBytes;
        this.budgetBytes = budgetBytes;
        this.changePercent = changePercent;
        this.countKeys = countKeys;
        this.workRoot = workRoot;
    }

    public static void main(String[] args) throws Exception {
        double mb = 50;
        int valueBytes = 100;
        long budgetMb = 256;
        double changePercent = 1.0;
        boolean countKeys = true;
        int repeats = 5;
        int rounds = 10;
        boolean compactAfterLoad = true;
        List<String> backends = Arrays.asList("ROCKSDB", "FERROSTATE");
        String out = "bench/results";
        String name = "checkpoints";
        String workdir = System.getProperty("java.io.tmpdir");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mb":
                    mb = Double.parseDouble(args[++i]);
                    break;
                case "--value-bytes":
                    valueBytes = Integer.parseInt(args[++i]);
                    break;
                case "--budget-mb":
                    budgetMb = Long.parseLong(args[++i]);
                    break;
                case "--change-percent":
                    changePercent = Double.parseDouble(args[++i]);
                    break;
                case "--backends":
                    backends = Arrays.asList(args[++i].toUpperCase(Locale.ROOT).split(","));
                    break;
                case "--out":
                    out = args[++i];
                    break;
                case "--name":
                    name = args[++i];
                    break;
                case "--workdir":
                    workdir = args[++i];
                    break;
                case "--no-count":
                    countKeys = false;
                    break;
                case "--no-compact":
                    compactAfterLoad = false;
                    break;
                case "--repeats":
                    repeats = Integer.parseInt(args[++i]);
                    break;
                case "--change-rounds":
                    rounds = Integer.parseInt(args[++i]);
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        // Logical state: 8-byte key + value bytes per entry.
        long keys = (long) Math.ceil(mb * 1024 * 1024 / (8 + valueBytes));
        File root = new File(workdir);
        Files.createDirectories(root.toPath());
        CheckpointBenchmark b =
                new CheckpointBenchmark(
                        keys,
                        valueBytes,
                        budgetMb << 20,
                        changePercent,
                        countKeys,
                        root,
                        repeats,
                        rounds,
                        compactAfterLoad);

        String loadStart = loadavg();
        long wall0 = System.nanoTime();
        Map<String, Map<String, Object>> results = new LinkedHashMap<>();
        List<Run> runs = new ArrayList<>();
        try {
            // Checkpoints: one backend after the other, each on its own (its working directory
            // is deleted before the next one starts).
            for (String backend : backends) {
                log("=== " + backend + ": " + keys + " keys x " + valueBytes + " B values");
                Run run = b.checkpoints(backend);
                runs.add(run);
                results.put(backend, run.r);
            }
            // Restores and rescale-restores: repetitions alternate between the backends, so a
            // change of the machine's load (shared, 2 cores) hits both alike.
            for (int rep = 0; rep < b.repeats; rep++) {
                for (Run run : runs) {
                    b.restore(run, rep);
                }
            }
            for (int rep = 0; rep < b.repeats; rep++) {
                for (Run run : runs) {
                    b.rescale(run, rep);
                }
            }
            for (Run run : runs) {
                b.summarize(run);
                log(run.type + " -> " + run.r);
            }
        } finally {
            for (Run run : runs) {
                FileUtils.deleteDirectoryQuietly(run.dir);
            }
        }
        double wall = (System.nanoTime() - wall0) / 1e9;
        b.write(Paths.get(out), name, results, mb, wall, loadStart, loadavg());
    }

    // ---------------------------------------------------------------------------------------
    // One backend

    /** One backend's checkpoints and what its restores collect. */
    static final class Run {
        final String type;
        final File dir;
        final Map<String, Object> r = new LinkedHashMap<>();

        /** The last checkpoint's handle: the one restored. */
        KeyedStateHandle handle2;

        final List<Double> restores = new ArrayList<>();
        final List<Double> sums = new ArrayList<>();
        final List<Double> maxes = new ArrayList<>();
        final List<List<Double>> parts = new ArrayList<>();

        Run(String type, File dir) {
            this.type = type;
            this.dir = dir;
        }
    }

    /** Load, checkpoint 1, 1% change, checkpoint 2; the backend's working directory is deleted. */
    private Run checkpoints(String type) throws Exception {
        File dir =
                Files.createTempDirectory(
                                workRoot.toPath(),
                                "ckpt-bench-" + type.toLowerCase(Locale.ROOT) + "-")
                        .toFile();
        Run run = new Run(type, dir);
        Map<String, Object> r = run.r;
        File cpDir = new File(dir, "checkpoints");
        JobID jobId = new JobID();
        FsCheckpointStorageAccess storage =
                new FsCheckpointStorageAccess(
                        new Path(cpDir.toURI()),
                        null,
                        jobId,
                        FS_SMALL_FILE_THRESHOLD,
                        FS_WRITE_BUFFER);
        storage.initializeBaseLocationsForCheckpoint();
        SharedStateRegistryImpl registry = new SharedStateRegistryImpl();

        Handle b = build(type, new File(dir, "original"), FULL, Collections.emptyList());
        try {
            ValueState<byte[]> state = state(b);
            long t0 = System.nanoTime();
            for (long k = 0; k < keys; k++) {
                b.backend.setCurrentKey(k);
                state.update(value(k, 0));
            }
            r.put("load_s", secs(System.nanoTime() - t0));
            r.put("local_bytes_after_load", BenchBackends.diskBytes(b.localDir));
            log(
                    type
                            + ": loaded in "
                            + r.get("load_s")
                            + " s, local "
                            + mib(BenchBackends.diskBytes(b.localDir)));
            if (compactAfterLoad) {
                t0 = System.nanoTime();
                BenchBackends.compact(
                        b.backend,
                        new ValueStateDescriptor<>(STATE, BytePrimitiveArraySerializer.INSTANCE));
                r.put("compact_s", secs(System.nanoTime() - t0));
                r.put("local_bytes_after_compaction", BenchBackends.diskBytes(b.localDir));
                log(
                        type
                                + ": compacted in "
                                + r.get("compact_s")
                                + " s, local "
                                + mib(BenchBackends.diskBytes(b.localDir)));
            }

            checkpoint(b, storage, 1, cpDir, registry, r, "cp1");

            List<Double> syncs = new ArrayList<>();
            List<Double> asyncs = new ArrayList<>();
            List<Long> uploaded = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                t0 = System.nanoTime();
                long changed = 0;
                for (long k = 0; k < keys; k++) {
                    if (changed(k, round)) {
                        b.backend.setCurrentKey(k);
                        state.update(value(k, round));
                        changed++;
                    }
                }
                if (round == 1) {
                    r.put("changed_keys", changed);
                    r.put("change_s", secs(System.nanoTime() - t0));
                }
                Map<String, Object> cp = new LinkedHashMap<>();
                run.handle2 = checkpoint(b, storage, round + 1, cpDir, registry, cp, "cp");
                syncs.add((Double) cp.get("cp_sync_s"));
                asyncs.add((Double) cp.get("cp_async_s"));
                uploaded.add((Long) cp.get("cp_uploaded_bytes"));
                if (round == 1) {
                    for (Map.Entry<String, Object> e : cp.entrySet()) {
                        r.put("cp2" + e.getKey().substring(2), e.getValue());
                    }
                }
            }
            r.put("change_rounds_sync_s", syncs);
            r.put("change_rounds_async_s", asyncs);
            r.put("change_rounds_uploaded_bytes", uploaded);
            r.put("change_rounds_sync_median_s", median(syncs));
            r.put("change_rounds_async_median_s", median(asyncs));
            long uploadedSum = uploaded.stream().mapToLong(Long::longValue).sum();
            r.put("change_rounds_uploaded_mean_bytes", uploadedSum / uploaded.size());
            r.put(
                    "change_rounds_uploaded_max_bytes",
                    uploaded.stream().mapToLong(Long::longValue).max().orElse(0));
            r.put("change_rounds_uploaded_sum_bytes", uploadedSum);
            r.put("checkpoint_dir_bytes", BenchBackends.diskBytes(cpDir));
        } finally {
            b.close();
        }
        return run;
    }

    /**
     * Restores checkpoint 2 at the same parallelism into a fresh backend; checks, then closes it.
     */
    private void restore(Run run, int rep) throws Exception {
        long t0 = System.nanoTime();
        Handle restored =
                build(
                        run.type,
                        new File(run.dir, "restore-" + rep),
                        FULL,
                        Collections.singletonList(run.handle2));
        double s = secs(System.nanoTime() - t0);
        try {
            run.restores.add(s);
            run.r.put("restore_verified_keys", verify(restored, FULL));
            if (countKeys && rep == 0) {
                run.r.put("restore_key_count", count(restored));
            }
        } finally {
            restored.close();
        }
        log(run.type + ": restore " + s + " s");
    }

    /**
     * Rescale to two subtasks of half the key groups each, the handles as Flink's
     * StateAssignmentOperation gives them (intersection with the subtask's range), restored one
     * after the other.
     */
    private void rescale(Run run, int rep) throws Exception {
        double sum = 0;
        double max = 0;
        long counted = 0;
        List<Double> parts = new ArrayList<>();
        for (int i = 0; i < HALVES.size(); i++) {
            KeyGroupRange range = HALVES.get(i);
            KeyedStateHandle part = run.handle2.getIntersection(range);
            List<KeyedStateHandle> handles =
                    part == null ? Collections.emptyList() : Collections.singletonList(part);
            long t0 = System.nanoTime();
            Handle restored =
                    build(run.type, new File(run.dir, "rescale-" + rep + "-" + i), range, handles);
            double s = secs(System.nanoTime() - t0);
            try {
                parts.add(s);
                sum += s;
                max = Math.max(max, s);
                run.r.put("rescale_verified_keys_" + i, verify(restored, range));
                if (countKeys && rep == 0) {
                    counted += count(restored);
                }
                run.r.put("rescale_local_bytes_" + i, BenchBackends.diskBytes(restored.localDir));
            } finally {
                restored.close();
            }
            log(run.type + ": rescale-restore " + range + " " + s + " s");
        }
        run.sums.add(round3(sum));
        run.maxes.add(round3(max));
        run.parts.add(parts);
        if (countKeys && rep == 0) {
            run.r.put("rescale_key_count", counted);
            if (counted != keys || ((Number) run.r.get("restore_key_count")).longValue() != keys) {
                throw new IllegalStateException(
                        run.type
                                + ": restored key counts "
                                + run.r.get("restore_key_count")
                                + " / "
                                + counted
                                + " != "
                                + keys);
            }
        }
    }

    private void summarize(Run run) {
        run.r.put("restore_s", median(run.restores));
        run.r.put("restore_samples_s", run.restores);
        run.r.put("rescale_restore_parts_s", run.parts);
        run.r.put("rescale_restore_sum_s", median(run.sums));
        run.r.put("rescale_restore_max_s", median(run.maxes));
    }

    /** Snapshot, run the upload, register the handle as the JobManager would, notify complete. */
    private KeyedStateHandle checkpoint(
            Handle b,
            FsCheckpointStorageAccess storage,
            long id,
            File cpDir,
            SharedStateRegistryImpl registry,
            Map<String, Object> r,
            String prefix)
            throws Exception {
        Map<String, Long> before = files(cpDir);
        CheckpointStreamFactory factory =
                storage.resolveCheckpointStorageLocation(
                        id, CheckpointStorageLocationReference.getDefault());
        long t0 = System.nanoTime();
        RunnableFuture<SnapshotResult<KeyedStateHandle>> future =
                b.backend.snapshot(
                        id,
                        System.currentTimeMillis(),
                        factory,
                        CheckpointOptions.forCheckpointWithDefaultLocation());
        long t1 = System.nanoTime();
        future.run();
        SnapshotResult<KeyedStateHandle> result = future.get();
        long t2 = System.nanoTime();
        KeyedStateHandle handle = result.getJobManagerOwnedSnapshot();
        Map<String, Long> after = files(cpDir);
        long newBytes = 0;
        int newFiles = 0;
        for (Map.Entry<String, Long> e : after.entrySet()) {
            Long old = before.get(e.getKey());
            if (old == null) {
                newBytes += e.getValue();
                newFiles++;
            } else if (!old.equals(e.getValue())) {
                newBytes += Math.max(0, e.getValue() - old);
            }
        }
        r.put(prefix + "_sync_s", secs(t1 - t0));
        r.put(prefix + "_async_s", secs(t2 - t1));
        r.put(prefix + "_uploaded_bytes", newBytes);
        r.put(prefix + "_uploaded_files", newFiles);
        r.put(prefix + "_checkpointed_size", handle.getCheckpointedSize());
        r.put(prefix + "_state_size", handle.getStateSize());
        r.put(
                prefix + "_handle",
                handle.getClass().getSimpleName()
                        + (handle instanceof IncrementalRemoteKeyedStateHandle
                                ? " shared="
                                        + ((IncrementalRemoteKeyedStateHandle) handle)
                                                .getSharedState()
                                                .size()
                                        + " private="
                                        + ((IncrementalRemoteKeyedStateHandle) handle)
                                                .getPrivateState()
                                                .size()
                                : ""));
        registry.registerAll(Collections.singletonList(handle), id);
        registry.checkpointCompleted(id);
        ((org.apache.flink.api.common.state.CheckpointListener) b.backend)
                .notifyCheckpointComplete(id);
        log(
                String.format(
                        Locale.ROOT,
                        "%s: checkpoint %d sync %.3f s async %.3f s, %s new in %d files (checkpointed size %s)",
                        b.type,
                        id,
                        secs(t1 - t0),
                        secs(t2 - t1),
                        mib(newBytes),
                        newFiles,
                        mib(handle.getCheckpointedSize())));
        return handle;
    }

    /**
     * Reads back sampled keys of {@code range} (outside any timing); returns how many were checked.
     */
    private long verify(Handle b, KeyGroupRange range) throws Exception {
        ValueState<byte[]> state = state(b);
        long checked = 0;
        long step = Math.max(1, keys / SAMPLES);
        for (long k = 0; k < keys; k += step) {
            checked += check(b, state, range, k);
        }
        // Some of the changed keys too.
        long found = 0;
        for (long k = 0; k < keys && found < SAMPLES / 4; k++) {
            if (version(k) > 0) {
                found++;
                checked += check(b, state, range, k);
            }
        }
        checked += check(b, state, range, keys - 1);
        return checked;
    }

    private int check(Handle b, ValueState<byte[]> state, KeyGroupRange range, long k)
            throws Exception {
        if (!range.contains(KeyGroupRangeAssignment.assignToKeyGroup(k, MAX_PARALLELISM))) {
            return 0;
        }
        b.backend.setCurrentKey(k);
        byte[] got = state.value();
        byte[] want = value(k, version(k));
        if (!Arrays.equals(got, want)) {
            throw new IllegalStateException(
                    b.type
                            + ": key "
                            + k
                            + " read back wrong after restore into "
                            + range
                            + (got == null
                                    ? " (missing)"
                                    : " (" + got.length + " bytes, differs)"));
        }
        return 1;
    }

    private long count(Handle b) throws Exception {
        state(b);
        try (Stream<Long> s = b.backend.getKeys(STATE, VoidNamespace.INSTANCE)) {
            return s.count();
        }
    }

    private static ValueState<byte[]> state(Handle b) throws Exception {
        return b.backend.getPartitionedState(
                VoidNamespace.INSTANCE,
                org.apache.flink.runtime.state.VoidNamespaceSerializer.INSTANCE,
                new ValueStateDescriptor<>(STATE, BytePrimitiveArraySerializer.INSTANCE));
    }

    // ---------------------------------------------------------------------------------------
    // Data: deterministic, incompressible values; the changed keys are a pseudo-random 1%.

    private byte[] value(long key, int version) {
        byte[] v = new byte[valueBytes];
        SplittableRandom rnd = new SplittableRandom(key * 0x9E3779B97F4A7C15L + version);
        for (int i = 0; i < v.length; i += 8) {
            long x = rnd.nextLong();
            for (int j = 0; j < 8 && i + j < v.length; j++) {
                v[i + j] = (byte) (x >>> (8 * j));
            }
        }
        return v;
    }

    /** The value version a key holds after every round: the last round that changed it. */
    private int version(long key) {
        for (int round = rounds; round >= 1; round--) {
            if (changed(key, round)) {
                return round;
            }
        }
        return 0;
    }

    private boolean changed(long key, int round) {
        long h = (key + round * 0x632BE59BD9B4E019L) * 0xBF58476D1CE4E5B9L;
        h ^= h >>> 31;
        h *= 0x94D049BB133111EBL;
        h ^= h >>> 29;
        return (h >>> 11) * 0x1.0p-53 * 100.0 < changePercent;
    }

    // ---------------------------------------------------------------------------------------
    // Backends, built as a TaskManager builds them (see BenchBackends), incremental on.

    static final class Handle implements AutoCloseable {
        final String type;
        final CheckpointableKeyedStateBackend<Long> backend;
        final File localDir;
        final MockEnvironment env;

        Handle(
                String type,
                CheckpointableKeyedStateBackend<Long> backend,
                File localDir,
                MockEnvironment env) {
            this.type = type;
            this.backend = backend;
            this.localDir = localDir;
            this.env = env;
        }

        @Override
        public void close() throws Exception {
            try {
                backend.dispose();
                if (backend instanceof AutoCloseable) {
                    ((AutoCloseable) backend).close();
                }
            } finally {
                env.close();
                FileUtils.deleteDirectoryQuietly(localDir);
            }
        }
    }

    private Handle build(
            String type, File localDir, KeyGroupRange range, Collection<KeyedStateHandle> handles)
            throws Exception {
        Files.createDirectories(localDir.toPath());
        MockEnvironment env = MockEnvironment.builder().setManagedMemorySize(budgetBytes).build();
        try {
            Configuration config = new Configuration();
            String prefix = "ferrostate.bench.flink.";
            for (String k : System.getProperties().stringPropertyNames()) {
                if (k.startsWith(prefix)) {
                    config.setString(k.substring(prefix.length()), System.getProperty(k));
                }
            }
            ClassLoader cl = CheckpointBenchmark.class.getClassLoader();
            StateBackend backend;
            if (type.equals("ROCKSDB")) {
                config.setString("state.backend.rocksdb.localdir", localDir.getAbsolutePath());
                backend = new EmbeddedRocksDBStateBackend(true).configure(config, cl);
            } else if (type.equals("FERROSTATE")) {
                config.setString("state.backend.ferrostate.localdir", localDir.getAbsolutePath());
                backend = new FerroStateBackend(true).configure(config, cl);
            } else {
                throw new IllegalArgumentException(type);
            }
            CheckpointableKeyedStateBackend<Long> keyed =
                    backend.createKeyedStateBackend(
                            new KeyedStateBackendParametersImpl<>(
                                    env,
                                    new JobID(),
                                    "bench-op",
                                    LongSerializer.INSTANCE,
                                    MAX_PARALLELISM,
                                    range,
                                    env.getTaskKvStateRegistry(),
                                    TtlTimeProvider.DEFAULT,
                                    new UnregisteredMetricsGroup(),
                                    (name, value) -> {},
                                    handles,
                                    new CloseableRegistry(),
                                    1.0));
            return new Handle(type, keyed, localDir, env);
        } catch (Throwable t) {
            env.close();
            FileUtils.deleteDirectoryQuietly(localDir);
            throw t;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Report

    private void write(
            java.nio.file.Path out,
            String name,
            Map<String, Map<String, Object>> results,
            double mb,
            double wall,
            String loadStart,
            String loadEnd)
            throws IOException {
        Files.createDirectories(out);
        Map<String, Object> rocks = results.getOrDefault("ROCKSDB", Collections.emptyMap());
        Map<String, Object> ferro = results.getOrDefault("FERROSTATE", Collections.emptyMap());
        long logical = keys * (8L + valueBytes);

        StringBuilder md = new StringBuilder();
        md.append("# Checkpoint and restore: EmbeddedRocksDB (incremental) vs ferrostate\n\n");
        md.append(
                "Generated by `make bench-checkpoints` (`io.ferrostate.bench.CheckpointBenchmark`); see bench/README.md.\n\n");
        md.append("- machine: ").append(Report.machine()).append('\n');
        md.append("- date: ")
                .append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                .append('\n');
        md.append(
                String.format(
                        Locale.ROOT,
                        "- state: %,d `Long` keys x %d-byte random (incompressible) `byte[]` values in one `ValueState`,"
                                + " %s logical (%,d bytes of key + value); 128 key groups, range 0-127%n",
                        keys,
                        valueBytes,
                        mib(logical),
                        logical));
        md.append(
                String.format(
                        Locale.ROOT,
                        (compactAfterLoad
                                        ? "- after the load, a full compaction of each backend (`compactState`), so that no compaction the"
                                                + " load left pending lands between two checkpoints (see bench/README.md)\n"
                                        : "- no compaction after the load: compactions the load left pending may land between"
                                                + " checkpoints\n")
                                + "- change before checkpoint 2: %s keys overwritten with new values (%.1f%% of the keys, pseudo-random);"
                                + " then %d more rounds of a different %.1f%% each, each followed by a checkpoint%n",
                        fmtv(ferro.getOrDefault("changed_keys", rocks.get("changed_keys")), "n"),
                        changePercent,
                        rounds - 1,
                        changePercent));
        md.append(
                String.format(
                        Locale.ROOT,
                        "- managed memory: %s for each backend; incremental checkpoints on for both;"
                                + " otherwise each backend's defaults; checkpoint storage: a local directory through"
                                + " Flink's `FsCheckpointStorageAccess`%n",
                        mib(budgetBytes)));
        md.append(
                String.format(
                        Locale.ROOT,
                        "- wall time %.0f s; load average (1/5/15 min) at start %s, at end %s: measured under load on"
                                + " a shared 2-core machine, one run, so single figures carry noise%n",
                        wall,
                        loadStart,
                        loadEnd));
        if (!Report.overrides().isEmpty()) {
            md.append("- overrides: ").append(String.join(", ", Report.overrides())).append('\n');
        }

        md.append(
                "\n| figure | RocksDB | ferrostate | ferrostate/RocksDB |\n|---|---:|---:|---:|\n");
        row(md, "checkpoint 1 (full), synchronous part", rocks, ferro, "cp1_sync_s", "s");
        row(md, "checkpoint 1 (full), asynchronous part", rocks, ferro, "cp1_async_s", "s");
        row(md, "checkpoint 1, uploaded bytes", rocks, ferro, "cp1_uploaded_bytes", "B");
        row(
                md,
                "checkpoint 2 (after the change), synchronous part",
                rocks,
                ferro,
                "cp2_sync_s",
                "s");
        row(md, "checkpoint 2, asynchronous part", rocks, ferro, "cp2_async_s", "s");
        row(md, "checkpoint 2, uploaded bytes", rocks, ferro, "cp2_uploaded_bytes", "B");
        row(md, "checkpoint 2, uploaded files", rocks, ferro, "cp2_uploaded_files", "n");
        row(
                md,
                "checkpoint 2, `getCheckpointedSize()`",
                rocks,
                ferro,
                "cp2_checkpointed_size",
                "B");
        row(
                md,
                "checkpoints 2-"
                        + (rounds + 1)
                        + " (a new 1% change before each), synchronous part, median",
                rocks,
                ferro,
                "change_rounds_sync_median_s",
                "s");
        row(
                md,
                "checkpoints 2-" + (rounds + 1) + ", asynchronous part, median",
                rocks,
                ferro,
                "change_rounds_async_median_s",
                "s");
        row(
                md,
                "checkpoints 2-" + (rounds + 1) + ", uploaded bytes, mean",
                rocks,
                ferro,
                "change_rounds_uploaded_mean_bytes",
                "B");
        row(
                md,
                "checkpoints 2-" + (rounds + 1) + ", uploaded bytes, largest",
                rocks,
                ferro,
                "change_rounds_uploaded_max_bytes",
                "B");
        row(
                md,
                "checkpoints 2-" + (rounds + 1) + ", uploaded bytes, all together",
                rocks,
                ferro,
                "change_rounds_uploaded_sum_bytes",
                "B");
        row(md, "restore (same parallelism), median of " + repeats, rocks, ferro, "restore_s", "s");
        row(
                md,
                "rescale-restore to 2 subtasks, sum, median of " + repeats,
                rocks,
                ferro,
                "rescale_restore_sum_s",
                "s");
        row(
                md,
                "rescale-restore to 2 subtasks, slowest, median of " + repeats,
                rocks,
                ferro,
                "rescale_restore_max_s",
                "s");
        md.append(
                "\nFor reference (not goals):\n\n| | RocksDB | ferrostate | ferrostate/RocksDB |\n|---|---:|---:|---:|\n");
        row(md, "load (state.update of every key)", rocks, ferro, "load_s", "s");
        row(
                md,
                "local working directory after the load",
                rocks,
                ferro,
                "local_bytes_after_load",
                "B");
        row(md, "full compaction after the load (`compactState`)", rocks, ferro, "compact_s", "s");
        row(
                md,
                "local working directory after the compaction",
                rocks,
                ferro,
                "local_bytes_after_compaction",
                "B");
        row(
                md,
                "checkpoint 1, `getCheckpointedSize()`",
                rocks,
                ferro,
                "cp1_checkpointed_size",
                "B");
        row(
                md,
                "checkpoint directory after the last checkpoint",
                rocks,
                ferro,
                "checkpoint_dir_bytes",
                "B");
        md.append("\nCheckpoints 2-" + (rounds + 1) + ", uploaded MiB each: RocksDB ")
                .append(mibList(rocks.get("change_rounds_uploaded_bytes")))
                .append(", ferrostate ")
                .append(mibList(ferro.get("change_rounds_uploaded_bytes")))
                .append("; synchronous parts (s): RocksDB ")
                .append(rocks.get("change_rounds_sync_s"))
                .append(", ferrostate ")
                .append(ferro.get("change_rounds_sync_s"))
                .append("; asynchronous parts (s): RocksDB ")
                .append(rocks.get("change_rounds_async_s"))
                .append(", ferrostate ")
                .append(ferro.get("change_rounds_async_s"))
                .append(".\n");
        md.append(stepVerdict(rocks, ferro));
        md.append("Restores (s): RocksDB ")
                .append(rocks.get("restore_samples_s"))
                .append(", ferrostate ")
                .append(ferro.get("restore_samples_s"))
                .append(".\n");
        md.append("Rescale parts [0-63, 64-127] per repetition (s): RocksDB ")
                .append(rocks.get("rescale_restore_parts_s"))
                .append(", ferrostate ")
                .append(ferro.get("rescale_restore_parts_s"))
                .append(".\n");
        md.append("\nHow each figure is measured:\n\n");
        md.append(
                "- synchronous part: wall time of `backend.snapshot(id, ts, streamFactory,"
                        + " CheckpointOptions.forCheckpointWithDefaultLocation())`; asynchronous part: running the"
                        + " returned `RunnableFuture` to completion in the same thread (upload included).\n");
        md.append(
                "- uploaded bytes: bytes of the files the checkpoint newly wrote under the checkpoint"
                        + " directory (shared, exclusive and task-owned); state smaller than Flink's 20 KiB"
                        + " threshold travels inline in the handle and is not a file. Checkpoint 1 is notified"
                        + " complete (and registered in a `SharedStateRegistryImpl`, as on the JobManager) before"
                        + " the change, so checkpoint 2 uploads only what checkpoint 1 did not hold.\n");
        md.append(
                "- restore: wall time of `createKeyedStateBackend` with the last checkpoint's handle as restore"
                        + " state (files copied from the checkpoint directory, checked, opened); afterwards, outside"
                        + " the timing, sampled keys (changed and unchanged) are read back and compared, and every"
                        + " key is counted through `getKeys` (first repetition). Repeated "
                        + repeats
                        + " times, each into a fresh"
                        + " directory, the repetitions alternating between RocksDB and ferrostate (both checkpoint"
                        + " directories are kept until the end); the checkpoint files sit in the page cache (local"
                        + " checkpoint storage), so this is the backends' own work, not a network transfer.\n");
        md.append(
                "- rescale-restore: the same handle, intersected with each half's key-group range as Flink's"
                        + " `StateAssignmentOperation` does, restored into two backends of key groups 0-63 and 64-127,"
                        + " one after the other; sum and slowest of the two. The key counts of the halves must add"
                        + " up to the total.\n");

        Files.write(out.resolve(name + ".md"), md.toString().getBytes(StandardCharsets.UTF_8));

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("machine", Report.machine());
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("keys", keys);
        doc.put("value_bytes", valueBytes);
        doc.put("logical_bytes", logical);
        doc.put("requested_mb", mb);
        doc.put("budget_bytes", budgetBytes);
        doc.put("change_percent", changePercent);
        doc.put("change_rounds", rounds);
        doc.put("compact_after_load", compactAfterLoad);
        doc.put("restore_repeats", repeats);
        doc.put("max_parallelism", MAX_PARALLELISM);
        doc.put("wall_seconds", Math.round(wall));
        doc.put("loadavg_start", loadStart);
        doc.put("loadavg_end", loadEnd);
        doc.put("overrides", Report.overrides());
        Map<String, Object> res = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Object>> e : results.entrySet()) {
            res.put(Report.BACKEND_IDS.get(e.getKey()), e.getValue());
        }
        doc.put("results", res);
        Map<String, Object> ratios = new LinkedHashMap<>();
        for (String k :
                Arrays.asList(
                        "cp1_sync_s",
                        "cp1_async_s",
                        "cp1_uploaded_bytes",
                        "cp2_sync_s",
                        "cp2_async_s",
                        "cp2_uploaded_bytes",
                        "change_rounds_sync_median_s",
                        "change_rounds_async_median_s",
                        "change_rounds_uploaded_mean_bytes",
                        "restore_s",
                        "rescale_restore_sum_s",
                        "rescale_restore_max_s")) {
            if (rocks.get(k) instanceof Number && ferro.get(k) instanceof Number) {
                double a = ((Number) ferro.get(k)).doubleValue();
                double b = ((Number) rocks.get(k)).doubleValue();
                ratios.put(k, b == 0 ? null : round3(a / b));
            }
        }
        doc.put("ferrostate_over_rocksdb", ratios);
        Files.write(out.resolve(name + ".json"), Json.write(doc).getBytes(StandardCharsets.UTF_8));
        System.out.println(md);
    }

    private static void row(
            StringBuilder md,
            String label,
            Map<String, Object> rocks,
            Map<String, Object> ferro,
            String key,
            String unit) {
        Object a = rocks.get(key);
        Object b = ferro.get(key);
        md.append("| ")
                .append(label)
                .append(" | ")
                .append(fmtv(a, unit))
                .append(" | ")
                .append(fmtv(b, unit))
                .append(" | ");
        if (a instanceof Number && b instanceof Number && ((Number) a).doubleValue() != 0) {
            double ra = ((Number) b).doubleValue() / ((Number) a).doubleValue();
            md.append(String.format(Locale.ROOT, "%.2f", ra));
        } else {
            md.append('-');
        }
        md.append(" |\n");
    }

    private static String fmtv(Object v, String unit) {
        if (!(v instanceof Number)) {
            return "-";
        }
        double d = ((Number) v).doubleValue();
        switch (unit) {
            case "s":
                return String.format(Locale.ROOT, "%.3f s", d);
            case "B":
                return mib((long) d);
            default:
                return String.format(Locale.ROOT, "%,d", (long) d);
        }
    }

    // ---------------------------------------------------------------------------------------

    private static Map<String, Long> files(File dir) throws IOException {
        Map<String, Long> out = new HashMap<>();
        if (!dir.exists()) {
            return out;
        }
        try (Stream<java.nio.file.Path> s = Files.walk(dir.toPath())) {
            s.filter(Files::isRegularFile).forEach(p -> out.put(p.toString(), p.toFile().length()));
        }
        return out;
    }

    /**
     * Whether every ferrostate checkpoint after the first uploaded at most {@link #STEP_LIMIT}
     * times what RocksDB's checkpoint of the same step did (issue 17, item 5), and the steps where
     * not.
     */
    static String stepVerdict(Map<String, Object> rocks, Map<String, Object> ferro) {
        Object r = rocks.get("change_rounds_uploaded_bytes");
        Object f = ferro.get("change_rounds_uploaded_bytes");
        if (!(r instanceof List) || !(f instanceof List)) {
            return "";
        }
        List<?> rl = (List<?>) r;
        List<?> fl = (List<?>) f;
        List<String> over = new ArrayList<>();
        for (int i = 0; i < Math.min(rl.size(), fl.size()); i++) {
            long rb = ((Number) rl.get(i)).longValue();
            long fb = ((Number) fl.get(i)).longValue();
            if (fb > STEP_LIMIT * rb) {
                over.add(
                        String.format(
                                Locale.ROOT, "checkpoint %d: %s vs %s", i + 2, mib(fb), mib(rb)));
            }
        }
        return String.format(
                Locale.ROOT,
                "Every ferrostate checkpoint after the first uploads at most %.0fx RocksDB's at the same"
                        + " step: %s.%n",
                STEP_LIMIT,
                over.isEmpty() ? "yes" : "**no** (" + String.join("; ", over) + ")");
    }

    private static String mibList(Object v) {
        if (!(v instanceof List)) {
            return "-";
        }
        List<String> out = new ArrayList<>();
        for (Object o : (List<?>) v) {
            out.add(
                    String.format(
                            Locale.ROOT, "%.1f", ((Number) o).longValue() / (double) (1L << 20)));
        }
        return out.toString();
    }

    static String mib(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }

    private static double median(List<Double> v) {
        if (v.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : round3((s.get(n / 2 - 1) + s.get(n / 2)) / 2);
    }

    private static double secs(long ns) {
        return round3(ns / 1e9);
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static String loadavg() {
        try {
            String[] f =
                    new String(
                                    Files.readAllBytes(Paths.get("/proc/loadavg")),
                                    StandardCharsets.UTF_8)
                            .trim()
                            .split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static void log(String s) {
        System.err.println("[" + java.time.LocalTime.now().withNano(0) + "] " + s);
    }
}
