#!/usr/bin/env bash
# ferrostate's fuzz targets (cargo-fuzz, libFuzzer; see fuzz/README.md). They link the RocksDB
# library the main build compiled (librocksdb-sys's ROCKSDB_LIB_DIR + ROCKSDB_STATIC), so
# RocksDB is never compiled a second time, and build in their own target directory.
#
#   fuzz/fuzz.sh build                         build every target
#   fuzz/fuzz.sh run TARGET [SECONDS] [ARGS]   fuzz one target (60 s; ARGS go to libFuzzer)
#   fuzz/fuzz.sh all [SECONDS]                 every target in turn (what `make fuzz` runs)
#   fuzz/fuzz.sh smoke [SECONDS]               every target briefly (what `make test` runs);
#                                              skips, saying so, without a nightly toolchain
#   fuzz/fuzz.sh replay TARGET FILE...         run a target on inputs (a crash, a corpus file)
#   fuzz/fuzz.sh keep TARGET                   merge into the committed corpus the inputs of the
#                                              grown one that add coverage (to commit them)
#   fuzz/fuzz.sh seeds                         write the seed corpora into fuzz/corpus/
#   fuzz/fuzz.sh list                          the targets
#
# Environment: FUZZ_NICE (niceness, 10), FUZZ_SANITIZER (address; `none` runs the targets that
# reach RocksDB 3 to 20 times faster), FUZZ_TARGET_DIR (~/.cache/ferrostate/fuzz-target),
# FUZZ_WORK (working corpora and logs, ~/.cache/ferrostate/fuzz-work), CARGO_TARGET_DIR (the
# main build's, where librocksdb.a is found; ~/.cache/ferrostate/target).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
main_target=${CARGO_TARGET_DIR:-$HOME/.cache/ferrostate/target}
sanitizer=${FUZZ_SANITIZER:-address}
fuzz_target=${FUZZ_TARGET_DIR:-$HOME/.cache/ferrostate/fuzz-target}
# Other sanitizer flags rebuild everything: they get a target directory of their own.
[ "$sanitizer" = address ] || fuzz_target="$fuzz_target-$sanitizer"
work=${FUZZ_WORK:-$HOME/.cache/ferrostate/fuzz-work}
nice_level=${FUZZ_NICE:-10}
cargo_fuzz_version=0.13.2
targets=(keygroup manifest snapshot_index list_value ttl jni_codecs put_entries cli_verify rocks_files restore store_ops)

say() { echo "fuzz: $*"; }

# The toolchain: nightly and cargo-fuzz (installed at a pinned version when nightly is there).
have_toolchain() {
  if ! cargo +nightly --version >/dev/null 2>&1; then
    say "no nightly toolchain (rustup toolchain install nightly)"
    return 1
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
    say "installing cargo-fuzz $cargo_fuzz_version"
    nice -n "$nice_level" cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked >/dev/null 2>&1 || {
      say "could not install cargo-fuzz $cargo_fuzz_version"
      return 1
    }
  fi
}

# Points librocksdb-sys at the static library of the main build (building the engine there
# first when it is missing: the same build `make native` does, from the same cache).
setup_env() {
  local lib
  lib=$(ls -t "$main_target"/release/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -1 || true)
  if [ -z "$lib" ]; then
    say "no librocksdb.a under $main_target: building the engine in the main workspace first"
    (cd "$repo" && CARGO_TARGET_DIR="$main_target" nice -n "$nice_level" cargo build --release --locked -p ferrostate-engine)
    lib=$(ls -t "$main_target"/release/build/librocksdb-sys-*/out/librocksdb.a | head -1)
  fi
  export ROCKSDB_LIB_DIR
  ROCKSDB_LIB_DIR=$(dirname "$lib")
  export ROCKSDB_STATIC=1
  export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  unset CARGO_TARGET_DIR
  local shm=/dev/shm
  [ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
  FERROSTATE_FUZZ_TMP=$(mktemp -d "$shm/ferrostate-fuzz.XXXXXX")
  export FERROSTATE_FUZZ_TMP
  trap 'rm -rf "$FERROSTATE_FUZZ_TMP"' EXIT
  mkdir -p "$work/logs"
}

cargo_fuzz() {
  (cd "$here" && nice -n "$nice_level" cargo +nightly fuzz "$@")
}

build() {
  cargo_fuzz build -s "$sanitizer" --target-dir "$fuzz_target"
}

# Fuzzes one target for $2 seconds; new inputs go to the working corpus, the committed seeds
# are read only. Prints executions and executions per second.
run_one() {
  local t=$1 secs=$2
  shift 2
  local log="${log_dir:-$work/logs}/$t.log"
  local corpus=${work_corpus:-$work/corpus}/$t
  mkdir -p "$corpus" "$here/corpus/$t"
  local status=0 extra=() t0=$SECONDS
  # Longer inputs from the start: an input is a sequence of operations.
  [ "$t" = store_ops ] && extra=(-max_len=2048 -len_control=0)
  cargo_fuzz run -s "$sanitizer" --target-dir "$fuzz_target" "$t" "$corpus" "$here/corpus/$t" -- \
    -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 "${extra[@]}" "$@" >"$log" 2>&1 || status=$?
  local runs rate
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ -z "$runs" ]; then
    # -fork=N prints no final stats: its last status line ("#N: cov: ... exec/s: R ...") counts.
    runs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
    [ -n "$runs" ] && rate=$((runs / ((SECONDS - t0) > 0 ? SECONDS - t0 : 1)))
  fi
  if [ "$status" != 0 ]; then
    say "$t: FAILED after ${runs:-?} executions (log: $log)"
    grep -E -A12 "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -60 || true
    return 1
  fi
  local where=" (log: $log)"
  [ -n "${log_dir:-}" ] && where=""
  say "$t: ${runs:-?} executions in $((SECONDS - t0)) s, ${rate:-?} exec/s, no crash$where"
}

run_all() {
  local secs=$1 label=$2 passed=0 failed=0
  for t in "${targets[@]}"; do
    if run_one "$t" "$secs"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  echo "$label: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

cmd=${1:-}
case "$cmd" in
  list)
    printf '%s\n' "${targets[@]}"
    ;;
  build)
    have_toolchain
    setup_env
    build
    ;;
  seeds)
    have_toolchain
    setup_env
    build
    (cd "$here" && "$fuzz_target"/x86_64-unknown-linux-gnu/release/seeds)
    ;;
  run)
    [ $# -ge 2 ] || { echo "usage: fuzz/fuzz.sh run TARGET [SECONDS] [libFuzzer args]"; exit 2; }
    have_toolchain
    setup_env
    t=$2
    secs=${3:-60}
    shift $(($# < 3 ? $# : 3))
    run_one "$t" "$secs" "$@"
    ;;
  replay)
    [ $# -ge 3 ] || { echo "usage: fuzz/fuzz.sh replay TARGET FILE..."; exit 2; }
    have_toolchain
    setup_env
    t=$2
    shift 2
    files=()
    for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
    cargo_fuzz run -s "$sanitizer" --target-dir "$fuzz_target" "$t" "${files[@]}"
    ;;
  keep)
    [ $# -eq 2 ] || { echo "usage: fuzz/fuzz.sh keep TARGET"; exit 2; }
    have_toolchain
    setup_env
    t=$2
    [ -d "$here/corpus/$t" ] || { say "no committed corpus fuzz/corpus/$t (fuzz/fuzz.sh list)"; exit 2; }
    [ -d "$work/corpus/$t" ] || { say "no grown corpus $work/corpus/$t: fuzz $t first"; exit 2; }
    before=$(ls "$here/corpus/$t" | wc -l)
    # libFuzzer's set-cover merge: the fewest inputs of the grown corpus that reach every
    # feature (edge, counter bucket, comparison) the first directory's inputs do not join it
    # (a plain -merge=1 took about twice as many; `make test`'s smoke runs them all).
    log="$work/logs/$t-keep.log"
    if ! cargo_fuzz run -s "$sanitizer" --target-dir "$fuzz_target" "$t" "$here/corpus/$t" "$work/corpus/$t" -- \
      -set_cover_merge=1 -timeout=60 -rss_limit_mb=4096 >"$log" 2>&1; then
      say "$t: the merge FAILED (log: $log)"
      tail -n 20 "$log"
      exit 1
    fi
    say "$t: $(($(ls "$here/corpus/$t" | wc -l) - before)) inputs of $work/corpus/$t joined corpus/$t"
    ;;
  all)
    have_toolchain
    setup_env
    build
    run_all "${2:-60}" fuzz
    ;;
  smoke)
    if ! have_toolchain; then
      say "SKIPPED: the fuzz smoke needs the nightly toolchain and cargo-fuzz"
      exit 0
    fi
    setup_env
    build
    # From the committed seeds alone (a grown working corpus would take long to load), so the
    # smoke takes the same time everywhere; its logs go with the scratch directory (a failure
    # prints what matters), so smokes of several clones at once do not mix them.
    work_corpus="$FERROSTATE_FUZZ_TMP/corpus"
    log_dir="$FERROSTATE_FUZZ_TMP/logs"
    mkdir -p "$log_dir"
    run_all "${2:-10}" "fuzz smoke"
    ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
