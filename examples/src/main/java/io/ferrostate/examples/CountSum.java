package io.ferrostate.examples;

/** A key's count and sum of values: the windows' accumulator and result (a Flink POJO). */
public class CountSum {
    public long key;
    public long count;
    public long sum;

    public CountSum() {}

    public CountSum(long key, long count, long sum) {
        this.key = key;
        this.count = count;
        this.sum = sum;
    }

    public static String line(String kind, long key, long start, long end, long count, long sum) {
        return kind + " key=" + key + " start=" + start + " end=" + end + " count=" + count
                + " sum=" + sum;
    }
}
