package io.ferrostate.flink.nativ;

import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.MemorySegment;
import org.apache.flink.core.memory.MemorySegmentFactory;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
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

    /**
     * Memory segments on and off the heap (what SQL's binary rows are written as, through {@link
     * org.apache.flink.core.memory.MemorySegmentWritable}) and byte arrays land whole, from any
     * offset, while the buffer grows; a {@link DirectInputView} over the buffer reads them back.
     */
    @Test
    void segmentsAndArraysLandWholeWhileTheBufferGrows() throws Exception {
        byte[] pattern = new byte[300];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 7 + 1);
        }
        MemorySegment onHeap = MemorySegmentFactory.wrap(pattern);
        MemorySegment offHeap = MemorySegmentFactory.allocateUnpooledOffHeapMemory(300);
        offHeap.put(0, pattern, 0, pattern.length);
        AtomicInteger replaced = new AtomicInteger();
        DirectOutputView out = new DirectOutputView(16, v -> replaced.incrementAndGet());
        for (int i = 0; i < 50; i++) {
            int off = i % 7;
            int len = i * 5;
            out.write(onHeap, off, len);
            out.write(offHeap, off, len);
            out.write(pattern, off, len);
        }
        assertThat(replaced.get()).isPositive();
        DirectInputView in = new DirectInputView().reset(out.buffer(), 0, out.position());
        for (int i = 0; i < 50; i++) {
            int off = i % 7;
            int len = i * 5;
            byte[] want = Arrays.copyOfRange(pattern, off, off + len);
            for (int part = 0; part < 3; part++) {
                byte[] got = new byte[len];
                in.readFully(got);
                assertThat(got).isEqualTo(want);
            }
        }
        assertThat(in.available()).isZero();
        assertThat(in.read(new byte[1], 0, 1)).isEqualTo(-1);
    }

    private static byte[] copy(DirectOutputView out) {
        ByteBuffer b = out.buffer().duplicate();
        b.position(0).limit(out.position());
        byte[] bytes = new byte[out.position()];
        b.get(bytes);
        return bytes;
    }
}
