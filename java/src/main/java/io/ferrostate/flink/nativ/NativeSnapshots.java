package io.ferrostate.flink.nativ;

import io.ferrostate.flink.nativ.NativeResults.SnapshotFile;
import io.ferrostate.flink.nativ.NativeResults.StateStats;

import org.apache.flink.annotation.Internal;

import java.util.List;

/** Manifests, verification and key-group-ordered scans of snapshot directories. */
@Internal
public final class NativeSnapshots {

    static {
        NativeLibraryLoader.ensureLoaded();
    }

    private NativeSnapshots() {}

    /**
     * Writes the manifest of snapshot directory {@code dir}. Files named in {@code knownNames} with
     * the same size keep the checksum given (SST files never change); the others are read.
     *
     * @return the files the manifest describes
     */
    public static List<SnapshotFile> writeManifest(
            String dir, String[] knownNames, long[] knownSizes, int[] knownCrcs) {
        return NativeResults.files(writeManifestNative(dir, knownNames, knownSizes, knownCrcs));
    }

    /**
     * Verifies every file of {@code dir} against its manifest: a missing, truncated or damaged file
     * throws {@link FerroCorruptionException} naming it.
     *
     * @return the files the manifest describes
     */
    public static List<SnapshotFile> verify(String dir) {
        return NativeResults.files(verifyNative(dir));
    }

    /**
     * As {@link #verify}, with the sizes and CRC-32C checksums of some files already taken while
     * they were downloaded: those files are not read again.
     */
    public static List<SnapshotFile> verify(
            String dir, String[] knownNames, long[] knownSizes, int[] knownCrcs) {
        return NativeResults.files(verifyKnownNative(dir, knownNames, knownSizes, knownCrcs));
    }

    /** What the snapshot in {@code dir} holds per state. */
    public static List<StateStats> stats(String dir, long memory, int prefixBytes) {
        return NativeResults.stats(statsNative(dir, memory, prefixBytes));
    }

    private static native byte[] writeManifestNative(
            String dir, String[] knownNames, long[] knownSizes, int[] knownCrcs);

    private static native byte[] verifyNative(String dir);

    private static native byte[] verifyKnownNative(
            String dir, String[] knownNames, long[] knownSizes, int[] knownCrcs);

    private static native byte[] statsNative(String dir, long memory, int prefixBytes);

    /**
     * Encodes the index at the start of a native snapshot's meta stream.
     *
     * @param keyGroups {@code [first key group, last key group, prefix bytes]}
     * @param shared 1 for files shared between checkpoints, else 0
     */
    public static native byte[] encodeIndex(
            long checkpointId,
            int[] keyGroups,
            String[] stateNames,
            int[] stateKinds,
            String[] queues,
            String[] localNames,
            String[] remotes,
            long[] sizes,
            int[] crcs,
            int[] shared);

    /** Verifies an encoded index (magic, version, checksum) and returns its length. */
    public static native int indexLength(byte[] index);

    static native long openScan(
            String dir,
            long memory,
            String[] names,
            int[] kinds,
            int prefixBytes,
            int firstKeyGroup,
            int lastKeyGroup);

    static native int nextBatch(long scan, java.nio.ByteBuffer out);

    static native void closeScan(long scan);
}
