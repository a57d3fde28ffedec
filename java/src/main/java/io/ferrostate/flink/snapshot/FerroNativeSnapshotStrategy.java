package io.ferrostate.flink.snapshot;

import io.ferrostate.flink.meta.StateInfo;
import io.ferrostate.flink.meta.StateKinds;
import io.ferrostate.flink.nativ.NativeResults.SnapshotFile;
import io.ferrostate.flink.nativ.NativeSnapshots;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.timers.NativeQueue;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.core.fs.CloseableRegistry;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.checkpoint.SnapshotType;
import org.apache.flink.runtime.checkpoint.filemerging.FileMergingSnapshotManager;
import org.apache.flink.runtime.state.CheckpointStateOutputStream;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.CheckpointStreamWithResultProvider;
import org.apache.flink.runtime.state.CheckpointedStateScope;
import org.apache.flink.runtime.state.DirectoryStateHandle;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalLocalKeyedStateHandle;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyedBackendSerializationProxy;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.LocalRecoveryConfig;
import org.apache.flink.runtime.state.PlaceholderStreamStateHandle;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.SnapshotResources;
import org.apache.flink.runtime.state.SnapshotResult;
import org.apache.flink.runtime.state.SnapshotStrategy;
import org.apache.flink.runtime.state.StateUtil;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueSnapshotRestoreWrapper;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueStateSnapshot;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.util.FileUtils;
import org.apache.flink.util.IOUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.annotation.Nonnull;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Native snapshots: an immutable file set of the store (a RocksDB checkpoint of hard links, taken
 * after the hot tier is written back) plus a manifest with a CRC-32C per file, uploaded through
 * Flink's {@link CheckpointStreamFactory} as an {@link IncrementalRemoteKeyedStateHandle}.
 *
 * <p>Incremental checkpoints upload only the SST files that the last completed checkpoint did not
 * hold; those it held are referenced as {@link PlaceholderStreamStateHandle}s, which Flink's {@code
 * SharedStateRegistry} swaps for the registered handles, and Flink deletes shared files no retained
 * checkpoint references. The synchronous part only writes back and links files; the task goes on
 * while the asynchronous part checksums and uploads. Native savepoints and the first checkpoint
 * after a no-claim restore share nothing with earlier snapshots, as Flink's {@link
 * SnapshotType.SharingFilesStrategy} says.
 */
@Internal
public final class FerroNativeSnapshotStrategy<K>
        implements SnapshotStrategy<KeyedStateHandle, FerroNativeSnapshotStrategy.Resources>,
                CheckpointListener,
                AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FerroNativeSnapshotStrategy.class);

    /** Name of the store's own manifest file inside a snapshot directory. */
    public static final String MANIFEST = "FERROSTATE-MANIFEST";

    private static final String SST = ".sst";
    private static final int COPY_BUFFER = 64 * 1024;

    /** An uploaded file: its handle and what the manifest recorded for it. */
    public static final class Uploaded {
        final StreamStateHandle handle;
        final long size;
        final int crc;

        public Uploaded(StreamStateHandle handle, long size, int crc) {
            this.handle = handle;
            this.size = size;
            this.crc = crc;
        }
    }

    private final SnapshotSource<K> backend;
    private final LocalRecoveryConfig localRecoveryConfig;
    private final UUID backendUID;

    /** Bytes the last completed upload wrote ({@link #lastUploadedBytes()}). */
    private volatile long lastUploadedBytes;

    /** Bytes the last finished native checkpoint or savepoint uploaded (metrics). */
    public long lastUploadedBytes() {
        return lastUploadedBytes;
    }

    /** SST files uploaded per checkpoint, by local name; guarded by itself. */
    private final SortedMap<Long, Map<String, Uploaded>> uploadedSstFiles;

    private long lastCompletedCheckpointId;

    /**
     * Files confirmed by checkpoints older than this are never referenced again: it is the id of
     * the last full checkpoint (sharing {@code FORWARD}: e.g. the first one after a no-claim
     * restore; savepoints share nothing and do not count). Without it, a checkpoint that runs
     * before the full one's completion reaches this task would reference files of the restored
     * snapshot, which Flink does not register in no-claim mode ("Attempt to reference unknown
     * state"). Guarded by {@link #uploadedSstFiles}.
     */
    private long firstReusableCheckpointId = Long.MIN_VALUE;

    public FerroNativeSnapshotStrategy(
            SnapshotSource<K> backend,
            LocalRecoveryConfig localRecoveryConfig,
            UUID backendUID,
            SortedMap<Long, Map<String, Uploaded>> restoredSstFiles,
            long lastCompletedCheckpointId) {
        this.backend = backend;
        this.localRecoveryConfig = localRecoveryConfig;
        this.backendUID = backendUID;
        this.uploadedSstFiles = new TreeMap<>(restoredSstFiles);
        this.lastCompletedCheckpointId = lastCompletedCheckpointId;
    }

    /** What the synchronous part hands to the asynchronous one. */
    public static final class Resources implements SnapshotResources {
        final File directory;
        final boolean keepDirectory;
        final List<StateMetaInfoSnapshot> metaInfos;
        final String[] stateNames;
        final int[] stateKinds;
        final String[] queueNames;
        final List<String> storedQueues;
        final List<HeapPriorityQueueStateSnapshot<?>> queues;
        final Map<String, Uploaded> confirmed;

        /** The checkpoint that confirmed {@link #confirmed}. */
        final long confirmedBy;

        Resources(
                File directory,
                boolean keepDirectory,
                List<StateMetaInfoSnapshot> metaInfos,
                String[] stateNames,
                int[] stateKinds,
                String[] queueNames,
                List<String> storedQueues,
                List<HeapPriorityQueueStateSnapshot<?>> queues,
                Map<String, Uploaded> confirmed,
                long confirmedBy) {
            this.directory = directory;
            this.keepDirectory = keepDirectory;
            this.metaInfos = metaInfos;
            this.stateNames = stateNames;
            this.stateKinds = stateKinds;
            this.queueNames = queueNames;
            this.storedQueues = storedQueues;
            this.queues = queues;
            this.confirmed = confirmed;
            this.confirmedBy = confirmedBy;
        }

        @Override
        public void release() {
            if (!keepDirectory) {
                deleteQuietly(directory);
            }
        }
    }

    @Override
    public Resources syncPrepareResources(long checkpointId) throws Exception {
        if (backend.kvStatesInOrder().isEmpty()
                && backend.getRegisteredPQStates().isEmpty()
                && backend.nativeQueues().isEmpty()) {
            // Nothing registered: the snapshot is empty (a null handle), as Flink expects.
            return null;
        }
        boolean local = localRecoveryConfig.isLocalBackupEnabled();
        File directory;
        if (local) {
            File base =
                    localRecoveryConfig
                            .getLocalStateDirectoryProvider()
                            .orElseThrow(LocalRecoveryConfig.localRecoveryNotEnabled())
                            .subtaskSpecificCheckpointDirectory(checkpointId);
            Files.createDirectories(base.toPath());
            directory = new File(base, "ferrostate-" + UUID.randomUUID());
        } else {
            directory =
                    new File(
                            backend.getInstanceBasePath(),
                            "chk-" + checkpointId + "-" + UUID.randomUUID());
        }
        // Write back the hot tier and hard-link an immutable copy of the store.
        backend.store().checkpoint(directory.getAbsolutePath());

        List<StateMetaInfoSnapshot> metas = new ArrayList<>();
        List<StateInfo> states = backend.kvStatesInOrder();
        int numStored = backend.nativeQueues().size();
        String[] names = new String[states.size() + numStored];
        int[] kinds = new int[names.length];
        for (int i = 0; i < states.size(); i++) {
            StateInfo info = states.get(i);
            metas.add(info.metaInfo.snapshot());
            names[i] = info.metaInfo.getName();
            kinds[i] =
                    StateKinds.kindOf(
                            ((RegisteredKeyValueStateBackendMetaInfo<?, ?>) info.metaInfo)
                                    .getStateType());
        }
        // Timer queues in the store are states of the store (map-kind column families).
        List<String> storedQueues = new ArrayList<>();
        int i = states.size();
        for (NativeQueue<?> q : backend.nativeQueues()) {
            metas.add(q.metaInfo().snapshot());
            names[i] = q.name();
            kinds[i++] = NativeStore.KIND_MAP;
            storedQueues.add(q.name());
        }
        List<HeapPriorityQueueStateSnapshot<?>> queues = new ArrayList<>();
        List<String> queueNames = new ArrayList<>();
        for (HeapPriorityQueueSnapshotRestoreWrapper<?> pq :
                backend.getRegisteredPQStates().values()) {
            metas.add(pq.getMetaInfo().snapshot());
            queues.add(pq.stateSnapshot());
            queueNames.add(pq.getMetaInfo().getName());
        }
        Map<String, Uploaded> confirmed;
        long confirmedBy;
        synchronized (uploadedSstFiles) {
            Map<String, Uploaded> c = uploadedSstFiles.get(lastCompletedCheckpointId);
            confirmed = c == null ? Collections.emptyMap() : reusable(c, lastCompletedCheckpointId);
            confirmedBy = lastCompletedCheckpointId;
        }
        return new Resources(
                directory,
                local,
                metas,
                names,
                kinds,
                queueNames.toArray(new String[0]),
                storedQueues,
                queues,
                confirmed,
                confirmedBy);
    }

    /**
     * The files of the last confirmed checkpoint that a new checkpoint may reference: all but those
     * that a later checkpoint, not confirmed to this task yet, uploaded again. That happens when
     * the later checkpoint ran before the confirmation reached this task (it then compared with an
     * older checkpoint, and uploads the confirmed one's new files a second time). Once it
     * completes, Flink subsumes the confirmed checkpoint and drops its handles that no retained
     * checkpoint references, so a new checkpoint that referenced them would fail in the JobManager
     * ("Attempt to reference unknown state") and hold the job's checkpoints up until it timed out.
     * Only files whose handle every later upload shares are referenced; the others are uploaded
     * again. Guarded by {@link #uploadedSstFiles}.
     */
    private Map<String, Uploaded> reusable(Map<String, Uploaded> confirmed, long confirmedBy) {
        Map<String, Uploaded> out = new HashMap<>(confirmed);
        for (Map<String, Uploaded> later : uploadedSstFiles.tailMap(confirmedBy + 1).values()) {
            for (Map.Entry<String, Uploaded> e : later.entrySet()) {
                Uploaded mine = out.get(e.getKey());
                if (mine != null
                        && !mine.handle
                                .getStreamStateHandleID()
                                .equals(e.getValue().handle.getStreamStateHandleID())) {
                    out.remove(e.getKey());
                }
            }
        }
        return out;
    }

    @Override
    public SnapshotResultSupplier<KeyedStateHandle> asyncSnapshot(
            Resources resources,
            long checkpointId,
            long timestamp,
            @Nonnull CheckpointStreamFactory streamFactory,
            @Nonnull CheckpointOptions checkpointOptions) {
        SnapshotType.SharingFilesStrategy sharing =
                checkpointOptions.getCheckpointType().getSharingFilesStrategy();
        if (resources == null) {
            return registry -> SnapshotResult.empty();
        }
        synchronized (uploadedSstFiles) {
            if (sharing == SnapshotType.SharingFilesStrategy.FORWARD) {
                firstReusableCheckpointId = Math.max(firstReusableCheckpointId, checkpointId);
            } else if (resources.confirmedBy < firstReusableCheckpointId) {
                sharing = SnapshotType.SharingFilesStrategy.FORWARD;
            }
        }
        SnapshotType.SharingFilesStrategy effective = sharing;
        return registry -> upload(resources, checkpointId, streamFactory, effective, registry);
    }

    private SnapshotResult<KeyedStateHandle> upload(
            Resources res,
            long checkpointId,
            CheckpointStreamFactory factory,
            SnapshotType.SharingFilesStrategy sharing,
            CloseableRegistry registry)
            throws Exception {
        boolean reuse = sharing == SnapshotType.SharingFilesStrategy.FORWARD_BACKWARD;
        Map<String, Uploaded> known = reuse ? res.confirmed : Collections.emptyMap();
        List<SnapshotFile> manifest = writeManifest(res.directory, known);
        CheckpointedStateScope sstScope =
                sharing == SnapshotType.SharingFilesStrategy.NO_SHARING
                        ? CheckpointedStateScope.EXCLUSIVE
                        : CheckpointedStateScope.SHARED;
        Upload up = new Upload(res.directory, factory, registry, known, sstScope);
        boolean completed = false;
        try {
            List<SnapshotFile> files = new ArrayList<>(manifest);
            // The store's manifest goes last, after every file it describes.
            File manifestFile = new File(res.directory, MANIFEST);
            files.add(
                    new SnapshotFile(MANIFEST, manifestFile.length(), (int) crc32c(manifestFile)));
            for (SnapshotFile f : files) {
                up.file(f);
            }
            SnapshotResult<StreamStateHandle> meta =
                    writeMeta(res, checkpointId, factory, registry, up.indexFiles, up.indexNumbers);
            up.created(meta.getJobManagerOwnedSnapshot());
            synchronized (uploadedSstFiles) {
                if (sharing != SnapshotType.SharingFilesStrategy.NO_SHARING) {
                    uploadedSstFiles.put(checkpointId, Collections.unmodifiableMap(up.uploadedNow));
                }
            }
            SnapshotResult<KeyedStateHandle> result = handles(res, checkpointId, up, meta);
            completed = true;
            lastUploadedBytes = up.checkpointedSize;
            LOG.debug(
                    "ferrostate snapshot {} of {}: {} files, {} bytes uploaded, {} files reused.",
                    checkpointId,
                    backend.getKeyGroupRange(),
                    files.size(),
                    up.checkpointedSize,
                    up.reused.size());
            return result;
        } finally {
            if (completed) {
                factory.reusePreviousStateHandle(up.reused);
            } else {
                // Nothing a later checkpoint depends on stays behind: only handles this attempt
                // created are discarded; reused ones belong to earlier checkpoints.
                for (StreamStateHandle h : up.created) {
                    StateUtil.discardStateObjectQuietly(h);
                }
                deleteQuietly(res.directory);
            }
        }
    }

    /**
     * Writes the store's manifest of {@code directory} and returns the files it describes; the
     * checksums of files uploaded before ({@code known}) are taken from there, not read again.
     */
    private static List<SnapshotFile> writeManifest(File directory, Map<String, Uploaded> known) {
        List<String> knownNames = new ArrayList<>(known.keySet());
        long[] knownSizes = new long[knownNames.size()];
        int[] knownCrcs = new int[knownNames.size()];
        for (int i = 0; i < knownNames.size(); i++) {
            Uploaded u = known.get(knownNames.get(i));
            knownSizes[i] = u.size;
            knownCrcs[i] = u.crc;
        }
        return NativeSnapshots.writeManifest(
                directory.getAbsolutePath(),
                knownNames.toArray(new String[0]),
                knownSizes,
                knownCrcs);
    }

    /**
     * The handles of a finished upload: the remote incremental handle, and the local one when the
     * snapshot directory is kept for local recovery.
     */
    private SnapshotResult<KeyedStateHandle> handles(
            Resources res, long checkpointId, Upload up, SnapshotResult<StreamStateHandle> meta) {
        KeyGroupRange range = backend.getKeyGroupRange();
        IncrementalRemoteKeyedStateHandle remote =
                new IncrementalRemoteKeyedStateHandle(
                        backendUID,
                        range,
                        checkpointId,
                        up.shared,
                        up.privateFiles,
                        meta.getJobManagerOwnedSnapshot(),
                        up.checkpointedSize);
        if (res.keepDirectory && meta.getTaskLocalSnapshot() != null) {
            IncrementalLocalKeyedStateHandle local =
                    new IncrementalLocalKeyedStateHandle(
                            backendUID,
                            checkpointId,
                            DirectoryStateHandle.forPathWithSize(res.directory.toPath()),
                            range,
                            meta.getTaskLocalSnapshot(),
                            up.shared);
            return SnapshotResult.withLocalState(remote, local);
        }
        if (res.keepDirectory) {
            deleteQuietly(res.directory);
        }
        return SnapshotResult.of(remote);
    }

    /**
     * One upload of a snapshot directory, file by file: what it uploaded or reused, and the entries
     * of the snapshot's index.
     */
    private static final class Upload {
        private final File directory;
        private final CheckpointStreamFactory factory;
        private final CloseableRegistry registry;

        /** SST files uploaded by confirmed checkpoints, which this one may reuse. */
        private final Map<String, Uploaded> known;

        private final CheckpointedStateScope sstScope;

        final List<HandleAndLocalPath> shared = new ArrayList<>();
        final List<HandleAndLocalPath> privateFiles = new ArrayList<>();

        /** Handles of earlier checkpoints this one refers to. */
        final List<StreamStateHandle> reused = new ArrayList<>();

        /** Handles this upload created: discarded when it fails. */
        final List<StreamStateHandle> created = new ArrayList<>();

        /** The SST files of this checkpoint, for later ones to reuse. */
        final Map<String, Uploaded> uploadedNow = new HashMap<>();

        final List<String[]> indexFiles = new ArrayList<>();
        final List<long[]> indexNumbers = new ArrayList<>();
        long checkpointedSize;

        Upload(
                File directory,
                CheckpointStreamFactory factory,
                CloseableRegistry registry,
                Map<String, Uploaded> known,
                CheckpointedStateScope sstScope) {
            this.directory = directory;
            this.factory = factory;
            this.registry = registry;
            this.known = known;
            this.sstScope = sstScope;
        }

        /** Uploads one file, or refers to its upload by an earlier checkpoint. */
        void file(SnapshotFile f) throws IOException {
            String name = f.name;
            boolean sst = name.endsWith(SST);
            StreamStateHandle handle;
            Uploaded previous = sst ? known.get(name) : null;
            if (previous != null && factory.couldReuseStateHandle(previous.handle)) {
                handle =
                        new PlaceholderStreamStateHandle(
                                previous.handle.getStreamStateHandleID(),
                                previous.handle.getStateSize(),
                                FileMergingSnapshotManager.isFileMergingHandle(previous.handle));
                reused.add(previous.handle);
                uploadedNow.put(name, previous);
            } else {
                handle =
                        uploadFile(
                                new File(directory, name),
                                f,
                                factory,
                                sst ? sstScope : CheckpointedStateScope.EXCLUSIVE,
                                registry);
                created(handle);
                if (sst) {
                    uploadedNow.put(name, new Uploaded(handle, f.size, f.crc32c));
                }
            }
            (sst ? shared : privateFiles).add(HandleAndLocalPath.of(handle, name));
            String remote = previous != null ? remoteOf(previous.handle) : remoteOf(handle);
            indexFiles.add(new String[] {name, remote});
            indexNumbers.add(new long[] {f.size, f.crc32c, sst ? 1 : 0});
        }

        /** Counts a handle this upload created. */
        void created(StreamStateHandle handle) {
            created.add(handle);
            checkpointedSize += handle.getStateSize();
        }
    }

    private static long crc32c(File file) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(Files.readAllBytes(file.toPath()));
        return crc.getValue();
    }

    private static String remoteOf(StreamStateHandle handle) {
        return handle instanceof FileStateHandle
                ? ((FileStateHandle) handle).getFilePath().toString()
                : "";
    }

    /**
     * Uploads {@code file} and checks that the bytes uploaded are the ones the store's manifest
     * describes ({@code described}: its size and CRC-32C). A file that changed after the manifest
     * was written fails the checkpoint here; uploaded as it was, it would fail every restore from
     * the checkpoint instead, when the checkpoint may be all that is left.
     */
    private static StreamStateHandle uploadFile(
            File file,
            SnapshotFile described,
            CheckpointStreamFactory factory,
            CheckpointedStateScope scope,
            CloseableRegistry registry)
            throws IOException {
        if (described.size == 0) {
            // E.g. the empty WAL file of a checkpoint taken after a flush. No stream: it would
            // return no handle, and opening one for nothing costs a file on some storages.
            checkUploaded(file, described, file.length(), (int) new CRC32C().getValue());
            return emptyHandle();
        }
        CheckpointStateOutputStream out = factory.createCheckpointStateOutputStream(scope);
        registry.registerCloseable(out);
        boolean done = false;
        try (InputStream in = Files.newInputStream(file.toPath())) {
            byte[] buffer = new byte[COPY_BUFFER];
            CRC32C crc = new CRC32C();
            long size = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                crc.update(buffer, 0, n);
                size += n;
            }
            checkUploaded(file, described, size, (int) crc.getValue());
            if (!registry.unregisterCloseable(out)) {
                throw new IOException("Snapshot was cancelled while uploading " + file.getName());
            }
            StreamStateHandle handle = out.closeAndGetHandle();
            done = true;
            // Defensive: a stream written nothing returns no handle.
            return handle != null ? handle : emptyHandle();
        } finally {
            if (!done && registry.unregisterCloseable(out)) {
                IOUtils.closeQuietly(out);
            }
        }
    }

    private static void checkUploaded(File file, SnapshotFile described, long size, int crc)
            throws IOException {
        if (size != described.size || crc != described.crc32c) {
            throw new IOException(
                    String.format(
                            "Snapshot file %s changed after the snapshot's manifest was written:"
                                    + " the manifest describes %d bytes with CRC-32C %08x, the"
                                    + " file read for upload held %d bytes with CRC-32C %08x."
                                    + " The checkpoint is not completed.",
                            file, described.size, described.crc32c, size, crc));
        }
    }

    private static StreamStateHandle emptyHandle() {
        return new ByteStreamStateHandle("ferrostate-empty-" + UUID.randomUUID(), new byte[0]);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private SnapshotResult<StreamStateHandle> writeMeta(
            Resources res,
            long checkpointId,
            CheckpointStreamFactory factory,
            CloseableRegistry registry,
            List<String[]> indexFiles,
            List<long[]> indexNumbers)
            throws Exception {
        int n = indexFiles.size();
        String[] locals = new String[n];
        String[] remotes = new String[n];
        long[] sizes = new long[n];
        int[] crcs = new int[n];
        int[] shared = new int[n];
        for (int i = 0; i < n; i++) {
            locals[i] = indexFiles.get(i)[0];
            remotes[i] = indexFiles.get(i)[1];
            sizes[i] = indexNumbers.get(i)[0];
            crcs[i] = (int) indexNumbers.get(i)[1];
            shared[i] = (int) indexNumbers.get(i)[2];
        }
        KeyGroupRange range = backend.getKeyGroupRange();
        byte[] index =
                NativeSnapshots.encodeIndex(
                        checkpointId,
                        new int[] {
                            range.getStartKeyGroup(),
                            range.getEndKeyGroup(),
                            backend.getKeyGroupPrefixBytes()
                        },
                        res.stateNames,
                        res.stateKinds,
                        res.queueNames,
                        locals,
                        remotes,
                        sizes,
                        crcs,
                        shared);
        CheckpointStreamWithResultProvider stream =
                res.keepDirectory
                        ? CheckpointStreamWithResultProvider.createDuplicatingStream(
                                checkpointId,
                                CheckpointedStateScope.EXCLUSIVE,
                                factory,
                                localRecoveryConfig
                                        .getLocalStateDirectoryProvider()
                                        .orElseThrow(LocalRecoveryConfig.localRecoveryNotEnabled()))
                        : CheckpointStreamWithResultProvider.createSimpleStream(
                                CheckpointedStateScope.EXCLUSIVE, factory);
        registry.registerCloseable(stream);
        try {
            DataOutputSerializer out = new DataOutputSerializer(4096);
            out.write(index);
            new KeyedBackendSerializationProxy<>(backend.getKeySerializer(), res.metaInfos, false)
                    .write(out);
            NativeSnapshotMeta.writeQueues(out, res.storedQueues, res.queues, range);
            NativeSnapshotMeta.writeChecksummed(
                    stream.getCheckpointOutputStream(), out.getSharedBuffer(), out.length());
            if (!registry.unregisterCloseable(stream)) {
                throw new IOException("Snapshot was cancelled while writing its meta data.");
            }
            SnapshotResult<StreamStateHandle> result =
                    stream.closeAndFinalizeCheckpointStreamResult();
            stream = null;
            return result;
        } finally {
            if (stream != null && registry.unregisterCloseable(stream)) {
                IOUtils.closeQuietly(stream);
            }
        }
    }

    @Override
    public void notifyCheckpointComplete(long completedCheckpointId) {
        synchronized (uploadedSstFiles) {
            if (completedCheckpointId > lastCompletedCheckpointId
                    && uploadedSstFiles.containsKey(completedCheckpointId)) {
                uploadedSstFiles.keySet().removeIf(id -> id < completedCheckpointId);
                lastCompletedCheckpointId = completedCheckpointId;
            }
        }
    }

    @Override
    public void notifyCheckpointAborted(long abortedCheckpointId) {
        synchronized (uploadedSstFiles) {
            uploadedSstFiles.remove(abortedCheckpointId);
        }
    }

    @Override
    public void close() {}

    private static void deleteQuietly(File dir) {
        try {
            FileUtils.deleteDirectory(dir);
        } catch (IOException e) {
            LOG.warn("Could not delete snapshot directory {}", dir, e);
        }
    }
}
