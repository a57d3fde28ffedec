package io.ferrostate.flink.ttl;

import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.ttl.TtlTimeProvider;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Wraps the job's {@link TtlTimeProvider} and publishes every time it tells into an 8-byte direct
 * buffer that the native TTL compaction filter reads. The filter runs on RocksDB's own threads,
 * which must never call into the JVM (an attached native thread blocks the JVM's exit), so the time
 * comes to it instead: whenever TTL state asks for the time, and before a manual compaction. With
 * Flink's default provider (the system clock) no cell is needed: the filter reads the system clock
 * itself.
 */
@Internal
public final class PublishingTimeProvider implements TtlTimeProvider {
    private final TtlTimeProvider delegate;
    private final ByteBuffer cell;

    private PublishingTimeProvider(TtlTimeProvider delegate) {
        this.delegate = delegate;
        this.cell = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        currentTimestamp();
    }

    /** The provider to give the backend: {@code provider} itself when it is the system clock. */
    public static TtlTimeProvider wrap(TtlTimeProvider provider) {
        return provider == TtlTimeProvider.DEFAULT
                ? provider
                : new PublishingTimeProvider(provider);
    }

    /** The cell the native filter reads, or null when it should read the system clock. */
    public static ByteBuffer cellOf(TtlTimeProvider provider) {
        return provider instanceof PublishingTimeProvider
                ? ((PublishingTimeProvider) provider).cell
                : null;
    }

    @Override
    public long currentTimestamp() {
        long now = delegate.currentTimestamp();
        cell.putLong(0, now);
        return now;
    }
}
