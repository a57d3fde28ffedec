package io.ferrostate.flink;

import io.ferrostate.flink.compat.ValueMigration;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.PointAccess;

import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.runtime.state.internal.InternalKvState;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.FlinkRuntimeException;
import org.apache.flink.util.StateMigrationException;

import java.io.IOException;

/**
 * Base of ferrostate's state classes: the state's values live in the native store under composite
 * keys built in the shared direct key buffer.
 *
 * @param <K> key type
 * @param <N> namespace type
 * @param <V> type of the value the state keeps internally
 */
abstract class AbstractFerroState<K, N, V> implements InternalKvState<K, N, V>, State {

    protected final FerroKeyedStateBackend<K> backend;
    protected final NativeStore store;
    protected final FerroKeyBuilder<K> keyBuilder;
    protected final int stateId;

    protected TypeSerializer<N> namespaceSerializer;
    protected TypeSerializer<V> valueSerializer;
    protected V defaultValue;
    protected N currentNamespace;

    /** True when the state's TTL asks for incremental cleanup explicitly. */
    private boolean incrementalCleanup;

    protected AbstractFerroState(
            FerroKeyedStateBackend<K> backend,
            int stateId,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<V> valueSerializer,
            V defaultValue) {
        this.backend = backend;
        this.store = backend.store();
        this.keyBuilder = backend.keyBuilder();
        this.stateId = stateId;
        this.namespaceSerializer = namespaceSerializer;
        this.valueSerializer = valueSerializer;
        this.defaultValue = defaultValue;
    }

    @Override
    public TypeSerializer<K> getKeySerializer() {
        return backend.getKeySerializer();
    }

    @Override
    public TypeSerializer<N> getNamespaceSerializer() {
        return namespaceSerializer;
    }

    @Override
    public TypeSerializer<V> getValueSerializer() {
        return valueSerializer;
    }

    /** The store the state lives in ({@link PointAccess}). */
    public NativeStore store() {
        return store;
    }

    /** The state's id in its store ({@link PointAccess}). */
    public int stateId() {
        return stateId;
    }

    /**
     * The key of a point access for the current key and namespace ({@link PointAccess}); map state
     * adds the user key.
     */
    public int buildPointKey(Object userKey) throws IOException {
        return keyLength();
    }

    /** 0: only map state names a map by a key prefix ({@link PointAccess}). */
    public int pointPrefixLength() {
        return 0;
    }

    @Override
    public void setCurrentNamespace(N namespace) {
        this.currentNamespace = namespace;
    }

    /** Builds the current composite key and returns its length. */
    protected final int keyLength() {
        return keyBuilder.buildCompositeKeyNamespace(currentNamespace, namespaceSerializer);
    }

    /** Builds the composite key of the current key and {@code namespace}. */
    protected final int keyLength(N namespace) {
        return keyBuilder.buildCompositeKeyNamespace(namespace, namespaceSerializer);
    }

    /** The value buffer, cleared, to serialize a value into. */
    protected final DirectOutputView valueOut() {
        DirectOutputView out = store.valueOut();
        out.clear();
        return out;
    }

    /** A copy of the stored bytes under the key in the key buffer, or null. */
    protected final byte[] readRaw(int keyLength) {
        int len = store.get(stateId, keyLength);
        if (len < 0) {
            return null;
        }
        byte[] raw = new byte[len];
        try {
            store.valueIn(len).readFully(raw, 0, len);
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not copy a stored value.", e);
        }
        return raw;
    }

    @Override
    public void clear() {
        store.delete(stateId, keyLength());
    }

    protected V getDefaultValue() {
        return defaultValue == null ? null : valueSerializer.copy(defaultValue);
    }

    void setNamespaceSerializer(TypeSerializer<N> namespaceSerializer) {
        this.namespaceSerializer = namespaceSerializer;
    }

    void setValueSerializer(TypeSerializer<V> valueSerializer) {
        this.valueSerializer = valueSerializer;
    }

    void setDefaultValue(V defaultValue) {
        this.defaultValue = defaultValue;
    }

    /**
     * Queryable state. May run on another thread than the task's, so it builds the key in its own
     * buffer and reads with the store's buffer-free path.
     */
    @Override
    public byte[] getSerializedValue(
            final byte[] serializedKeyAndNamespace,
            final TypeSerializer<K> safeKeySerializer,
            final TypeSerializer<N> safeNamespaceSerializer,
            final TypeSerializer<V> safeValueSerializer)
            throws Exception {
        byte[] key =
                backend.compositeKeyFor(
                        serializedKeyAndNamespace, safeKeySerializer, safeNamespaceSerializer);
        byte[] stored = store.getBytes(stateId, key);
        return stored == null ? null : storedToQueryable(stored, key, safeValueSerializer);
    }

    /** Turns stored bytes into the serialized form queryable state clients read. */
    protected byte[] storedToQueryable(
            byte[] stored, byte[] compositeKey, TypeSerializer<V> safeValueSerializer)
            throws Exception {
        return stored;
    }

    /**
     * Rewrites one stored value from the prior serializer's format to the new one's (state
     * migration). The default treats the whole stored value as one serialized {@code V}. Both
     * serializers come from {@link ValueMigration#forMigration}.
     */
    void migrateSerializedValue(
            DataInputView in,
            DataOutputView out,
            TypeSerializer<V> priorSerializer,
            TypeSerializer<V> newSerializer,
            TtlTimeProvider timeProvider)
            throws StateMigrationException {
        try {
            ValueMigration.migrate(
                    priorSerializer,
                    newSerializer,
                    () -> priorSerializer.deserialize(in),
                    out,
                    timeProvider);
        } catch (Exception e) {
            throw new StateMigrationException("Error while trying to migrate ferrostate state.", e);
        }
    }

    void setIncrementalCleanup(boolean incrementalCleanup) {
        this.incrementalCleanup = incrementalCleanup;
    }

    /**
     * Visits all entries for Flink's incremental TTL cleanup. Only offered when the state's TTL
     * configures {@code cleanupIncrementally(...)} explicitly: Flink's default background cleanup
     * would otherwise scan the store on every state access, while the native compaction filter
     * already removes expired entries. As in Flink's RocksDB backend, refusing the visitor turns
     * incremental cleanup off.
     */
    @Override
    public StateIncrementalVisitor<K, N, V> getStateIncrementalVisitor(
            int recommendedMaxNumberOfReturnedRecords) {
        if (!incrementalCleanup) {
            throw new UnsupportedOperationException(
                    "ferrostate runs incremental TTL cleanup only when configured with"
                            + " cleanupIncrementally(); background cleanup uses the native compaction filter.");
        }
        return new FerroStateIncrementalVisitor<>(this, recommendedMaxNumberOfReturnedRecords);
    }

    /** Deserializes the state's internal value from its stored bytes. */
    abstract V deserializeStored(DataInputView in, int length) throws IOException;

    /** Serializes the state's internal value to its stored form. */
    abstract void serializeStored(V value, DataOutputView out) throws IOException;

    static FlinkRuntimeException wrap(String what, Exception e) {
        return new FlinkRuntimeException(what, e);
    }
}
