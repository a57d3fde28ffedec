package io.ferrostate.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The data of flink-benchmarks' state suite ({@code StateBenchmarkConstants}), generated up front
 * so no benchmark pays for a random number: 500,000 setup keys (0..499,999, shuffled), 500,000 new
 * keys (500,000..999,999, shuffled), 1,000,000 values, 10 map keys and 10 map values.
 */
final class StateBenchmarkData {
    static final int MAP_KEY_COUNT = 10;
    static final int LIST_VALUE_COUNT = 100;
    static final int SETUP_KEY_COUNT = 500_000;
    static final int NEW_KEY_COUNT = 500_000;
    static final int RANDOM_VALUE_COUNT = 1_000_000;

    static final List<Long> MAP_KEYS = shuffledRange(0, MAP_KEY_COUNT, 1);
    static final List<Double> MAP_VALUES = randomDoubles(MAP_KEY_COUNT, 2);
    static final List<Long> SETUP_KEYS = shuffledRange(0, SETUP_KEY_COUNT, 3);
    static final List<Long> NEW_KEYS = shuffledRange(SETUP_KEY_COUNT, NEW_KEY_COUNT, 4);
    static final List<Long> RANDOM_VALUES = shuffledRange(0, RANDOM_VALUE_COUNT, 5);

    private StateBenchmarkData() {}

    private static List<Long> shuffledRange(long from, int count, long seed) {
        ArrayList<Long> list = new ArrayList<>(count);
        for (long i = 0; i < count; i++) {
            list.add(from + i);
        }
        Collections.shuffle(list, new Random(seed));
        return list;
    }

    private static List<Double> randomDoubles(int count, long seed) {
        Random random = new Random(seed);
        ArrayList<Double> list = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            list.add(random.nextDouble());
        }
        return list;
    }
}
