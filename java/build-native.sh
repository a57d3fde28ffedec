#!/usr/bin/env bash
# Builds the JNI library with Cargo and packs a copy without debug info into the jar's
# platform folder. Called by Maven (java/pom.xml) in generate-resources.
set -euo pipefail
target_dir="$1"
out_dir="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CARGO_TARGET_DIR="$target_dir" cargo build --release --locked -p ferrostate-jni
mkdir -p "$out_dir/native/linux-x86_64"
strip --strip-debug -o "$out_dir/native/linux-x86_64/libferrostate_jni.so" \
  "$target_dir/release/libferrostate_jni.so"
