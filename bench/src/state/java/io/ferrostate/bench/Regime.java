package io.ferrostate.bench;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.DoubleSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;

import java.util.Random;

/**
 * The two memory regimes of the suite, chosen by the JMH parameter {@code regime}.
 *
 * <ul>
 *   <li>{@code in-memory}: the shapes of Flink's flink-benchmarks state suite (Long keys, Long
 *       values, Double map values) and a budget (1.5 GiB) that holds all of them (5M map entries
 *       included): RocksDB's block cache and memtables, ferrostate's hot tier and RocksDB tier.
 *   <li>{@code out-of-core}: the same 500,000 keys and the same operations, with values large
 *       enough that the state is about 10x the budget (64 MiB): 1,280-byte values and list
 *       elements, 128-byte map values (10 per key), all random, so incompressible. RocksDB and
 *       ferrostate get the same budget; HashMapStateBackend has none (it just needs a larger heap).
 * </ul>
 *
 * Every size can be overridden with a system property (given to the runner, which passes it on to
 * JMH's forks): {@code ferrostate.bench.<regime>.budget-mb}, {@code
 * ferrostate.bench.out-of-core.value-bytes}, {@code ferrostate.bench.out-of-core.map-value-bytes}.
 */
public enum Regime {
    IN_MEMORY("in-memory", 1536, 0, 0),
    OUT_OF_CORE("out-of-core", 64, 1280, 128);

    /** Distinct large values the out-of-core regime cycles through (random bytes each). */
    static final int VALUE_POOL_SIZE = 1024;

    public final String id;
    private final long defaultBudgetMb;
    private final int defaultValueBytes;
    private final int defaultMapValueBytes;

    Regime(String id, long budgetMb, int valueBytes, int mapValueBytes) {
        this.id = id;
        this.defaultBudgetMb = budgetMb;
        this.defaultValueBytes = valueBytes;
        this.defaultMapValueBytes = mapValueBytes;
    }

    public static Regime of(String id) {
        for (Regime r : values()) {
            if (r.id.equals(id) || r.name().equals(id)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown regime " + id + " (in-memory | out-of-core)");
    }

    /** Managed memory of the task: the budget of RocksDB and of ferrostate. */
    public long budgetBytes() {
        return Long.getLong("ferrostate.bench." + id + ".budget-mb", defaultBudgetMb) << 20;
    }

    /** Size of a value and of a list element; 0 = Flink's shape (a Long). */
    public int valueBytes() {
        return Integer.getInteger("ferrostate.bench." + id + ".value-bytes", defaultValueBytes);
    }

    /** Size of a map value; 0 = Flink's shape (a Double). */
    public int mapValueBytes() {
        return Integer.getInteger(
                "ferrostate.bench." + id + ".map-value-bytes", defaultMapValueBytes);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public TypeSerializer<Object> valueSerializer() {
        return valueBytes() > 0
                ? (TypeSerializer) BytePrimitiveArraySerializer.INSTANCE
                : (TypeSerializer) LongSerializer.INSTANCE;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public TypeSerializer<Object> mapValueSerializer() {
        return mapValueBytes() > 0
                ? (TypeSerializer) BytePrimitiveArraySerializer.INSTANCE
                : (TypeSerializer) DoubleSerializer.INSTANCE;
    }

    /** Random byte arrays of {@code size}, or null when the regime uses Flink's boxed shapes. */
    static byte[][] pool(int size, long seed) {
        if (size <= 0) {
            return null;
        }
        Random random = new Random(seed);
        byte[][] pool = new byte[VALUE_POOL_SIZE][];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = new byte[size];
            random.nextBytes(pool[i]);
        }
        return pool;
    }

    /** Approximate bytes one value / list element / map entry adds to the state. */
    long valueStateBytesPerKey() {
        return 10 + (valueBytes() > 0 ? 4 + valueBytes() : 8);
    }

    long mapStateBytesPerEntry() {
        return 18 + 1 + (mapValueBytes() > 0 ? 4 + mapValueBytes() : 8);
    }
}
