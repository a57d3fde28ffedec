package io.ferrostate.flink;

import io.ferrostate.flink.nativ.DirectOutputView;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.windowing.windows.GlobalWindow;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;

/**
 * Builds composite keys {@code [key group][key][namespace][user key]} in the store's direct key
 * buffer, byte for byte as Flink's {@code SerializedCompositeKeyBuilder} does for the RocksDB
 * backend (so the canonical savepoint format needs no translation of keys).
 *
 * <p>The current key is serialized at most once per {@code setCurrentKey} (at the first access
 * under it); the namespace is serialized again only when it changes, so repeated accesses under one
 * key and namespace cost no serialization at all.
 *
 * <p>Callers reuse and mutate key objects (Flink's SQL operators do, with object reuse on). A key
 * object is held only from {@code setCurrentKey} to the first state access, as the heap backend
 * holds it; after that only its bytes, which are never rebuilt from the object. A namespace is
 * recognised by identity only when its type is immutable.
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

    /** The current key while its bytes are not written yet (see {@link #setKeyAndKeyGroup}). */
    private K pendingKey;

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

    /**
     * Makes {@code key} the current key. Its bytes are written at the first state access under it,
     * not here: operators set keys without touching state (timers firing, SQL window buffers), and
     * until that access the key object is held as Flink's heap backend holds it; from then on only
     * its bytes.
     */
    public void setKeyAndKeyGroup(K key, int keyGroup) {
        this.currentKeyGroup = keyGroup;
        this.pendingKey = key;
        this.keyInBuffer = false;
    }

    private void writePendingKey() {
        out.clear();
        try {
            CompositeKeySerializationUtils.writeKeyGroup(currentKeyGroup, keyGroupPrefixBytes, out);
            keySerializer.serialize(pendingKey, out);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not serialize the current key.", e);
        }
        pendingKey = null;
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
        if (pendingKey != null) {
            writePendingKey();
            return;
        }
        out.clear();
        out.write(savedKey, 0, savedKey.length);
        keyWritten();
    }

    /** Marks the buffer as overwritten (raw keys are written to it next). */
    private void invalidate() {
        if (keyInBuffer && pendingKey == null && currentKeyGroup >= 0) {
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
