package io.ferrostate.flink;

import io.ferrostate.flink.nativ.DirectOutputView;
import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.StateEntry;
import org.apache.flink.runtime.state.internal.InternalKvState;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Visits every entry of a state in batches, for Flink's incremental TTL cleanup. Map state entries
 * of one key and namespace are handed out together as one map, as the heap backend does.
 */
final class FerroStateIncrementalVisitor<K, N, V>
        implements InternalKvState.StateIncrementalVisitor<K, N, V> {

    private final AbstractFerroState<K, N, V> state;
    private final int batchSize;
    private final ScanBatch scan;
    private final boolean ambiguous;
    private final DataInputDeserializer in = new DataInputDeserializer();
    private boolean pending;
    private boolean done;

    FerroStateIncrementalVisitor(AbstractFerroState<K, N, V> state, int batchSize) {
        this.state = state;
        this.batchSize = Math.max(1, batchSize);
        this.scan = new ScanBatch(state.store, state.stateId, new byte[0], Math.max(16, batchSize));
        this.ambiguous =
                CompositeKeySerializationUtils.isAmbiguousKeyPossible(
                        state.getKeySerializer(), state.getNamespaceSerializer());
    }

    @Override
    public boolean hasNext() {
        if (!pending && !done) {
            pending = scan.advance();
            done = !pending;
        }
        return pending;
    }

    @Override
    public Collection<StateEntry<K, N, V>> nextEntries() {
        List<StateEntry<K, N, V>> out = new ArrayList<>();
        try {
            while (out.size() < batchSize && hasNext()) {
                out.add(readEntry());
            }
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not read state entries for TTL cleanup.", e);
        }
        return out;
    }

    /** Reads the entry at the scan's position (for map state: all entries of its prefix). */
    @SuppressWarnings("unchecked")
    private Entry readEntry() throws IOException {
        byte[] raw = scan.copyKey();
        in.setBuffer(raw);
        int prefixBytes = state.keyBuilder.getKeyGroupPrefixBytes();
        CompositeKeySerializationUtils.readKeyGroup(prefixBytes, in);
        K key = CompositeKeySerializationUtils.readKey(state.getKeySerializer(), in, ambiguous);
        N ns =
                CompositeKeySerializationUtils.readNamespace(
                        state.getNamespaceSerializer(), in, ambiguous);
        int prefixLength = in.getPosition();
        pending = false;
        if (!(state instanceof FerroMapState)) {
            byte[] value = scan.copyValue();
            in.setBuffer(value);
            return new Entry(key, ns, state.deserializeStored(in, value.length), raw);
        }
        FerroMapState<K, N, Object, Object> map = (FerroMapState<K, N, Object, Object>) state;
        byte[] prefix = Arrays.copyOf(raw, prefixLength);
        Map<Object, Object> entries = new HashMap<>();
        do {
            byte[] k = scan.copyKey();
            if (!startsWith(k, prefix)) {
                pending = true;
                break;
            }
            in.setBuffer(k, prefixLength, k.length - prefixLength);
            Object userKey = map.userKeySerializer().deserialize(in);
            in.setBuffer(scan.copyValue());
            entries.put(
                    userKey, in.readBoolean() ? null : map.userValueSerializer().deserialize(in));
        } while (scan.advance());
        return new Entry(key, ns, (V) entries, prefix);
    }

    private static boolean startsWith(byte[] k, byte[] prefix) {
        if (k.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (k[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void remove(StateEntry<K, N, V> stateEntry) {
        Entry e = (Entry) stateEntry;
        int len = state.keyBuilder.writeRaw(e.rawKey);
        if (state instanceof FerroMapState) {
            state.store.deletePrefix(state.stateId, len);
        } else {
            state.store.delete(state.stateId, len);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void update(StateEntry<K, N, V> stateEntry, V newValue) {
        Entry e = (Entry) stateEntry;
        try {
            if (state instanceof FerroMapState) {
                FerroMapState<K, N, Object, Object> map =
                        (FerroMapState<K, N, Object, Object>) state;
                remove(stateEntry);
                TypeSerializer<Object> uks = map.userKeySerializer();
                TypeSerializer<Object> uvs = map.userValueSerializer();
                for (Map.Entry<Object, Object> me : ((Map<Object, Object>) newValue).entrySet()) {
                    state.keyBuilder.writeRaw(e.rawKey);
                    DirectOutputView keyView = state.store.keyView();
                    uks.serialize(me.getKey(), keyView);
                    DirectOutputView out = state.valueOut();
                    out.writeBoolean(me.getValue() == null);
                    if (me.getValue() != null) {
                        uvs.serialize(me.getValue(), out);
                    }
                    state.store.put(state.stateId, keyView.position(), out.position());
                }
            } else {
                int len = state.keyBuilder.writeRaw(e.rawKey);
                DirectOutputView out = state.valueOut();
                state.serializeStored(newValue, out);
                state.store.put(state.stateId, len, out.position());
            }
        } catch (IOException ex) {
            throw new FlinkRuntimeException(
                    "Could not update a state entry during TTL cleanup.", ex);
        }
    }

    private final class Entry implements StateEntry<K, N, V> {
        private final K key;
        private final N namespace;
        private final V value;
        private final byte[] rawKey;

        Entry(K key, N namespace, V value, byte[] rawKey) {
            this.key = key;
            this.namespace = namespace;
            this.value = value;
            this.rawKey = rawKey;
        }

        @Override
        public K getKey() {
            return key;
        }

        @Override
        public N getNamespace() {
            return namespace;
        }

        @Override
        public V getState() {
            return value;
        }
    }
}
