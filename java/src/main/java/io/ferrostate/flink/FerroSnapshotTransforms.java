package io.ferrostate.flink;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.runtime.state.ListDelimitedSerializer;
import org.apache.flink.runtime.state.StateSnapshotTransformer;
import org.apache.flink.runtime.state.StateSnapshotTransformer.CollectionStateSnapshotTransformer;
import org.apache.flink.runtime.state.StateSnapshotTransformer.StateSnapshotTransformFactory;
import org.apache.flink.util.FlinkRuntimeException;

import javax.annotation.Nullable;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.apache.flink.runtime.state.StateSnapshotTransformer.CollectionStateSnapshotTransformer.TransformStrategy.STOP_ON_FIRST_INCLUDED;

/**
 * Snapshot transformers (TTL cleanup in full snapshots) over the canonical byte layout of values,
 * which is what ferrostate's full snapshots write: the same adaptation Flink's RocksDB backend
 * makes ({@code RocksDBSnapshotTransformFactoryAdaptor}, Apache License 2.0), since the canonical
 * layout is RocksDB's.
 */
@Internal
final class FerroSnapshotTransforms {
    private FerroSnapshotTransforms() {}

    @SuppressWarnings("unchecked")
    static <SV, SEV> StateSnapshotTransformFactory<SV> wrap(
            StateDescriptor<?, SV> stateDesc,
            StateSnapshotTransformFactory<SEV> factory,
            TypeSerializer<SV> stateSerializer) {
        if (stateDesc instanceof ListStateDescriptor) {
            TypeSerializer<SEV> elementSerializer =
                    ((ListSerializer<SEV>) stateSerializer).getElementSerializer();
            return new Adaptor<SV, SEV>(factory) {
                @Override
                public Optional<StateSnapshotTransformer<byte[]>> createForSerializedState() {
                    return factory.createForDeserializedState()
                            .map(est -> new ListWrapper<>(est, elementSerializer.duplicate()));
                }
            };
        } else if (stateDesc instanceof MapStateDescriptor) {
            return new Adaptor<SV, SEV>(factory) {
                @Override
                public Optional<StateSnapshotTransformer<byte[]>> createForSerializedState() {
                    return factory.createForSerializedState().map(MapWrapper::new);
                }
            };
        } else {
            return new Adaptor<SV, SEV>(factory) {
                @Override
                public Optional<StateSnapshotTransformer<byte[]>> createForSerializedState() {
                    return factory.createForSerializedState();
                }
            };
        }
    }

    private abstract static class Adaptor<SV, SEV> implements StateSnapshotTransformFactory<SV> {
        final StateSnapshotTransformFactory<SEV> factory;

        Adaptor(StateSnapshotTransformFactory<SEV> factory) {
            this.factory = factory;
        }

        @Override
        public Optional<StateSnapshotTransformer<SV>> createForDeserializedState() {
            throw new UnsupportedOperationException(
                    "Only serialized state filtering is supported in the ferrostate backend");
        }
    }

    /** Applies an element transformer to each element of a list in Flink's delimited format. */
    static final class ListWrapper<T> implements StateSnapshotTransformer<byte[]> {
        private final StateSnapshotTransformer<T> elementTransformer;
        private final TypeSerializer<T> elementSerializer;
        private final CollectionStateSnapshotTransformer.TransformStrategy strategy;
        private final ListDelimitedSerializer listSerializer = new ListDelimitedSerializer();
        private final DataInputDeserializer in = new DataInputDeserializer();

        ListWrapper(StateSnapshotTransformer<T> elementTransformer, TypeSerializer<T> serializer) {
            this.elementTransformer = elementTransformer;
            this.elementSerializer = serializer;
            this.strategy =
                    elementTransformer instanceof CollectionStateSnapshotTransformer
                            ? ((CollectionStateSnapshotTransformer<?>) elementTransformer)
                                    .getFilterStrategy()
                            : CollectionStateSnapshotTransformer.TransformStrategy.TRANSFORM_ALL;
        }

        @Override
        @Nullable
        public byte[] filterOrTransform(@Nullable byte[] value) {
            if (value == null) {
                return null;
            }
            List<T> result = new ArrayList<>();
            in.setBuffer(value);
            T next;
            int prevPosition = 0;
            try {
                while ((next =
                                ListDelimitedSerializer.deserializeNextElement(
                                        in, elementSerializer))
                        != null) {
                    T transformed = elementTransformer.filterOrTransform(next);
                    if (transformed != null) {
                        if (strategy == STOP_ON_FIRST_INCLUDED) {
                            return Arrays.copyOfRange(value, prevPosition, value.length);
                        }
                        result.add(transformed);
                    }
                    prevPosition = in.getPosition();
                }
                return result.isEmpty()
                        ? null
                        : listSerializer.serializeList(result, elementSerializer);
            } catch (IOException e) {
                throw new FlinkRuntimeException("Failed to serialize transformed list", e);
            }
        }
    }

    /**
     * Applies a value transformer behind the null flag of a map value. Unlike RocksDB's wrapper,
     * which keeps a filtered entry as a null value, a filtered entry is dropped (as the heap
     * backend does), so restored TTL maps hold no null {@code TtlValue}s.
     */
    static final class MapWrapper implements StateSnapshotTransformer<byte[]> {
        private static final byte NON_NULL = 0;
        private final StateSnapshotTransformer<byte[]> elementTransformer;

        MapWrapper(StateSnapshotTransformer<byte[]> elementTransformer) {
            this.elementTransformer = elementTransformer;
        }

        @Override
        @Nullable
        public byte[] filterOrTransform(@Nullable byte[] value) {
            if (value == null || value.length == 0 || value[0] != NON_NULL) {
                return value;
            }
            byte[] withoutFlag = Arrays.copyOfRange(value, 1, value.length);
            byte[] filtered = elementTransformer.filterOrTransform(withoutFlag);
            if (filtered == null) {
                return null;
            }
            if (filtered == withoutFlag) {
                return value;
            }
            byte[] out = new byte[filtered.length + 1];
            out[0] = NON_NULL;
            System.arraycopy(filtered, 0, out, 1, filtered.length);
            return out;
        }
    }
}
