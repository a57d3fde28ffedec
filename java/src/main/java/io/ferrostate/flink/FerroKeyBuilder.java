package io.ferrostate.flink;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.windowing.windows.GlobalWindow;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.FlinkRuntimeException;

import io.ferrostate.flink.nativ.DirectOutputView;

import java.io.IOException;

/**
 * Builds composite keys {@code [key group][key][namespace][user key]} in the store's direct key
 * buffer, byte for byte as Flink's {@code SerializedCompositeKeyBuilder} does for the RocksDB
 * backend (so the canonical savepoint format needs no translation of keys).
 *
 * <p>The current key is serialized once per {@code setCurrentKey}; the namespace is serialized
 * again only when it changes, so repeated accesses under one key and namespace cost no
 * serialization at all.
 *
 * <p>Nothing here keeps a caller's object past the call that passed it: callers reuse and mutate
 * key objects (Flink's SQL operators do, with object reuse on). The key's bytes are kept, never
 * the key, and a namespace is recognised by identity only when its type is immutable.
 */
@Internal
public final class FerroKeyBuilder<K> {
    private final TypeSerializer<K> keySerializer;
    private final int keyGroupPrefixBytes;
    private final boolean keySerializerTypeVariableSized;
    private final DirectOutputView out;

    private int currentKeyGroup = -1;
    /** False when the buffer's key part no longer holds the current key (see {@link #savedKey}). */
    private boolean keyInBuffer;
    /** {@code [key group][key]} of the current key, saved when raw keys overwrite the buffer. */
    private byte[] savedKey = new byte[0];

    private int afterKeyMark;
    private int afterNamespaceMark;
    private Object lastNamespace;
    private TypeSerializer<?> lastNamespaceSerializer;

    public FerroKeyBuilder(
            TypeSerializer<K> keySerializer, int keyGroupPrefixBytes, DirectOutputView out) {
        this.keySerializer = keySerializer;
        this.keyGroupPrefixBytes = keyGroupPrefixBytes;
        this.keySerializerTypeVariableSized =
                CompositeKeySerializationUtils.isSerializerTypeVariableSized(keySerializer);
        this.out = out;
    }

    public int getKeyGroupPrefixBytes() {
        return keyGroupPrefixBytes;
    }

    public void setKeyAndKeyGroup(K key, int keyGroup) {
        this.currentKeyGroup = keyGroup;
        out.clear();
        try {
            CompositeKeySerializationUtils.writeKeyGroup(keyGroup, keyGroupPrefixBytes, out);
            keySerializer.serialize(key, out);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not serialize the current key.", e);
        }
        keyWritten();
    }

    private void keyWritten() {
        afterKeyMark = out.position();
        afterNamespaceMark = 0;
        lastNamespace = null;
        lastNamespaceSerializer = null;
        keyInBuffer = true;
    }

    /**
     * Puts the current key's bytes back into the buffer after raw keys overwrote them: from the
     * saved bytes, never by serializing the key object again (its caller may have changed it).
     */
    private void restoreKey() {
        if (currentKeyGroup < 0) {
            throw new IllegalStateException("No current key is set.");
        }
        out.clear();
        out.write(savedKey, 0, savedKey.length);
        keyWritten();
    }

    /** Marks the buffer as overwritten (raw keys are written to it next). */
    private void invalidate() {
        if (keyInBuffer && currentKeyGroup >= 0) {
            savedKey = copy(afterKeyMark);
        }
        keyInBuffer = false;
    }

    /** {@code [key group][key][namespace]}; returns its length. */
    public <N> int buildCompositeKeyNamespace(N namespace, TypeSerializer<N> namespaceSerializer) {
        if (!keyInBuffer) {
            restoreKey();
        }
        if (afterNamespaceMark > 0
                && namespace == lastNamespace
                && namespaceSerializer == lastNamespaceSerializer) {
            out.setPosition(afterNamespaceMark);
            return afterNamespaceMark;
        }
        out.setPosition(afterKeyMark);
        try {
            boolean ambiguous =
                    keySerializerTypeVariableSized
                            && CompositeKeySerializationUtils.isSerializerTypeVariableSized(
                                    namespaceSerializer);
            if (ambiguous) {
                CompositeKeySerializationUtils.writeVariableIntBytes(
                        afterKeyMark - keyGroupPrefixBytes, out);
            }
            int before = out.position();
            namespaceSerializer.serialize(namespace, out);
            if (ambiguous) {
                CompositeKeySerializationUtils.writeVariableIntBytes(out.position() - before, out);
            }
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not serialize the namespace.", e);
        }
        afterNamespaceMark = out.position();
        // A mutable namespace object may hold other contents at the next call.
        lastNamespace = isImmutable(namespace) ? namespace : null;
        lastNamespaceSerializer = namespaceSerializer;
        return afterNamespaceMark;
    }

    /** Namespace types whose instances never change, so that identity means equal bytes. */
    private static boolean isImmutable(Object namespace) {
        return namespace instanceof VoidNamespace
                || namespace instanceof Long
                || namespace instanceof Integer
                || namespace instanceof String
                || namespace instanceof TimeWindow
                || namespace instanceof GlobalWindow;
    }

    /** Where the user key starts in the last key built with a user key: the map's prefix length. */
    public int userKeyOffset() {
        return afterNamespaceMark;
    }

    /** {@code [key group][key][namespace][user key]}; returns its length. */
    public <N, UK> int buildCompositeKeyNamespaceUserKey(
            N namespace,
            TypeSerializer<N> namespaceSerializer,
            UK userKey,
            TypeSerializer<UK> userKeySerializer)
            throws IOException {
        buildCompositeKeyNamespace(namespace, namespaceSerializer);
        userKeySerializer.serialize(userKey, out);
        return out.position();
    }

    /** Writes raw key bytes into the buffer (the current key must be rebuilt afterwards). */
    public int writeRaw(byte[] rawKey) {
        invalidate();
        out.clear();
        out.write(rawKey, 0, rawKey.length);
        return rawKey.length;
    }

    /** A copy of the first {@code length} bytes of the buffer. */
    public byte[] copy(int length) {
        byte[] b = new byte[length];
        java.nio.ByteBuffer d = out.buffer().duplicate();
        d.position(0).limit(length);
        d.get(b);
        return b;
    }
}
