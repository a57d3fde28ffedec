package io.ferrostate.flink.snapshot;

import io.ferrostate.flink.nativ.SnapshotScan;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyValueStateIterator;
import org.apache.flink.runtime.state.StateSnapshotTransformer;
import org.apache.flink.runtime.state.heap.HeapPriorityQueueStateSnapshot;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.util.Iterator;
import java.util.List;

/**
 * Entries of a full snapshot in the order Flink's canonical format needs: key group by key group;
 * within one, the key/value states (from the native snapshot, in state id order), then the timers
 * of each priority queue (state ids after the key/value states). Keys and values are fresh arrays,
 * since the writer keeps the previous key to flag it.
 */
@Internal
final class FerroKeyValueStateIterator implements KeyValueStateIterator {
    private static final byte[] EMPTY = new byte[0];

    private final SnapshotScan scan;
    private final StateSnapshotTransformer<byte[]>[] transformers;
    private final List<HeapPriorityQueueStateSnapshot<?>> queues;
    private final int numKvStates;
    private final int lastKeyGroup;
    private final int prefixBytes;
    private final DataOutputSerializer queueKey = new DataOutputSerializer(64);

    // Look-ahead of the native scan.
    private boolean scanHas;
    private int scanState;
    private int scanKeyGroup;
    private byte[] scanKey;
    private byte[] scanValue;

    // Position in the timers of the current key group.
    private int keyGroup;
    private int queueIndex;
    private Iterator<?> queueElements;

    // Current entry.
    private boolean valid;
    private int currentKeyGroup = -1;
    private int currentState = -1;
    private byte[] currentKey;
    private byte[] currentValue;
    private boolean newKeyGroup;
    private boolean newState;

    FerroKeyValueStateIterator(
            SnapshotScan scan,
            StateSnapshotTransformer<byte[]>[] transformers,
            List<HeapPriorityQueueStateSnapshot<?>> queues,
            int numKvStates,
            KeyGroupRange range,
            int prefixBytes) {
        this.scan = scan;
        this.transformers = transformers;
        this.queues = queues;
        this.numKvStates = numKvStates;
        this.keyGroup = range.getStartKeyGroup();
        this.lastKeyGroup = range.getEndKeyGroup();
        this.prefixBytes = prefixBytes;
        this.queueIndex = 0;
        pullScan();
        next();
    }

    private void pullScan() {
        scanHas = scan != null && scan.advance();
        if (scanHas) {
            scanState = scan.stateIndex();
            scanKey = scan.key();
            scanValue = scan.value();
            scanKeyGroup = keyGroupOf(scanKey);
        }
    }

    private int keyGroupOf(byte[] key) {
        int kg = 0;
        for (int i = 0; i < prefixBytes; i++) {
            kg = (kg << 8) | (key[i] & 0xff);
        }
        return kg;
    }

    @Override
    public void next() {
        try {
            valid = advance();
        } catch (IOException e) {
            throw new FlinkRuntimeException("Could not read the snapshot of ferrostate.", e);
        }
    }

    private boolean advance() throws IOException {
        while (keyGroup <= lastKeyGroup) {
            // Key/value states of this key group first.
            while (scanHas && scanKeyGroup == keyGroup) {
                int state = scanState;
                byte[] key = scanKey;
                byte[] value = scanValue;
                pullScan();
                StateSnapshotTransformer<byte[]> t = transformers[state];
                if (t != null) {
                    value = t.filterOrTransform(value);
                    if (value == null) {
                        continue;
                    }
                }
                emit(keyGroup, state, key, value);
                return true;
            }
            // Then the timers, queue by queue.
            while (queueIndex < queues.size()) {
                if (queueElements == null) {
                    queueElements = queues.get(queueIndex).getIteratorForKeyGroup(keyGroup);
                }
                if (queueElements.hasNext()) {
                    emit(
                            keyGroup,
                            numKvStates + queueIndex,
                            serializeElement(queueElements.next()),
                            EMPTY);
                    return true;
                }
                queueIndex++;
                queueElements = null;
            }
            keyGroup++;
            queueIndex = 0;
            queueElements = null;
            if (scanHas && scanKeyGroup < keyGroup) {
                throw new IOException(
                        "snapshot entry of key group " + scanKeyGroup + " out of key-group order");
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private byte[] serializeElement(Object element) throws IOException {
        TypeSerializer<Object> serializer =
                (TypeSerializer<Object>)
                        queues.get(queueIndex).getMetaInfo().getElementSerializer();
        queueKey.clear();
        CompositeKeySerializationUtils.writeKeyGroup(keyGroup, prefixBytes, queueKey);
        serializer.serialize(element, queueKey);
        return queueKey.getCopyOfBuffer();
    }

    private void emit(int kg, int state, byte[] key, byte[] value) {
        newKeyGroup = kg != currentKeyGroup;
        newState = newKeyGroup || state != currentState;
        currentKeyGroup = kg;
        currentState = state;
        currentKey = key;
        currentValue = value;
    }

    @Override
    public int keyGroup() {
        return currentKeyGroup;
    }

    @Override
    public byte[] key() {
        return currentKey;
    }

    @Override
    public byte[] value() {
        return currentValue;
    }

    @Override
    public int kvStateId() {
        return currentState;
    }

    @Override
    public boolean isNewKeyValueState() {
        return newState;
    }

    @Override
    public boolean isNewKeyGroup() {
        return newKeyGroup;
    }

    @Override
    public boolean isValid() {
        return valid;
    }

    @Override
    public void close() {
        if (scan != null) {
            scan.close();
        }
    }
}
