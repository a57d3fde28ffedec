package io.ferrostate.nexmark.check;

/**
 * The check sink on Flink 2.x: {@link CheckSink} as it is, without Flink 1.x's writer factory, so
 * it declares no method whose parameter Flink 2.x lacks. Compiled against Flink 2.x
 * (flink-tests-2.3 adds this directory to its test sources and the class to the Nexmark job jar);
 * {@link CheckSink#create} finds it by name.
 */
final class CheckSink2 extends CheckSink {
    private static final long serialVersionUID = 1L;

    CheckSink2(String path, Check.Mode mode, RowFormat format) {
        super(path, mode, format);
    }
}
