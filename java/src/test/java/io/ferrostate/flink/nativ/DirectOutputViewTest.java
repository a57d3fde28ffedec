package io.ferrostate.flink.nativ;

import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The direct output view grows under every kind of write, keeping what was written before. */
class DirectOutputViewTest {

    /**
     * Writes of one primitive at the end of a full buffer grow it and land in the new one (they
     * once went to the replaced buffer and failed: a String state value over 4 KiB, serialized
     * character by character, could not be written).
     */
    @Test
    void everyPrimitiveWriteGrowsTheBuffer() throws Exception {
        AtomicInteger replaced = new AtomicInteger();
        DirectOutputView out = new DirectOutputView(16, v -> replaced.incrementAndGet());
        for (int i = 0; i < 100; i++) {
            out.write(i);
            out.writeShort(i);
            out.writeChar('a' + i % 26);
            out.writeInt(i * 1_000);
            out.writeLong(i * 1_000_000L);
            out.writeBoolean(i % 2 == 0);
        }
        assertThat(replaced.get()).isPositive();
        DataInputDeserializer in = new DataInputDeserializer(copy(out));
        for (int i = 0; i < 100; i++) {
            assertThat(in.readUnsignedByte()).isEqualTo(i);
            assertThat(in.readShort()).isEqualTo((short) i);
            assertThat(in.readChar()).isEqualTo((char) ('a' + i % 26));
            assertThat(in.readInt()).isEqualTo(i * 1_000);
            assertThat(in.readLong()).isEqualTo(i * 1_000_000L);
            assertThat(in.readBoolean()).isEqualTo(i % 2 == 0);
        }
        assertThat(in.available()).isZero();
    }

    @Test
    void aLongStringSerializedCharByCharRoundTrips() throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 100_000; i++) {
            b.append((char) ('a' + i % 26));
        }
        String value = b.toString();
        DirectOutputView out = new DirectOutputView(4096, v -> {});
        StringSerializer.INSTANCE.serialize(value, out);
        assertThat(StringSerializer.INSTANCE.deserialize(new DataInputDeserializer(copy(out))))
                .isEqualTo(value);
    }

    private static byte[] copy(DirectOutputView out) {
        ByteBuffer b = out.buffer().duplicate();
        b.position(0).limit(out.position());
        byte[] bytes = new byte[out.position()];
        b.get(bytes);
        return bytes;
    }
}
