#!/usr/bin/env bash
# Builds the smoke-test job jar (smoke-job/KeyedStateSmokeJob.java) with javac against the
# distribution's own flink-dist jar. The PyPI sdist ships no Java example jars, and the examples
# module (io.ferrostate:ferrostate-examples) may not be built yet.
# TODO(issue 7): once examples/ is built by the reactor, the real-cluster tests should submit its
# jar (SessionTrackerJob / WindowedJob) instead of this one.
#
# Usage: build-smoke-job.sh <flink_home> <out_jar>      prints the jar path
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: build-smoke-job.sh <flink_home> <out_jar>" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINK_HOME="$1"; OUT="$2"
SRC="$HERE/smoke-job/KeyedStateSmokeJob.java"
DIST="$(ls "$FLINK_HOME"/lib/flink-dist*.jar)"
JAVAC=javac; JAR=jar
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then JAVAC="$JAVA_HOME/bin/javac"; JAR="$JAVA_HOME/bin/jar"; fi

mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
if [[ -f "$OUT" && "$OUT" -nt "$SRC" && "$OUT" -nt "$DIST" ]]; then echo "$OUT"; exit 0; fi

TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
"$JAVAC" --release 11 -nowarn -encoding UTF-8 -cp "$DIST" -d "$TMP/classes" "$SRC" >&2
printf 'Main-Class: io.ferrostate.cluster.smoke.KeyedStateSmokeJob\n' > "$TMP/manifest"
"$JAR" --create --file "$TMP/job.jar" --manifest "$TMP/manifest" -C "$TMP/classes" .
mv "$TMP/job.jar" "$OUT"
echo "$OUT"
