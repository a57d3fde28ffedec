# ferrostate: the entry points. `make demo` runs the example job, `make test` runs every test.
# Caches live outside the clone: Cargo's target directory and Maven's ~/.m2, so repeat builds
# are quick; a fresh machine builds everything (RocksDB from C++ source included) from nothing.

SHELL := /bin/bash
CARGO_TARGET_DIR ?= $(HOME)/.cache/ferrostate/target
export CARGO_TARGET_DIR
MVN ?= mvn -B -ntp
CARGO ?= cargo

.PHONY: all deps lint format rust-lint rust-test native jar demo test test-sql java-test bench bench-full bench-checkpoints bench-nexmark clean

all: jar

# The rocksdb crate compiles RocksDB with bindgen, which needs clang and libclang.
deps:
	@if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then \
	  echo "ferrostate: installing clang and libclang-dev (needed to build RocksDB)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else \
	    echo "ferrostate: clang and libclang-dev are missing and I cannot install them without root."; \
	    echo "Install them yourself, e.g.: apt-get install clang libclang-dev"; exit 1; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-dev >/dev/null 2>&1 || \
	  { $$SUDO apt-get update >/dev/null 2>&1 && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y clang libclang-dev; } || \
	  { echo "ferrostate: could not install clang libclang-dev; install them and run make again."; exit 1; }; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "ferrostate: cargo is missing; install Rust from https://rustup.rs"; exit 1; }
	@command -v mvn >/dev/null || { echo "ferrostate: Maven (mvn) is missing; install it (apt-get install maven)"; exit 1; }
	@command -v java >/dev/null || { echo "ferrostate: a JDK (11 or newer) is missing"; exit 1; }

native: deps
	$(CARGO) build --release --locked

rust-lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	$(CARGO) clippy --release --locked --all-targets -p ferrostate-jni --features test-hooks -- -D warnings

# Formats and lints: rustfmt and clippy for Rust, Spotless (google-java-format, AOSP style) for
# Java. `make test` runs both checks too (Maven checks the Java format before compiling).
lint: rust-lint
	$(MVN) -q spotless:check

format:
	$(CARGO) fmt --all
	$(MVN) -q spotless:apply

rust-test: deps
	$(CARGO) test --release --locked

jar: native
	$(MVN) -q install -DskipTests

demo: native
	$(MVN) -q install -DskipTests -pl examples -am
	$(MVN) -q -pl examples exec:exec@demo

# Everything: Rust format, lints and tests, then every Java test (Flink's own suites side by
# side for ferrostate, RocksDB and HashMap, MiniCluster jobs, the real-cluster tests).
test: rust-lint rust-test
	$(MVN) verify

java-test: native
	$(MVN) verify

# SQL alone (part of `make test`): Flink's stream SQL ITCases with a ferrostate run beside each
# RocksDB run, and the Nexmark queries compared with HashMap's results (flink-tests-sql).
test-sql: native
	$(MVN) -q install -DskipTests -pl flink-tests-sql -am
	$(MVN) verify -pl nexmark,flink-tests-sql

# JMH suite (bench/README.md): HashMap vs EmbeddedRocksDB vs ferrostate in one run, two memory
# regimes, the floor under one access and the example job. `bench` is the short profile (under
# 20 minutes on 2 cores); `bench-full` runs longer iterations, for committed results. Both write
# bench/results/latest.md and latest.json. BENCH_ARGS passes options to the runner, e.g.
#   make bench BENCH_ARGS="--include ValueStateBenchmark --regimes in-memory"
bench: native
	$(MVN) -q package -DskipTests -pl bench -am
	@if [ -f rust/engine/benches/lookup.rs ]; then \
	  $(CARGO) bench --locked -p ferrostate-engine --bench lookup; fi
	java -Xmx1g -Dlog4j2.configurationFile=log4j2-bench.properties \
	  -cp "bench/target/classes:$$(cat bench/target/bench.classpath)" io.ferrostate.bench.BenchRunner \
	  --profile short --out bench/results $(BENCH_ARGS)

bench-full: native
	$(MVN) -q package -DskipTests -pl bench -am
	@if [ -f rust/engine/benches/lookup.rs ]; then \
	  $(CARGO) bench --locked -p ferrostate-engine --bench lookup -- --warm-up-time 2 --measurement-time 5; fi
	java -Xmx1g -Dlog4j2.configurationFile=log4j2-bench.properties \
	  -cp "bench/target/classes:$$(cat bench/target/bench.classpath)" io.ferrostate.bench.BenchRunner \
	  --profile full --out bench/results $(BENCH_ARGS)

# Checkpoint and restore figures (issue 6 item 9): the same state (CKPT_MB MiB of keys + values,
# 1 GiB by default) on EmbeddedRocksDB with incremental checkpoints and on ferrostate: checkpoint
# synchronous/asynchronous parts, bytes uploaded after a 1% change, restore and rescale-restore
# times. Writes bench/results/checkpoints.md and checkpoints.json; the working files go under
# CKPT_WORKDIR (about 4x the state size on disk at the peak, deleted after each backend).
CKPT_MB ?= 1024
CKPT_WORKDIR ?= /tmp
bench-checkpoints: native
	$(MVN) -q package -DskipTests -pl bench -am
	java -Xmx2g -Dlog4j2.configurationFile=log4j2-bench.properties \
	  -cp "bench/target/classes:$$(cat bench/target/bench.classpath)" io.ferrostate.bench.CheckpointBenchmark \
	  --mb $(CKPT_MB) --workdir $(CKPT_WORKDIR) --out bench/results --name checkpoints $(CKPT_ARGS)

# Nexmark on a real standalone Flink 1.20.5 cluster (bench/README.md): every query on HashMap,
# RocksDB and ferrostate side by side, results checked across backends; writes
# bench/results/nexmark.md and nexmark.json. A quick check of two queries:
#   make bench-nexmark NEXMARK_QUERIES=q5,q20 NEXMARK_LARGE_SIZE=0
NEXMARK_QUERIES ?= q0,q1,q2,q3,q4,q5,q7,q8,q9,q11,q12,q15,q16,q17,q18,q19,q20
NEXMARK_SIZES ?= 5000000
# q16 (COUNT DISTINCT per day in three ranges) is the slowest query on every backend
NEXMARK_SIZE_OF ?= q16=2000000
NEXMARK_LARGE_SIZE ?= 15000000
NEXMARK_LARGE_QUERIES ?= q18,q19,q20
NEXMARK_TM_MEMORY ?= 6g
NEXMARK_ARGS ?=
bench-nexmark: native
	$(MVN) -q install -DskipTests -pl bench -am
	java -Xmx512m -cp "bench/target/classes:$$(cat bench/target/bench.classpath)" io.ferrostate.bench.NexmarkBenchmark \
	  --queries $(NEXMARK_QUERIES) --sizes $(NEXMARK_SIZES) --size-of "$(NEXMARK_SIZE_OF)" --large-size $(NEXMARK_LARGE_SIZE) \
	  --large-queries $(NEXMARK_LARGE_QUERIES) --tm-memory $(NEXMARK_TM_MEMORY) --out bench/results $(NEXMARK_ARGS)

clean:
	$(MVN) -q clean
	rm -rf bench/results/tmp
