package io.ferrostate.flink;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.util.FlinkRuntimeException;

import io.ferrostate.flink.nativ.DirectOutputView;

import java.io.IOException;

/**
 * Builds composite keys {@code [key group][key][namespace][user key]} in the store's direct key
 * buffer, byte for byte as Flink's {@code SerializedCompositeKeyBuilder} does for the RocksDB
 * backend (so the canonical savepoint format needs no translation of keys).
 *
 * <p>The current key is serialized once per {@code setCurrentKey}; the namespace is serialized
 * again only when it changes (by identity), so repeated accesses under one key and namespace
 * cost no serialization at all.
 */
@Internal
public final class FerroKeyBuilder<K> {
    private final TypeSerializer<K> keySerializer;
    private final int keyGroupPrefixBytes;
    private final boolean keySerializerTypeVariableSized;
    private final DirectOutputView out;

    private K currentKey;
    private int currentKeyGroup = -1;
    /** False when the buffer's key part no longer holds the current key. */
    private boolean keyInBuffer;

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
        this.currentKey = key;
        this.currentKeyGroup = keyGroup;
        writeKey();
    }

    private void writeKey() {
        if (currentKeyGroup < 0) {
            throw new IllegalStateException("No current key is set.");
        }
        out.clear();
        try {
            CompositeKeySerializationUtils.writeKeyGroup(currentKeyGroup, keyGroupPrefixBytes, out);
            keySerializer.serialize(currentKey, out);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not serialize the current key.", e);
        }
        afterKeyMark = out.position();
        afterNamespaceMark = 0;
        lastNamespace = null;
        lastNamespaceSerializer = null;
        keyInBuffer = true;
    }

    /** Marks the buffer as overwritten (raw keys were written to it). */
    public void invalidate() {
        keyInBuffer = false;
    }

    /** {@code [key group][key][namespace]}; returns its length. */
    public <N> int buildCompositeKeyNamespace(N namespace, TypeSerializer<N> namespaceSerializer) {
        if (!keyInBuffer) {
            writeKey();
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
        lastNamespace = namespace;
        lastNamespaceSerializer = namespaceSerializer;
        return afterNamespaceMark;
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
