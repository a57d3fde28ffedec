#!/usr/bin/env bash
# Assembles a Flink distribution (FLINK_HOME) from Flink's own released binaries on PyPI.
#
# flink-dist is not on the Maven mirror here, but PyPI carries the released binaries:
#   apache-flink-libraries (sdist, ~232 MB): deps/lib (flink-dist, table jars, log4j), deps/opt,
#                                             deps/plugins, deps/bin/bash-java-utils.jar
#   apache-flink (wheel, ~3 MB):              pyflink/bin (Flink's shell scripts), pyflink/conf
# Together they make FLINK_HOME = bin/ conf/ lib/ opt/ plugins/ log/.
#
# Usage: flink-dist.sh [-v VERSION] [-d DEST_DIR] [-f]
#        flink-dist.sh [VERSION [DEST_DIR]]
#   VERSION   Flink version, default 1.20.5.
#   DEST_DIR  where to assemble; default $CACHE/flink-VERSION (reused when already complete).
#   -f        re-assemble even if DEST_DIR is complete (downloads stay cached).
# Prints the absolute FLINK_HOME path on stdout (and nothing else); progress goes to stderr.
#
# Environment:
#   FERROSTATE_FLINK_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/ferrostate/flink-dist)
#   PIP                     pip command to use (default: pip, pip3, python3 -m pip, python -m pip)
set -euo pipefail

VERSION=1.20.5
DEST=""
FORCE=0
POSITIONAL=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -v|--version) VERSION="$2"; shift 2 ;;
    -d|--dest) DEST="$2"; shift 2 ;;
    -f|--force) FORCE=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "flink-dist.sh: unknown option $1" >&2; exit 2 ;;
    *) POSITIONAL+=("$1"); shift ;;
  esac
done
[[ ${#POSITIONAL[@]} -ge 1 ]] && VERSION="${POSITIONAL[0]}"
[[ ${#POSITIONAL[@]} -ge 2 ]] && DEST="${POSITIONAL[1]}"

CACHE="${FERROSTATE_FLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrostate/flink-dist}"
DL="$CACHE/downloads/$VERSION"
[[ -z "$DEST" ]] && DEST="$CACHE/flink-$VERSION"
mkdir -p "$DL" "$(dirname "$DEST")"
DEST="$(cd "$(dirname "$DEST")" && pwd)/$(basename "$DEST")"

log() { echo "[flink-dist] $*" >&2; }
die() { echo "[flink-dist] ERROR: $*" >&2; exit 1; }

# SHA-256 of the files pip fetched for known versions (pip also checks the index's hashes on
# download). Other versions are pinned on first download in $DL/*.sha256 (trust on first use).
# The wheel is requested for one fixed platform/ABI, so the file is the same whatever the local
# Python is; only its bin/ and conf/ are used, which are the same in every wheel of a release.
WHEEL_PY=311
known_sha256() {
  case "$1" in
    apache_flink_libraries-1.20.5.tar.gz)
      echo e6aee62ea1a1fe7b32e28894ad079f3f1a50a372a4caac3df52405267f4228c8 ;;
    apache_flink-1.20.5-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl)
      echo 6e8ec098a7c06ea34d01fd540e81d44703a90e3bda74052dcbcbb7db5253c10f ;;
  esac
}

MARKER=".ferrostate-flink-dist"
reuse_if_complete() {
  if [[ $FORCE -eq 0 && -f "$DEST/$MARKER" ]] && grep -qx "version=$VERSION" "$DEST/$MARKER" \
     && [[ -f "$DEST/lib/flink-dist-$VERSION.jar" && -x "$DEST/bin/flink" ]]; then
    log "reusing $DEST"
    echo "$DEST"
    exit 0
  fi
}
reuse_if_complete

# One assembler per cache at a time (concurrent test runs share the cache); whoever waited
# finds the distribution complete.
exec 9>"$CACHE/.lock"
flock 9
reuse_if_complete

pip_cmd() {
  if [[ -n "${PIP:-}" ]]; then echo "$PIP"; return; fi
  local c
  for c in pip pip3 "python3 -m pip" "python -m pip"; do
    if $c --version >/dev/null 2>&1; then echo "$c"; return; fi
  done
  die "no pip found (tried pip, pip3, python3 -m pip, python -m pip); set PIP=..."
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE: against the pinned hash if known, else against the hash recorded on first download.
verify() {
  local f="$1" name want got
  name="$(basename "$f")"
  got="$(sha256_of "$f")"
  want="$(known_sha256 "$name")"
  if [[ -z "$want" && -f "$f.sha256" ]]; then want="$(cat "$f.sha256")"; fi
  if [[ -z "$want" ]]; then
    log "no pinned SHA-256 for $name; recording $got"
    echo "$got" > "$f.sha256"
    return 0
  fi
  if [[ "$got" != "$want" ]]; then
    log "SHA-256 mismatch for $name: got $got, want $want"
    return 1
  fi
  echo "$want" > "$f.sha256"
}

# fetch GLOB PIP_ARGS...: pip download into $DL unless a verified file matching GLOB is there.
fetch() {
  local glob="$1"; shift
  local f
  f="$(compgen -G "$DL/$glob" | grep -v '\.sha256$' | head -n 1 || true)"
  if [[ -n "$f" ]] && verify "$f"; then echo "$f"; return 0; fi
  [[ -n "$f" ]] && rm -f "$f" "$f.sha256"
  local pip; pip="$(pip_cmd)"
  log "downloading with '$pip download $*'"
  # shellcheck disable=SC2086
  $pip download --no-deps --disable-pip-version-check -q -d "$DL" "$@" >&2 \
    || die "pip download $* failed"
  f="$(compgen -G "$DL/$glob" | grep -v '\.sha256$' | head -n 1 || true)"
  [[ -n "$f" ]] || die "pip download $* produced no file matching $glob in $DL"
  verify "$f" || { rm -f "$f"; die "verification failed for $f"; }
  echo "$f"
}

SDIST="$(fetch "apache_flink_libraries-$VERSION.tar.gz" --no-binary :all: "apache-flink-libraries==$VERSION")"
WHEEL="$(fetch "apache_flink-$VERSION-*.whl" --only-binary :all: --platform manylinux2014_x86_64 \
  --implementation cp --python-version "$WHEEL_PY" --abi "cp$WHEEL_PY" "apache-flink==$VERSION")"
log "sdist $SDIST"
log "wheel $WHEEL"

command -v unzip >/dev/null || die "unzip is required"
STAGE="$(mktemp -d "$(dirname "$DEST")/.flink-$VERSION.stage.XXXXXX")"
chmod 755 "$STAGE"
trap 'rm -rf "$STAGE"' EXIT

log "unpacking into $STAGE"
# Only deps/ of the sdist, straight into FLINK_HOME layout.
tar -xzf "$SDIST" -C "$STAGE" --strip-components=2 "apache_flink_libraries-$VERSION/deps"
unzip -q "$WHEEL" 'pyflink/bin/*' 'pyflink/conf/*' -d "$STAGE/wheel"
mkdir -p "$STAGE/bin" "$STAGE/conf" "$STAGE/log" "$STAGE/opt" "$STAGE/plugins"
mv "$STAGE/wheel/pyflink/bin/"* "$STAGE/bin/"
mv "$STAGE/wheel/pyflink/conf/"* "$STAGE/conf/"
rm -rf "$STAGE/wheel"
# Wheels do not keep file modes.
chmod +x "$STAGE/bin/"*.sh "$STAGE/bin/flink"
# The sdist carries licenses/ for the bundled deps; keep them next to lib/ as the dist does.

# Check the result is a usable distribution of the requested version.
for p in bin/flink bin/config.sh bin/jobmanager.sh bin/taskmanager.sh bin/flink-daemon.sh \
         bin/bash-java-utils.jar conf/log4j.properties conf/log4j-cli.properties \
         "lib/flink-dist-$VERSION.jar"; do
  [[ -e "$STAGE/$p" ]] || die "assembled distribution lacks $p"
done
got_version="$(unzip -p "$STAGE/lib/flink-dist-$VERSION.jar" META-INF/MANIFEST.MF \
  | sed -n 's/^Implementation-Version: *\([^[:space:]]*\).*/\1/p')"
[[ "$got_version" == "$VERSION" ]] || die "flink-dist jar reports version '$got_version', want $VERSION"
[[ "$(ls "$STAGE"/lib/flink-dist*.jar | wc -l)" -eq 1 ]] || die "more than one flink-dist jar"

{
  echo "version=$VERSION"
  echo "sdist=$(basename "$SDIST") $(sha256_of "$SDIST")"
  echo "wheel=$(basename "$WHEEL") $(sha256_of "$WHEEL")"
} > "$STAGE/$MARKER"

rm -rf "$DEST"
mv "$STAGE" "$DEST"
trap - EXIT
log "assembled Flink $VERSION in $DEST"
echo "$DEST"
