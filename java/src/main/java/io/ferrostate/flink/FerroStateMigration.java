package io.ferrostate.flink;

import io.ferrostate.flink.FerroKeyedStateBackend.StateRegistration;
import io.ferrostate.flink.compat.ValueMigration;
import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.NativeStore;
import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.MapSerializer;
import org.apache.flink.api.common.typeutils.base.MapSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.RegisteredKeyValueStateBackendMetaInfo;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;
import org.apache.flink.util.StateMigrationException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.apache.flink.util.Preconditions.checkState;

/**
 * A state registered again after a restore: its namespace and value serializers checked against the
 * restored ones, and its stored values rewritten when the new serializer is compatible only after
 * migration (as Flink's RocksDB backend migrates: values only, map keys must stay).
 */
final class FerroStateMigration<K> {

    /** Migrations log under the backend's name, the logger users (and tests) watch for them. */
    private static final Logger LOG = LoggerFactory.getLogger(FerroKeyedStateBackend.class);

    /** Creates (or updates) the state object of a registration, as the backend does. */
    interface StateCreator {
        <N, SV, S extends State, IS extends S> IS create(
                StateDescriptor<S, SV> stateDesc, StateRegistration<N, SV> registration)
                throws Exception;
    }

    private final NativeStore store;
    private final FerroKeyBuilder<K> keyBuilder;
    private final StateCreator states;
    private final TtlTimeProvider timeProvider;

    FerroStateMigration(
            NativeStore store,
            FerroKeyBuilder<K> keyBuilder,
            StateCreator states,
            TtlTimeProvider timeProvider) {
        this.store = store;
        this.keyBuilder = keyBuilder;
        this.states = states;
        this.timeProvider = timeProvider;
    }

    /**
     * Checks a restored state's meta info against the descriptor it is registered with again, and
     * migrates its stored values when the new serializer asks for it.
     */
    <N, S extends State, SV> RegisteredKeyValueStateBackendMetaInfo<N, SV> updateRestored(
            int stateId,
            RegisteredKeyValueStateBackendMetaInfo<N, SV> restored,
            StateDescriptor<S, SV> stateDesc,
            TypeSerializer<N> namespaceSerializer,
            TypeSerializer<SV> stateSerializer,
            @javax.annotation.Nullable Exception unreadRestoredLists)
            throws Exception {
        TypeSerializer<N> previousNamespaceSerializer = restored.getNamespaceSerializer();
        TypeSerializerSchemaCompatibility<N> nsCompat =
                restored.updateNamespaceSerializer(namespaceSerializer);
        if (nsCompat.isCompatibleAfterMigration() || nsCompat.isIncompatible()) {
            throw new StateMigrationException(
                    "The new namespace serializer ("
                            + namespaceSerializer
                            + ") must be compatible with the old namespace serializer ("
                            + previousNamespaceSerializer
                            + ").");
        }
        restored.checkStateMetaInfo(stateDesc);
        TypeSerializer<SV> previousStateSerializer = restored.getStateSerializer();
        TypeSerializerSchemaCompatibility<SV> compat =
                restored.updateStateSerializer(stateSerializer);
        if (unreadRestoredLists != null && !compat.isIncompatible()) {
            throw new StateMigrationException(
                    "The list state "
                            + stateDesc.getName()
                            + " was restored from a canonical snapshot whose values could not be read"
                            + " with the serializer restored from it ("
                            + previousStateSerializer
                            + "), although the new serializer ("
                            + stateSerializer
                            + ") is compatible.",
                    unreadRestoredLists);
        }
        if (compat.isCompatibleAfterMigration()) {
            migrateStateValues(stateId, stateDesc, restored);
        } else if (compat.isIncompatible()) {
            throw new StateMigrationException(
                    "The new state serializer ("
                            + stateSerializer
                            + ") must not be incompatible with the old state serializer ("
                            + previousStateSerializer
                            + ").");
        }
        return restored;
    }

    /** Rewrites every stored value of a state from the previous serializer to the new one. */
    @SuppressWarnings("unchecked")
    private <N, S extends State, SV> void migrateStateValues(
            int stateId,
            StateDescriptor<S, SV> stateDesc,
            RegisteredKeyValueStateBackendMetaInfo<N, SV> meta)
            throws Exception {
        if (stateDesc.getType() == StateDescriptor.Type.MAP) {
            TypeSerializerSnapshot<SV> previousSnapshot = meta.getPreviousStateSerializerSnapshot();
            checkState(
                    previousSnapshot instanceof MapSerializerSnapshot,
                    "previous serializer snapshot should be a MapSerializerSnapshot.");
            MapSerializer<?, ?> newSerializer = (MapSerializer<?, ?>) meta.getStateSerializer();
            MapSerializerSnapshot<?, ?> mapSnapshot =
                    (MapSerializerSnapshot<?, ?>) previousSnapshot;
            if (!userKeyCompatibleAsIs(mapSnapshot, newSerializer)) {
                throw new StateMigrationException(
                        "The new serializer for a MapState requires state migration in order for the job to proceed, since the key schema has changed. However, migration for MapState currently only allows value schema evolutions.");
            }
        }
        LOG.info(
                "Performing state migration for state {} because the state serializer's schema, i.e. serialization format, has changed.",
                stateDesc);
        State state = states.create(stateDesc, new StateRegistration<>(stateId, meta));
        AbstractFerroState<K, N, SV> ferroState = (AbstractFerroState<K, N, SV>) state;
        ScanBatch scan = new ScanBatch(store, stateId, new byte[0], 512);
        DataInputDeserializer in = new DataInputDeserializer();
        DataOutputSerializer migrated = new DataOutputSerializer(512);
        TypeSerializer<SV> prior = ValueMigration.forMigration(meta.getPreviousStateSerializer());
        TypeSerializer<SV> next = ValueMigration.forMigration(meta.getStateSerializer());
        while (scan.advance()) {
            byte[] key = scan.copyKey();
            in.setBuffer(scan.copyValue());
            migrated.clear();
            ferroState.migrateSerializedValue(in, migrated, prior, next, timeProvider);
            int keyLength = keyBuilder.writeRaw(key);
            DirectOutputView out = store.valueOut();
            out.clear();
            out.write(migrated.getSharedBuffer(), 0, migrated.length());
            store.put(stateId, keyLength, out.position());
        }
    }

    @SuppressWarnings("unchecked")
    private static <UK> boolean userKeyCompatibleAsIs(
            MapSerializerSnapshot<?, ?> previous, MapSerializer<?, ?> next) {
        TypeSerializerSnapshot<UK> prevKey =
                (TypeSerializerSnapshot<UK>) previous.getKeySerializerSnapshot();
        TypeSerializer<UK> nextKey = (TypeSerializer<UK>) next.getKeySerializer();
        return nextKey.snapshotConfiguration()
                .resolveSchemaCompatibility(prevKey)
                .isCompatibleAsIs();
    }
}
