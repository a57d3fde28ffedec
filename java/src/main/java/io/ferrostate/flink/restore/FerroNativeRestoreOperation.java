package io.ferrostate.flink.restore;

import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.meta.StateKinds;
import io.ferrostate.flink.nativ.FerroCorruptionException;
import io.ferrostate.flink.nativ.NativeMemory;
import io.ferrostate.flink.nativ.NativeResults.SnapshotFile;
import io.ferrostate.flink.nativ.NativeSnapshots;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.snapshot.FerroNativeSnapshotStrategy;
import io.ferrostate.flink.snapshot.FerroNativeSnapshotStrategy.Uploaded;
import io.ferrostate.flink.snapshot.NativeSnapshotMeta;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalLocalKeyedStateHandle;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedBackendSerializationProxy;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.RegisteredStateMetaInfoBase;
import org.apache.flink.runtime.state.StateSerializerProvider;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueElement;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.StateMigrationException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * Restores ferrostate's native snapshots (incremental checkpoints, native savepoints, local
 * copies). Every file is checked against the snapshot's manifest (size and CRC-32C) before the
 * store opens it; a damaged, truncated or missing file fails the restore naming the file.
 *
 * <p>With one snapshot, its files become the store directly and the key groups now owned by other
 * subtasks are dropped by range deletion and whole-file deletion ({@code clipKeyGroups}), never by
 * a rewrite. With several (rescaling), the one overlapping most becomes the base and the others'
 * entries in this backend's range are copied in.
 */
@Internal
public final class FerroNativeRestoreOperation<K> {
    private static final Logger LOG = LoggerFactory.getLogger(FerroNativeRestoreOperation.class);

    private final KeyGroupRange keyGroupRange;
    private final int keyGroupPrefixBytes;
    private final ClassLoader classLoader;
    private final List<KeyedStateHandle> handles;
    private final StateSerializerProvider<K> keySerializerProvider;
    private final File instanceBasePath;
    private final NativeMemory memory;
    private final long maxHotValue;
    private final java.nio.ByteBuffer timeCell;
    private final LinkedHashMap<String, StateInfo> kvStates;
    private final RestoredQueues queues;

    /** Files downloaded at once. */
    private int transferThreads = 1;

    /** What the restore leaves for the backend. */
    public static final class Result {
        public final NativeStore store;
        public final UUID backendUID;
        public final SortedMap<Long, Map<String, Uploaded>> restoredSstFiles;
        public final long lastCompletedCheckpointId;

        Result(
                NativeStore store,
                UUID backendUID,
                SortedMap<Long, Map<String, Uploaded>> restoredSstFiles,
                long lastCompletedCheckpointId) {
            this.store = store;
            this.backendUID = backendUID;
            this.restoredSstFiles = restoredSstFiles;
            this.lastCompletedCheckpointId = lastCompletedCheckpointId;
        }
    }

    @SuppressWarnings("checkstyle:ParameterNumber")
    public FerroNativeRestoreOperation(
            KeyGroupRange keyGroupRange,
            int keyGroupPrefixBytes,
            ClassLoader classLoader,
            List<KeyedStateHandle> handles,
            StateSerializerProvider<K> keySerializerProvider,
            File instanceBasePath,
            NativeMemory memory,
            long maxHotValue,
            java.nio.ByteBuffer timeCell,
            LinkedHashMap<String, StateInfo> kvStates,
            RestoredQueues queues) {
        this.keyGroupRange = keyGroupRange;
        this.keyGroupPrefixBytes = keyGroupPrefixBytes;
        this.classLoader = classLoader;
        this.handles = handles;
        this.keySerializerProvider = keySerializerProvider;
        this.instanceBasePath = instanceBasePath;
        this.memory = memory;
        this.maxHotValue = maxHotValue;
        this.timeCell = timeCell;
        this.kvStates = kvStates;
        this.queues = queues;
    }

    /** Downloads up to {@code threads} files of a snapshot at once. */
    public FerroNativeRestoreOperation<K> withTransferThreads(int threads) {
        this.transferThreads = Math.max(1, threads);
        return this;
    }

    public Result restore() throws Exception {
        IncrementalKeyedStateHandle base = pickBase();
        File dbDir = new File(instanceBasePath, "db");
        Map<String, long[]> checks = materialize(base, dbDir);
        NativeStore store = new NativeStore(dbDir.getAbsolutePath(), memory, maxHotValue, timeCell);
        try {
            readMeta(base, store);
            boolean rescaled = !base.getKeyGroupRange().equals(keyGroupRange);
            if (rescaled) {
                store.clipKeyGroups(
                        keyGroupPrefixBytes,
                        keyGroupRange.getStartKeyGroup(),
                        keyGroupRange.getEndKeyGroup());
            }
            for (KeyedStateHandle h : handles) {
                if (h == base) {
                    continue;
                }
                IncrementalKeyedStateHandle other = (IncrementalKeyedStateHandle) h;
                if (other.getKeyGroupRange().getIntersection(keyGroupRange).getNumberOfKeyGroups()
                        == 0) {
                    continue;
                }
                File tmp = new File(instanceBasePath, "import-" + UUID.randomUUID());
                try {
                    materialize(other, tmp);
                    readMeta(other, store);
                    long copied =
                            store.importKeyGroups(
                                    tmp.getAbsolutePath(),
                                    keyGroupPrefixBytes,
                                    keyGroupRange.getStartKeyGroup(),
                                    keyGroupRange.getEndKeyGroup());
                    LOG.info(
                            "Imported {} entries of {} into {}",
                            copied,
                            other.getKeyGroupRange(),
                            keyGroupRange);
                } finally {
                    FileUtils.deleteDirectory(tmp);
                }
            }
            SortedMap<Long, Map<String, Uploaded>> restoredFiles = new TreeMap<>();
            long lastCompleted = -1;
            UUID uid = UUID.randomUUID();
            if (handles.size() == 1 && !rescaled) {
                // Files of the restored checkpoint may be referenced again (after a failover, or
                // in claim mode); after a no-claim restore Flink's first checkpoint shares
                // nothing anyway. A local copy (local recovery) carries the remote handles of
                // its shared files too, so a checkpoint after a local restore stays incremental.
                Map<String, Uploaded> files = new HashMap<>();
                for (HandleAndLocalPath f : base.getSharedStateHandles()) {
                    long[] sc = checks.get(f.getLocalPath());
                    if (sc != null) {
                        files.put(
                                f.getLocalPath(), new Uploaded(f.getHandle(), sc[0], (int) sc[1]));
                    }
                }
                restoredFiles.put(base.getCheckpointId(), files);
                lastCompleted = base.getCheckpointId();
                uid = base.getBackendIdentifier();
            }
            Files.deleteIfExists(new File(dbDir, FerroNativeSnapshotStrategy.MANIFEST).toPath());
            return new Result(store, uid, restoredFiles, lastCompleted);
        } catch (Throwable t) {
            store.close();
            throw t;
        }
    }

    /** Checks {@code dir} against its manifest; returns name to {size, crc32c}. */
    private static Map<String, long[]> verified(File dir, Map<String, long[]> taken) {
        Map<String, long[]> out = new HashMap<>();
        String[] names = taken.keySet().toArray(new String[0]);
        long[] sizes = new long[names.length];
        int[] crcs = new int[names.length];
        for (int i = 0; i < names.length; i++) {
            sizes[i] = taken.get(names[i])[0];
            crcs[i] = (int) taken.get(names[i])[1];
        }
        // Fails with a FerroCorruptionException naming the first damaged or missing file.
        for (SnapshotFile f : NativeSnapshots.verify(dir.getAbsolutePath(), names, sizes, crcs)) {
            out.put(f.name, new long[] {f.size, Integer.toUnsignedLong(f.crc32c)});
        }
        return out;
    }

    /** The handle overlapping this backend's key groups the most. */
    private IncrementalKeyedStateHandle pickBase() {
        IncrementalKeyedStateHandle best = null;
        int bestOverlap = -1;
        for (KeyedStateHandle h : handles) {
            if (!(h instanceof IncrementalKeyedStateHandle)) {
                throw new IllegalStateException(
                        "Cannot restore a mix of snapshot types: " + h.getClass().getName());
            }
            int overlap =
                    h.getKeyGroupRange().getIntersection(keyGroupRange).getNumberOfKeyGroups();
            if (overlap > bestOverlap) {
                best = (IncrementalKeyedStateHandle) h;
                bestOverlap = overlap;
            }
        }
        return best;
    }

    /** Puts the snapshot's files into {@code dir} and checks them against the manifest. */
    private Map<String, long[]> materialize(IncrementalKeyedStateHandle handle, File dir)
            throws IOException {
        Files.createDirectories(dir.toPath());
        if (handle instanceof IncrementalLocalKeyedStateHandle) {
            File local =
                    ((IncrementalLocalKeyedStateHandle) handle)
                            .getDirectoryStateHandle()
                            .getDirectory()
                            .toFile();
            File[] files = local.listFiles();
            if (files == null) {
                throw new IOException("Local snapshot directory " + local + " is gone.");
            }
            for (File f : files) {
                File target = new File(dir, f.getName());
                try {
                    Files.createLink(target.toPath(), f.toPath());
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(f.toPath(), target.toPath(), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } else {
            IncrementalRemoteKeyedStateHandle remote = (IncrementalRemoteKeyedStateHandle) handle;
            List<HandleAndLocalPath> all = new ArrayList<>(remote.getSharedState());
            all.addAll(remote.getPrivateState());
            Map<String, long[]> taken = downloadAll(all, dir);
            try {
                return verified(dir, taken);
            } catch (FerroCorruptionException e) {
                // The error names the downloaded copy, which is deleted with the failed
                // backend: name the checkpoint's own file too.
                for (HandleAndLocalPath f : all) {
                    if (e.getMessage() != null
                            && e.getMessage().contains(File.separator + f.getLocalPath() + ":")) {
                        FerroCorruptionException named =
                                new FerroCorruptionException(
                                        e.getMessage()
                                                + " (checkpoint file "
                                                + f.getHandle()
                                                + " of checkpoint "
                                                + remote.getCheckpointId()
                                                + ")");
                        named.initCause(e);
                        throw named;
                    }
                }
                throw e;
            }
        }
        return verified(dir, Collections.emptyMap());
    }

    /**
     * Where a snapshot file named {@code name} in a state handle goes under {@code dir}. The name
     * comes from checkpoint metadata, which may be damaged or hostile: only a plain file name is
     * accepted, never a path that would write outside {@code dir}.
     */
    static File fileIn(File dir, String name) throws FerroCorruptionException {
        if (name == null
                || name.isEmpty()
                || name.equals(".")
                || name.equals("..")
                || name.indexOf('/') >= 0
                || name.indexOf('\\') >= 0
                || name.indexOf('\0') >= 0) {
            throw new FerroCorruptionException(
                    "The checkpoint names a snapshot file '"
                            + name
                            + "', which is not a plain file name; refusing to restore from it.");
        }
        return new File(dir, name);
    }

    /**
     * Downloads the files, {@link #transferThreads} at a time; returns each file's size and CRC-32C
     * as written, by name, so verification need not read them again.
     */
    private Map<String, long[]> downloadAll(List<HandleAndLocalPath> files, File dir)
            throws IOException {
        Map<String, long[]> taken = new ConcurrentHashMap<>();
        int threads = Math.min(transferThreads, files.size());
        if (threads <= 1) {
            for (HandleAndLocalPath f : files) {
                taken.put(f.getLocalPath(), download(f.getHandle(), fileIn(dir, f.getLocalPath())));
            }
            return taken;
        }
        ExecutorService pool =
                Executors.newFixedThreadPool(
                        threads,
                        r -> {
                            Thread t = new Thread(r, "ferrostate-restore-download");
                            t.setDaemon(true);
                            return t;
                        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (HandleAndLocalPath f : files) {
                futures.add(
                        pool.submit(
                                () -> {
                                    taken.put(
                                            f.getLocalPath(),
                                            download(f.getHandle(), fileIn(dir, f.getLocalPath())));
                                    return null;
                                }));
            }
            for (Future<?> future : futures) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof IOException) {
                        throw (IOException) cause;
                    }
                    throw new IOException("Could not download a snapshot file: " + cause, cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("Interrupted while downloading a snapshot");
                }
            }
            return taken;
        } finally {
            pool.shutdownNow();
        }
    }

    private static long[] download(StreamStateHandle handle, File target) throws IOException {
        try (FSDataInputStream in = handle.openInputStream();
                OutputStream out = Files.newOutputStream(target.toPath())) {
            return copy(in, out);
        } catch (IOException e) {
            throw new IOException(
                    "Could not download "
                            + target.getName()
                            + " from "
                            + handle
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** Copies {@code in} to {@code out}; returns the bytes copied and their CRC-32C. */
    private static long[] copy(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[256 * 1024];
        CRC32C crc = new CRC32C();
        long size = 0;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            if (Thread.interrupted()) {
                throw new InterruptedIOException("Interrupted while downloading a snapshot");
            }
            out.write(buffer, 0, n);
            crc.update(buffer, 0, n);
            size += n;
        }
        return new long[] {size, crc.getValue()};
    }

    /** Reads a snapshot's meta data: registers its states and restores its timers in range. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private void readMeta(IncrementalKeyedStateHandle handle, NativeStore store) throws Exception {
        byte[] metaBytes;
        try (FSDataInputStream in = handle.getMetaDataStateHandle().openInputStream()) {
            metaBytes =
                    NativeSnapshotMeta.readChecksummed(
                            in, String.valueOf(handle.getMetaDataStateHandle()));
        }
        {
            DataInputView view = new DataInputDeserializer(metaBytes);
            NativeSnapshotMeta.readIndex(view);
            KeyedBackendSerializationProxy<K> proxy =
                    new KeyedBackendSerializationProxy<>(classLoader);
            proxy.read(view);
            checkKeySerializer(proxy);
            List<HeapPriorityQueueSnapshotRestoreWrapper<HeapPriorityQueueElement>> restoredQueues =
                    new ArrayList<>();
            // Which queues the store holds (their entries came with its files); the others'
            // elements follow in the meta stream.
            NativeSnapshotMeta.QueueHeader header = NativeSnapshotMeta.readQueueHeader(view);
            for (StateMetaInfoSnapshot meta : proxy.getStateMetaInfoSnapshots()) {
                if (meta.getBackendStateType()
                                == StateMetaInfoSnapshot.BackendStateType.PRIORITY_QUEUE
                        && header.inStore.contains(meta.getName())) {
                    queues.storeQueue(store, meta);
                } else if (meta.getBackendStateType()
                        == StateMetaInfoSnapshot.BackendStateType.PRIORITY_QUEUE) {
                    restoredQueues.add(queues.heapQueue(meta));
                } else if (!kvStates.containsKey(meta.getName())) {
                    RegisteredKeyValueStateBackendMetaInfo<?, ?> kv =
                            (RegisteredKeyValueStateBackendMetaInfo<?, ?>)
                                    RegisteredStateMetaInfoBase.fromMetaInfoSnapshot(meta);
                    int id =
                            store.registerState(
                                    meta.getName(), StateKinds.kindOf(kv.getStateType()));
                    kvStates.put(meta.getName(), new StateInfo(id, kv));
                }
            }
            NativeSnapshotMeta.readHeapQueues(
                    view,
                    header,
                    restoredQueues.size(),
                    new NativeSnapshotMeta.QueueSink() {
                        @Override
                        public TypeSerializer<?> serializer(int index) {
                            return restoredQueues.get(index).getMetaInfo().getElementSerializer();
                        }

                        @Override
                        public void accept(int index, int keyGroup, Object element) {
                            if (keyGroupRange.contains(keyGroup)) {
                                restoredQueues
                                        .get(index)
                                        .getPriorityQueue()
                                        .add((HeapPriorityQueueElement) element);
                            }
                        }
                    });
        }
    }

    private boolean keySerializerChecked;

    private void checkKeySerializer(KeyedBackendSerializationProxy<K> proxy)
            throws StateMigrationException {
        if (keySerializerChecked) {
            return;
        }
        keySerializerChecked = true;
        TypeSerializer<K> current = keySerializerProvider.currentSchemaSerializer();
        TypeSerializerSchemaCompatibility<K> compat =
                keySerializerProvider.setPreviousSerializerSnapshotForRestoredState(
                        proxy.getKeySerializerSnapshot());
        if (compat.isCompatibleAfterMigration() || compat.isIncompatible()) {
            throw new StateMigrationException(
                    "The new key serializer ("
                            + current
                            + ") must be compatible with the previous key serializer ("
                            + keySerializerProvider.previousSchemaSerializer()
                            + ").");
        }
    }
}
