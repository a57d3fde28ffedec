package io.ferrostate.bench;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import static io.ferrostate.bench.StateBenchmarkData.MAP_KEYS;
import static io.ferrostate.bench.StateBenchmarkData.MAP_KEY_COUNT;
import static io.ferrostate.bench.StateBenchmarkData.SETUP_KEY_COUNT;

/**
 * flink-benchmarks' {@code MapStateBenchmark}: each of 500,000 keys holds a map of 10 entries (Long
 * user keys; Double values, 128-byte values out-of-core). The iterating benchmarks count one
 * operation per entry, as Flink's do.
 */
public class MapStateBenchmark extends StateBenchmarkBase {
    static final String STATE_NAME = "mapState";

    private MapState<Long, Object> mapState;
    private Map<Long, Object> dummyMaps;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        createKeyedStateBackend();
        MapStateDescriptor<Long, Object> desc =
                new MapStateDescriptor<>(
                        STATE_NAME, LongSerializer.INSTANCE, reg.mapValueSerializer());
        mapState =
                keyedStateBackend.getPartitionedState(
                        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, desc);
        dummyMaps = new HashMap<>(MAP_KEY_COUNT);
        for (int i = 0; i < MAP_KEY_COUNT; ++i) {
            dummyMaps.put(MAP_KEYS.get(i), setupMapValue());
        }
        // Flink's load: the 10 entries put one by one. -Dferrostate.bench.map.load=putAll loads the
        // same entries with one putAll per key (faster for RocksDB, which batches it; ferrostate
        // may then lay the data out differently, so it is not the default).
        Map<Long, Object> entries = new HashMap<>(MAP_KEY_COUNT * 2);
        boolean putAll = "putAll".equals(System.getProperty("ferrostate.bench.map.load", "put"));
        for (int i = 0; i < SETUP_KEY_COUNT; ++i) {
            keyedStateBackend.setCurrentKey((long) i);
            entries.clear();
            for (int j = 0; j < MAP_KEY_COUNT; j++) {
                entries.put(MAP_KEYS.get(j), setupMapValue());
            }
            if (putAll) {
                mapState.putAll(entries);
            } else {
                for (int j = 0; j < MAP_KEY_COUNT; j++) {
                    Long k = MAP_KEYS.get(j);
                    mapState.put(k, entries.get(k));
                }
            }
        }
        compactOutOfCore(desc);
        keyIndex.set(0);
        setupDone((long) SETUP_KEY_COUNT * MAP_KEY_COUNT * reg.mapStateBytesPerEntry());
    }

    @Benchmark
    public void mapUpdate(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        mapState.put(keyValue.mapKey, keyValue.mapValue);
    }

    @Benchmark
    public void mapAdd(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.newKey);
        mapState.put(keyValue.mapKey, keyValue.mapValue);
    }

    @Benchmark
    public Object mapGet(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        return mapState.get(keyValue.mapKey);
    }

    @Benchmark
    public boolean mapContains(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        // Half of these miss: user keys are 0..9, their doubles 0..18.
        return mapState.contains(keyValue.mapKey << 1);
    }

    @Benchmark
    public boolean mapIsEmpty(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        return mapState.isEmpty();
    }

    @Benchmark
    @OperationsPerInvocation(MAP_KEY_COUNT)
    public void mapKeys(KeyValue keyValue, Blackhole bh) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        for (Long key : mapState.keys()) {
            bh.consume(key);
        }
    }

    @Benchmark
    @OperationsPerInvocation(MAP_KEY_COUNT)
    public void mapValues(KeyValue keyValue, Blackhole bh) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        for (Object value : mapState.values()) {
            bh.consume(value);
        }
    }

    @Benchmark
    @OperationsPerInvocation(MAP_KEY_COUNT)
    public void mapEntries(KeyValue keyValue, Blackhole bh) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        // Asks for entries() twice, as Flink's benchmark does.
        Iterable<Map.Entry<Long, Object>> iterable = mapState.entries();
        if (iterable != null) {
            for (Map.Entry<Long, Object> entry : mapState.entries()) {
                bh.consume(entry.getKey());
                bh.consume(entry.getValue());
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(MAP_KEY_COUNT)
    public void mapIterator(KeyValue keyValue, Blackhole bh) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        Iterator<Map.Entry<Long, Object>> iterator = mapState.iterator();
        while (iterator.hasNext()) {
            Map.Entry<Long, Object> entry = iterator.next();
            bh.consume(entry.getKey());
            bh.consume(entry.getValue());
        }
    }

    @Benchmark
    public void mapRemove(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        mapState.remove(keyValue.mapKey);
    }

    @Benchmark
    public void mapPutAll(KeyValue keyValue) throws Exception {
        keyedStateBackend.setCurrentKey(keyValue.setUpKey);
        mapState.putAll(dummyMaps);
    }
}
