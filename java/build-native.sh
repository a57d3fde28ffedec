#!/usr/bin/env bash
# Builds the JNI library with Cargo and packs copies without debug info into the jar's platform
# folder: the released library into the classes, and one built with the `test-hooks` feature
# (rust/jni/src/hooks.rs: panic and benchmark hooks) into the test classes, which come first on
# the test classpath and make up the test-jar the benchmarks use. Beside each library, its
# `.sha256` (SHA-256 in hex and size in bytes), by which NativeLibraryLoader names and recognizes
# the extracted copies without hashing 13 MB on every TaskManager start. Called by Maven
# (java/pom.xml, flink-2.3/pom.xml) in generate-resources.
set -euo pipefail
target_dir="$1"
out_dir="$2"
test_out_dir="$3"
root="$(cd "$(dirname "$0")/.." && pwd)"
platform=native/linux-x86_64
cd "$root"
# Writes <library>.sha256: "<sha-256 hex> <size in bytes>".
describe() {
  echo "$(sha256sum "$1" | cut -d' ' -f1) $(stat -c %s "$1")" > "$1.sha256"
}
# Hooks first, so that the library left in the target directory is the released one.
CARGO_TARGET_DIR="$target_dir" cargo build --release --locked -p ferrostate-jni --features test-hooks
mkdir -p "$test_out_dir/$platform"
strip --strip-debug -o "$test_out_dir/$platform/libferrostate_jni.so" \
  "$target_dir/release/libferrostate_jni.so"
describe "$test_out_dir/$platform/libferrostate_jni.so"
CARGO_TARGET_DIR="$target_dir" cargo build --release --locked -p ferrostate-jni
mkdir -p "$out_dir/$platform"
strip --strip-debug -o "$out_dir/$platform/libferrostate_jni.so" \
  "$target_dir/release/libferrostate_jni.so"
describe "$out_dir/$platform/libferrostate_jni.so"
