package io.ferrostate.flink;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.state.AggregatingStateDescriptor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.IntSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.internal.InternalAggregatingState;
import org.apache.flink.runtime.state.internal.InternalListState;
import org.apache.flink.runtime.state.internal.InternalReducingState;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each state kind through the Java backend, with namespaces, against a plain Java model. */
class StateKindsTest {
    private MockEnvironment env;
    private FerroKeyedStateBackend<Integer> backend;

    @BeforeEach
    void setUp() throws Exception {
        env = BackendTestUtils.env();
        backend = BackendTestUtils.create(env, IntSerializer.INSTANCE);
    }

    @AfterEach
    void tearDown() throws Exception {
        backend.dispose();
        env.close();
    }

    @Test
    void valueStateMatchesAModelAcrossHotTierEvictionAndSnapshot() throws Exception {
        ValueState<Long> state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
        Map<Integer, Long> model = new HashMap<>();
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            int key = rnd.nextInt(20_000);
            backend.setCurrentKey(key);
            switch (rnd.nextInt(4)) {
                case 0:
                    state.clear();
                    model.remove(key);
                    break;
                case 1:
                    assertThat(state.value()).isEqualTo(model.get(key));
                    break;
                default:
                    long v = rnd.nextLong();
                    state.update(v);
                    model.put(key, v);
            }
            if (i == 100_000) {
                // Everything in the hot tier goes to RocksDB and is read back from there.
                backend.store().dropHotTier();
            }
        }
        for (int key = 0; key < 20_000; key++) {
            backend.setCurrentKey(key);
            assertThat(state.value()).isEqualTo(model.get(key));
        }
        KeyedStateHandle handle = BackendTestUtils.snapshot(backend, 1);
        backend.dispose();
        backend =
                BackendTestUtils.create(
                        env, IntSerializer.INSTANCE, Collections.singletonList(handle));
        state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("v", LongSerializer.INSTANCE));
        for (int key = 0; key < 20_000; key++) {
            backend.setCurrentKey(key);
            assertThat(state.value()).isEqualTo(model.get(key));
        }
    }

    @Test
    void tenMegabyteAndEmptyValuesRoundTrip() throws Exception {
        ValueState<byte[]> state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("bytes", BytePrimitiveArraySerializer.INSTANCE));
        byte[] big = new byte[10 << 20];
        new Random(1).nextBytes(big);
        backend.setCurrentKey(1);
        state.update(big);
        backend.setCurrentKey(2);
        state.update(new byte[0]);
        backend.setCurrentKey(1);
        assertThat(state.value()).isEqualTo(big);
        backend.setCurrentKey(2);
        assertThat(state.value()).isEmpty();
        KeyedStateHandle handle = BackendTestUtils.snapshot(backend, 1);
        backend.dispose();
        backend =
                BackendTestUtils.create(
                        env, IntSerializer.INSTANCE, Collections.singletonList(handle));
        state =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("bytes", BytePrimitiveArraySerializer.INSTANCE));
        backend.setCurrentKey(1);
        assertThat(state.value()).isEqualTo(big);
        backend.setCurrentKey(2);
        assertThat(state.value()).isEmpty();
    }

    @Test
    void nullHandlingMatchesTheHashMapBackend() throws Exception {
        ValueState<String> value =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ValueStateDescriptor<>("s", StringSerializer.INSTANCE));
        backend.setCurrentKey(7);
        value.update("x");
        value.update(null);
        assertThat(value.value()).isNull();

        ListState<String> list =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ListStateDescriptor<>("l", StringSerializer.INSTANCE));
        assertThatThrownBy(() -> list.add(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> list.addAll(Arrays.asList("a", null)))
                .isInstanceOf(NullPointerException.class);
        // As on the HashMap backend, an empty list reads as null below the user-facing API.
        assertThat(list.get()).isNull();

        MapState<String, String> map =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new MapStateDescriptor<>(
                                "m", StringSerializer.INSTANCE, StringSerializer.INSTANCE));
        map.put("k", null);
        assertThat(map.contains("k")).isTrue();
        assertThat(map.get("k")).isNull();
    }

    @Test
    void listAppendDoesNotReadTheList() throws Exception {
        ListState<Long> list =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new ListStateDescriptor<>("l", LongSerializer.INSTANCE));
        backend.setCurrentKey(3);
        list.add(1L);
        backend.store().dropHotTier();
        long readsBefore = backend.store().stats().rocksdbReads;
        for (long i = 2; i <= 1000; i++) {
            list.add(i);
        }
        list.addAll(Arrays.asList(1001L, 1002L));
        assertThat(backend.store().stats().rocksdbReads).isEqualTo(readsBefore);
        List<Long> expected = new ArrayList<>();
        for (long i = 1; i <= 1002; i++) {
            expected.add(i);
        }
        assertThat(list.get()).containsExactlyElementsOf(expected);
        assertThat(backend.store().stats().rocksdbReads).isEqualTo(readsBefore + 1);
    }

    @Test
    void listStateWithNamespacesAndMerge() throws Exception {
        InternalListState<Integer, String, Long> list =
                backend.createOrUpdateInternalState(
                        StringSerializer.INSTANCE,
                        new ListStateDescriptor<>("l", LongSerializer.INSTANCE));
        backend.setCurrentKey(1);
        list.setCurrentNamespace("a");
        list.addAll(Arrays.asList(1L, 2L));
        list.setCurrentNamespace("b");
        list.add(3L);
        list.setCurrentNamespace("c");
        list.update(Arrays.asList(4L, 5L));
        list.mergeNamespaces("c", Arrays.asList("a", "b"));
        assertThat(list.get()).containsExactly(4L, 5L, 1L, 2L, 3L);
        list.setCurrentNamespace("a");
        assertThat(list.get()).isNull();
        list.setCurrentNamespace("c");
        list.update(Collections.emptyList());
        assertThat(list.get()).isNull();
    }

    @Test
    void mapStateIteratesInsertsAndRemovesWhileIterating() throws Exception {
        MapState<Integer, String> map =
                backend.getPartitionedState(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        new MapStateDescriptor<>(
                                "m", IntSerializer.INSTANCE, StringSerializer.INSTANCE));
        backend.setCurrentKey(5);
        for (int i = 0; i < 1000; i++) {
            map.put(i, "v" + i);
        }
        backend.setCurrentKey(6);
        map.put(1, "other key");
        backend.setCurrentKey(5);
        int seen = 0;
        java.util.Iterator<Map.Entry<Integer, String>> it = map.iterator();
        while (it.hasNext()) {
            Map.Entry<Integer, String> e = it.next();
            assertThat(e.getValue()).isEqualTo("v" + e.getKey());
            if (e.getKey() % 2 == 0) {
                it.remove();
            } else {
                e.setValue("w" + e.getKey());
            }
            seen++;
        }
        assertThat(seen).isEqualTo(1000);
        assertThat(map.keys()).hasSize(500).allMatch(k -> k % 2 == 1);
        assertThat(map.get(3)).isEqualTo("w3");
        assertThat(map.isEmpty()).isFalse();
        map.clear();
        assertThat(map.isEmpty()).isTrue();
        backend.setCurrentKey(6);
        assertThat(map.get(1)).isEqualTo("other key");
    }

    @Test
    void reducingAndAggregatingStateWithMerges() throws Exception {
        InternalReducingState<Integer, String, Long> sum =
                backend.createOrUpdateInternalState(
                        StringSerializer.INSTANCE,
                        new ReducingStateDescriptor<>("r", Long::sum, LongSerializer.INSTANCE));
        InternalAggregatingState<Integer, String, Long, Long, String> agg =
                backend.createOrUpdateInternalState(
                        StringSerializer.INSTANCE,
                        new AggregatingStateDescriptor<>(
                                "a", new Count(), LongSerializer.INSTANCE));
        backend.setCurrentKey(9);
        for (String ns : Arrays.asList("x", "y", "z")) {
            sum.setCurrentNamespace(ns);
            agg.setCurrentNamespace(ns);
            for (long i = 1; i <= 4; i++) {
                sum.add(i);
                agg.add(i);
            }
        }
        sum.mergeNamespaces("z", Arrays.asList("x", "y"));
        agg.mergeNamespaces("z", Arrays.asList("x", "y"));
        sum.setCurrentNamespace("z");
        agg.setCurrentNamespace("z");
        assertThat(sum.get()).isEqualTo(30L);
        assertThat(agg.get()).isEqualTo("count=12");
        sum.setCurrentNamespace("x");
        agg.setCurrentNamespace("x");
        assertThat(sum.get()).isNull();
        assertThat(agg.get()).isNull();
    }

    @Test
    void keysOutsideTheKeyGroupRangeAreRejected() throws Exception {
        MockEnvironment env2 = BackendTestUtils.env();
        FerroKeyedStateBackend<Integer> narrow =
                BackendTestUtils.create(
                        env2,
                        new FerroStateBackend(false),
                        IntSerializer.INSTANCE,
                        128,
                        new org.apache.flink.runtime.state.KeyGroupRange(0, 0),
                        Collections.emptyList());
        try {
            int outside = 0;
            while (org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup(
                            outside, 128)
                    == 0) {
                outside++;
            }
            int key = outside;
            assertThatThrownBy(() -> narrow.setCurrentKey(key))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not in KeyGroupRange");
        } finally {
            narrow.dispose();
            env2.close();
        }
    }

    /** Counts inputs. */
    private static final class Count implements AggregateFunction<Long, Long, String> {
        @Override
        public Long createAccumulator() {
            return 0L;
        }

        @Override
        public Long add(Long value, Long acc) {
            return acc + 1;
        }

        @Override
        public String getResult(Long acc) {
            return "count=" + acc;
        }

        @Override
        public Long merge(Long a, Long b) {
            return a + b;
        }
    }
}
