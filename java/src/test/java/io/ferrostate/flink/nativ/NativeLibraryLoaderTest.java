package io.ferrostate.flink.nativ;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The loader names and recognizes the extracted copies of the library by the SHA-256 and size the
 * build writes beside it ({@code build-native.sh}), without hashing the library at run time: that
 * description must be the library's own, or a TaskManager would load a copy of another build.
 */
class NativeLibraryLoaderTest {

    @Test
    void thePackedDescriptionIsTheLibrarys() throws Exception {
        String resource = "/native/" + NativeLibraryLoader.platform() + "/libferrostate_jni.so";
        NativeLibraryLoader.Packed packed = new NativeLibraryLoader.Packed(resource);
        byte[] library = packed.bytes();
        assertEquals(
                NativeLibraryLoader.sha256Hex(library),
                packed.sha256(),
                "the SHA-256 in " + resource + ".sha256");
        assertEquals(library.length, packed.size(), "the size in " + resource + ".sha256");
    }
}
