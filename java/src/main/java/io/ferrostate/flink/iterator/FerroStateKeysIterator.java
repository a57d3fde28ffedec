package io.ferrostate.flink.iterator;

import io.ferrostate.flink.nativ.ScanBatch;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.runtime.state.CompositeKeySerializationUtils;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Decodes keys (and namespaces) from a scan over a whole state, as Flink's {@code
 * RocksStateKeysIterator} and {@code RocksStateKeysAndNamespaceIterator} do: consecutive duplicates
 * (map entries of one key) are skipped, and with a namespace given only keys under that namespace
 * are returned.
 */
@Internal
public final class FerroStateKeysIterator<K, N> {
    private final ScanBatch scan;
    private final TypeSerializer<K> keySerializer;
    private final TypeSerializer<N> namespaceSerializer;
    private final int keyGroupPrefixBytes;
    private final boolean ambiguous;
    private final byte[] namespaceBytes;
    private final DataInputDeserializer in = new DataInputDeserializer();

    public FerroStateKeysIterator(
            ScanBatch scan,
            TypeSerializer<K> keySerializer,
            TypeSerializer<N> namespaceSerializer,
            int keyGroupPrefixBytes,
            boolean ambiguous,
            byte[] namespaceBytes) {
        this.scan = scan;
        this.keySerializer = keySerializer;
        this.namespaceSerializer = namespaceSerializer;
        this.keyGroupPrefixBytes = keyGroupPrefixBytes;
        this.ambiguous = ambiguous;
        this.namespaceBytes = namespaceBytes;
    }

    /** Keys under the namespace given at construction. */
    public Iterator<K> keys() {
        return new Base<K>() {
            private K previous;

            @Override
            K computeNext(byte[] raw) throws IOException {
                K key = readKey(raw);
                int nsStart = in.getPosition();
                if (matchesNamespace(raw, nsStart) && !Objects.equals(previous, key)) {
                    previous = key;
                    return key;
                }
                return null;
            }
        };
    }

    /** Every distinct key and namespace. */
    public Iterator<Tuple2<K, N>> keysAndNamespaces() {
        return new Base<Tuple2<K, N>>() {
            private Tuple2<K, N> previous;

            @Override
            Tuple2<K, N> computeNext(byte[] raw) throws IOException {
                K key = readKey(raw);
                N ns =
                        CompositeKeySerializationUtils.readNamespace(
                                namespaceSerializer, in, ambiguous);
                Tuple2<K, N> kn = Tuple2.of(key, ns);
                if (!kn.equals(previous)) {
                    previous = kn;
                    return kn;
                }
                return null;
            }
        };
    }

    private K readKey(byte[] raw) throws IOException {
        in.setBuffer(raw);
        in.skipBytesToRead(keyGroupPrefixBytes);
        return CompositeKeySerializationUtils.readKey(keySerializer, in, ambiguous);
    }

    private boolean matchesNamespace(byte[] raw, int start) {
        if (raw.length - start < namespaceBytes.length) {
            return false;
        }
        for (int i = 0; i < namespaceBytes.length; i++) {
            if (raw[start + i] != namespaceBytes[i]) {
                return false;
            }
        }
        return true;
    }

    private abstract class Base<T> implements Iterator<T> {
        private T next;

        abstract T computeNext(byte[] raw) throws IOException;

        @Override
        public boolean hasNext() {
            try {
                while (next == null && scan.advance()) {
                    next = computeNext(scan.copyKey());
                }
            } catch (IOException e) {
                throw new FlinkRuntimeException("Failed to read keys from ferrostate.", e);
            }
            return next != null;
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            T r = next;
            next = null;
            return r;
        }
    }
}
