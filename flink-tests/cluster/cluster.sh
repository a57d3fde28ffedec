#!/usr/bin/env bash
# Drives a real standalone Flink cluster (one JobManager, N TaskManagers, each its own JVM started
# by Flink's own bin/jobmanager.sh and bin/taskmanager.sh) on loopback, for ferrostate's
# real-cluster tests. Everything a cluster writes lives in its work dir, so clusters can run side by
# side and the FLINK_HOME (see flink-dist.sh) stays pristine.
#
# Usage:
#   cluster.sh start [start options] <flink_home> <work_dir> ["key: value" flink-conf lines...]
#   cluster.sh [-w <work_dir>] <command> [args...]        (or FERROSTATE_CLUSTER_DIR=<work_dir>)
#
# start options:
#   --ferrostate-jar JAR   put JAR on the cluster's lib/ classpath (as a user copies it into lib/)
#   --ferrostate           write "state.backend: io.ferrostate.flink.FerroStateBackendFactory"
#                          (Flink 2.x: "state.backend.type: ...", the key it kept)
#   --taskmanagers N       number of TaskManagers (default 2)
#   --owner-pid PID        tear the cluster down when process PID exits (test-JVM watchdog)
#   --timeout SECONDS      how long to wait for the TaskManagers to register (default 120)
#   --log-level LOGGER=LEVEL  adds a logger to the cluster's log4j.properties (repeatable), e.g.
#                          org.apache.flink.streaming.runtime.tasks.AsyncCheckpointRunnable=DEBUG
#   Extra arguments after <work_dir> are appended verbatim to the configuration file (later lines
#   win): flink-conf.yaml on Flink 1.x, config.yaml on Flink 2.x (which reads nothing else).
#
# commands (on the cluster in <work_dir>):
#   submit [flink run options] <jar> [job args]  bin/flink run -d ...; prints the job id
#   wait <job_id> [timeout_s]        polls REST until FINISHED/FAILED/CANCELED; prints the state;
#                                    exit 0 if FINISHED, 2 other terminal state, 124 timeout
#   cancel <job_id>                  bin/flink cancel
#   savepoint <job_id> <dir> [flink savepoint options, e.g. -type native]   prints the path
#   stop-with-savepoint <job_id> <dir> [--drain] [options]                   prints the path
#   kill-tm <n>                      kill -9 TaskManager n (0-based start order); prints its pid
#   start-tm                         starts one more TaskManager, waits for it; prints its index n
#   kill-jm                          kill -9 the JobManager
#   tm-pids                          prints "n pid alive|dead" per TaskManager
#   rest <path>                      GET http://<rest>/<path>, prints the JSON
#   info                             prints KEY=VALUE lines (FLINK_HOME, REST_URL, LOG_DIR, ...)
#   stop                             stops all processes of this cluster (SIGTERM, then jstack and
#                                    kill -9 of stragglers); leaves no process behind; keeps logs
#   run <flink_home> <work_dir> <jar> [job args]  start --ferrostate [--ferrostate-jar $FERROSTATE_JAR],
#                                    submit, wait, stop (an EXIT trap stops the cluster on failure)
#
# Layout of <work_dir>: conf/ (flink-conf.yaml or config.yaml, log4j), lib/ (links to FLINK_HOME/lib + extra
# jars), log/, pid/, tmp/ (io.tmp.dirs), checkpoints/, savepoints/, cluster.env.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
FERRO_FACTORY="io.ferrostate.flink.FerroStateBackendFactory"
IDENT="ferrostate"

log() { echo "[cluster $(date +%H:%M:%S)] $*" >&2; }
die() { echo "[cluster] ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,40p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is required (JSON and free ports)"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------------------------------------
# Helpers

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# json_get EXPR: evaluates a Python expression over the JSON document on stdin, bound to `d`.
json_get() {
  python3 -c 'import json,sys
d=json.load(sys.stdin)
r=eval(sys.argv[1])
print(r if not isinstance(r,(dict,list)) else json.dumps(r))' "$1"
}

load_env() {
  [[ -n "${W:-}" ]] || die "no work dir: pass -w <work_dir> or set FERROSTATE_CLUSTER_DIR"
  [[ -f "$W/cluster.env" ]] || die "$W/cluster.env not found: was the cluster started there?"
  # shellcheck disable=SC1091
  source "$W/cluster.env"
  export_flink_env
}

# The environment Flink's scripts read; everything points into the work dir.
export_flink_env() {
  # Inherited values would override the configuration or the paths below.
  unset _FLINK_HOME_DETERMINED FLINK_OPT_DIR FLINK_PLUGINS_DIR FLINK_ENV_JAVA_OPTS \
        FLINK_ENV_JAVA_OPTS_JM FLINK_ENV_JAVA_OPTS_TM FLINK_ENV_JAVA_OPTS_CLI JVM_ARGS \
        MAX_LOG_FILE_NUMBER ROOT_LOG_LEVEL STD_REDIRECT_TO_FILE FLINK_TM_COMPUTE_NUMA
  export FLINK_CONF_DIR="$W/conf" FLINK_LOG_DIR="$W/log" FLINK_PID_DIR="$W/pid" \
         FLINK_LIB_DIR="$W/lib" FLINK_IDENT_STRING="$IDENT"
}

rest() { curl -sS --fail --max-time 10 "$REST_URL/$1"; }

tm_pid_file() { echo "$W/pid/flink-$IDENT-taskexecutor.pid"; }
jm_pid_file() { echo "$W/pid/flink-$IDENT-standalonesession.pid"; }

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# PIDs of every JVM of this cluster (JobManager, TaskManagers, CLI clients): Flink's scripts pass
# -Dlog.file=<FLINK_LOG_DIR>/..., so the log dir identifies them. Fixed-string match, passed
# through the environment so that the matcher's own command line does not match.
cluster_jvm_pids() {
  ps -eo pid=,args= \
    | PAT="-Dlog.file=$W/log/" awk -v self=$$ 'index($0, ENVIRON["PAT"]) && $1 != self {print $1}'
}

tail_logs() {
  local f
  for f in "$W"/log/*.log "$W"/log/*.out; do
    [[ -s "$f" ]] || continue
    echo "----- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

tm_count() {
  rest taskmanagers 2>/dev/null | json_get 'len(d["taskmanagers"])' 2>/dev/null || echo -1
}

tm_registered() { # tm_registered <resource id>
  rest taskmanagers 2>/dev/null \
    | json_get "any(t['id'] == '$1' for t in d['taskmanagers'])" 2>/dev/null | grep -qx True
}

start_tm_process() { # start_tm_process <index>
  # Run without the caller's extra fds, so no JVM holds a pipe of whoever started us.
  "$FLINK_HOME/bin/taskmanager.sh" start "-Dtaskmanager.resource-id=tm-$1" >&2 </dev/null
}

next_tm_index() {
  local f; f="$(tm_pid_file)"
  [[ -f "$f" ]] && wc -l < "$f" | tr -d ' ' || echo 0
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_start() {
  local jars=() ferro=0 tms=2 owner="" timeout=120 loggers=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --ferrostate-jar) jars+=("$2"); shift 2 ;;
      --jar) jars+=("$2"); shift 2 ;;
      --ferrostate) ferro=1; shift ;;
      --taskmanagers) tms="$2"; shift 2 ;;
      --owner-pid) owner="$2"; shift 2 ;;
      --timeout) timeout="$2"; shift 2 ;;
      --log-level) loggers+=("$2"); shift 2 ;;
      --) shift; break ;;
      -*) die "start: unknown option $1" ;;
      *) break ;;
    esac
  done
  [[ $# -ge 2 ]] || usage
  FLINK_HOME="$(cd "$1" && pwd)"; W="$2"; shift 2
  local extra=("$@")
  [[ -f "$FLINK_HOME/bin/jobmanager.sh" ]] || die "$FLINK_HOME is not a Flink distribution"
  mkdir -p "$W"; W="$(cd "$W" && pwd)"
  export_flink_env

  if [[ -f "$W/cluster.env" ]]; then
    local running; running="$(cluster_jvm_pids | tr '\n' ' ')"
    [[ -z "$running" ]] || die "a cluster is already running in $W (pids $running)"
  fi
  rm -rf "$W/conf" "$W/lib" "$W/pid"
  mkdir -p "$W/conf" "$W/lib" "$W/log" "$W/pid" "$W/tmp" "$W/checkpoints" "$W/savepoints"

  # From here on, a failure tears down whatever was started.
  trap 'rc=$?; if [[ $rc -ne 0 ]]; then log "start failed (exit $rc); tearing down"; tail_logs; cmd_stop >&2 || true; fi' EXIT

  # conf/: Flink's logging configuration plus our configuration file. Flink 1.20 reads
  # flink-conf.yaml (legacy parser) whenever that file exists in the conf dir, and config.yaml
  # (standard YAML) only otherwise (GlobalConfiguration.loadConfiguration); Flink 2.x reads
  # config.yaml only. Our "key: value" lines are valid in both parsers.
  local dist_jar major conf_file backend_key
  dist_jar="$(compgen -G "$FLINK_HOME/lib/flink-dist-*.jar" | head -n 1)"
  [[ -n "$dist_jar" ]] || die "$FLINK_HOME/lib has no flink-dist jar"
  major="$(basename "$dist_jar" | sed 's/^flink-dist-\([0-9]*\)\..*/\1/')"
  if [[ "$major" -ge 2 ]]; then
    conf_file=config.yaml; backend_key=state.backend.type
  else
    conf_file=flink-conf.yaml; backend_key=state.backend
  fi
  local f
  for f in "$FLINK_HOME"/conf/*; do
    case "$(basename "$f")" in config.yaml|flink-conf.yaml|masters|workers|zoo.cfg) ;; *) cp "$f" "$W/conf/" ;; esac
  done
  echo "localhost" > "$W/conf/workers"
  local spec n=0
  for spec in ${loggers[@]+"${loggers[@]}"}; do
    [[ "$spec" == *=* ]] || die "--log-level wants LOGGER=LEVEL, got $spec"
    for f in log4j.properties log4j-console.properties; do
      [[ -f "$W/conf/$f" ]] || continue
      printf '\nlogger.ferrotest%d.name = %s\nlogger.ferrotest%d.level = %s\n' \
        "$n" "${spec%%=*}" "$n" "${spec#*=}" >> "$W/conf/$f"
    done
    n=$((n + 1))
  done

  # lib/: the distribution's jars (links) plus extra jars (copies), as a user's lib/ would be.
  for f in "$FLINK_HOME"/lib/*; do ln -s "$f" "$W/lib/"; done
  local j
  for j in ${jars[@]+"${jars[@]}"}; do
    [[ -f "$j" ]] || die "jar not found: $j"
    cp "$j" "$W/lib/"
  done

  local rest_port rpc_port
  rest_port="$(free_port)"; rpc_port="$(free_port)"
  while [[ "$rpc_port" == "$rest_port" ]]; do rpc_port="$(free_port)"; done

  # Flink's default config.yaml sets these for JDK 17 (env.java.opts.all); in flink-conf.yaml they
  # go to env.java.default-opts.all, so that extra env.java.opts.all lines add to them.
  local jdk_opts="--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"

  {
    echo "# Written by flink-tests/cluster/cluster.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo "# Flat \"key: value\" lines, read by Flink 1.20 (flink-conf.yaml) and 2.x (config.yaml)."
    echo "jobmanager.rpc.address: localhost"
    echo "jobmanager.rpc.port: $rpc_port"
    echo "jobmanager.bind-host: localhost"
    echo "taskmanager.bind-host: localhost"
    echo "taskmanager.host: localhost"
    echo "rest.address: localhost"
    echo "rest.bind-address: localhost"
    echo "rest.port: $rest_port"
    echo "taskmanager.numberOfTaskSlots: 2"
    echo "parallelism.default: 2"
    echo "jobmanager.memory.process.size: 768m"
    # 1024m would leave ~26 MB of task heap after Flink's fixed reservations; 1280m leaves ~160 MB
    # and ~330 MB of managed memory (what ferrostate takes) per TaskManager.
    echo "taskmanager.memory.process.size: 1280m"
    echo "jobmanager.execution.failover-strategy: region"
    echo "heartbeat.interval: 2000"
    echo "heartbeat.timeout: 15000"
    echo "state.checkpoints.dir: file://$W/checkpoints"
    echo "state.savepoints.dir: file://$W/savepoints"
    echo "execution.checkpointing.incremental: true"
    echo "io.tmp.dirs: $W/tmp"
    echo "web.tmpdir: $W/tmp/web"
    echo "env.java.default-opts.all: $jdk_opts"
    if [[ $ferro -eq 1 ]]; then
      echo "$backend_key: $FERRO_FACTORY"
    fi
    local line
    for line in ${extra[@]+"${extra[@]}"}; do echo "$line"; done
  } > "$W/conf/$conf_file.all"
  # A key given twice keeps its last value (the caller's lines override the defaults above):
  # Flink 2.x's YAML parser refuses a duplicate key.
  tac "$W/conf/$conf_file.all" | awk '/^#/ || !seen[substr($0, 1, index($0, ":"))]++' | tac \
    > "$W/conf/$conf_file"
  rm -f "$W/conf/$conf_file.all"

  REST_URL="http://localhost:$rest_port"
  {
    echo "FLINK_HOME='$FLINK_HOME'"
    echo "W='$W'"
    echo "REST_URL='$REST_URL'"
    echo "REST_PORT='$rest_port'"
    echo "RPC_PORT='$rpc_port'"
    echo "LOG_DIR='$W/log'"
  } > "$W/cluster.env"

  local java_bin="java"; [[ -n "${JAVA_HOME:-}" ]] && java_bin="$JAVA_HOME/bin/java"
  log "Flink $FLINK_HOME, work dir $W, REST $REST_URL, $("$java_bin" -version 2>&1 | head -n 1)"

  if [[ -n "$owner" ]]; then start_watchdog "$owner"; fi

  local t0=$SECONDS
  "$FLINK_HOME/bin/jobmanager.sh" start >&2 </dev/null
  local i
  for ((i = 0; i < tms; i++)); do start_tm_process "$i"; done

  local n=-1
  while (( SECONDS - t0 < timeout )); do
    n="$(tm_count)"
    [[ "$n" -ge "$tms" ]] && break
    # Give up early when a JVM has died.
    local p
    for p in $(cat "$(jm_pid_file)" "$(tm_pid_file)" 2>/dev/null); do
      alive "$p" || die "Flink process $p died during start-up"
    done
    sleep 0.5
  done
  [[ "$n" -ge "$tms" ]] || die "only $n of $tms TaskManagers registered within ${timeout}s"
  trap - EXIT
  log "cluster up: $n TaskManagers after $((SECONDS - t0))s"
  echo "$REST_URL"
}

start_watchdog() {
  local owner="$1"
  # Detached, with its output in a file: it must not keep our caller's stdout open.
  nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done
                 echo "owner $1 gone, stopping the cluster"; exec "$2" -w "$3" stop' \
    watchdog "$owner" "$SCRIPT" "$W" > "$W/log/watchdog.log" 2>&1 < /dev/null &
  echo $! > "$W/pid/watchdog.pid"
  log "watchdog $! stops the cluster when pid $owner exits"
}

cmd_stop() {
  local wd; wd="$(cat "$W/pid/watchdog.pid" 2>/dev/null || true)"
  if [[ -n "$wd" && "$wd" != "$$" ]] && alive "$wd"; then kill "$wd" 2>/dev/null || true; fi

  # Only this cluster's JVMs, found by their command line: never the PIDs of the pid files. A
  # TaskManager killed by kill-tm stays in its file, and with pid_max at 32768 its PID soon
  # belongs to another process: another test's cluster starting beside this one (the Maven
  # modules run two at a time) lost its JobManager to such a stale PID's SIGTERM.
  local p
  for p in $(cluster_jvm_pids); do kill "$p" 2>/dev/null || true; done
  # Flink itself kills a JVM 5 s after SIGTERM; allow 10 s, then kill -9.
  local deadline=$((SECONDS + 10))
  while [[ -n "$(cluster_jvm_pids)" ]] && (( SECONDS < deadline )); do sleep 0.3; done
  # A JVM still alive after SIGTERM is a bug worth a thread dump: log/jstack-<pid>.txt.
  local jstack_bin="jstack"; [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/jstack" ]] && jstack_bin="$JAVA_HOME/bin/jstack"
  for p in $(cluster_jvm_pids); do
    if alive "$p"; then
      log "pid $p did not stop on SIGTERM within 10 s; thread dump in $W/log/jstack-$p.txt"
      timeout 20 "$jstack_bin" "$p" > "$W/log/jstack-$p.txt" 2>&1 || true
      log "kill -9 $p"; kill -9 "$p" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 10))
  while [[ -n "$(cluster_jvm_pids)" ]] && (( SECONDS < deadline )); do sleep 0.2; done
  local left; left="$(cluster_jvm_pids | tr '\n' ' ')"
  [[ -z "$left" ]] || die "processes still alive after kill -9: $left"
  rm -f "$(tm_pid_file)" "$(jm_pid_file)" "$W/pid/watchdog.pid"
  log "cluster in $W stopped"
}

cmd_submit() {
  [[ $# -ge 1 ]] || usage
  local out rc=0
  out="$("$FLINK_HOME/bin/flink" run -d "$@" 2>&1 </dev/null)" || rc=$?
  echo "$out" > "$W/log/submit-$(date +%s%N).out"
  local id; id="$(echo "$out" | sed -n 's/.*JobID \([0-9a-f]\{32\}\).*/\1/p' | tail -n 1)"
  if [[ $rc -ne 0 || -z "$id" ]]; then
    echo "$out" >&2
    die "submission failed (exit $rc)"
  fi
  log "submitted job $id"
  echo "$id"
}

cmd_wait() {
  [[ $# -ge 1 ]] || usage
  local id="$1" timeout="${2:-600}" t0=$SECONDS state=""
  while (( SECONDS - t0 < timeout )); do
    state="$(rest "jobs/$id" 2>/dev/null | json_get 'd["state"]' 2>/dev/null || true)"
    case "$state" in
      FINISHED) echo "$state"; return 0 ;;
      FAILED|CANCELED) echo "$state"; return 2 ;;
    esac
    sleep 0.5
  done
  echo "${state:-UNKNOWN}"
  log "job $id not terminal after ${timeout}s (state ${state:-unknown})"
  return 124
}

cmd_cancel() {
  [[ $# -eq 1 ]] || usage
  "$FLINK_HOME/bin/flink" cancel "$1" >&2 </dev/null
}

savepoint_path() { sed -n 's/.*Savepoint completed\. Path: *\([^ ]*\).*/\1/p' | tail -n 1; }

cmd_savepoint() {
  [[ $# -ge 2 ]] || usage
  local id="$1" dir="$2"; shift 2
  local out rc=0
  out="$("$FLINK_HOME/bin/flink" savepoint "$@" "$id" "$dir" 2>&1 </dev/null)" || rc=$?
  local p; p="$(echo "$out" | savepoint_path)"
  [[ $rc -eq 0 && -n "$p" ]] || { echo "$out" >&2; die "savepoint failed (exit $rc)"; }
  echo "$p"
}

cmd_stop_with_savepoint() {
  [[ $# -ge 2 ]] || usage
  local id="$1" dir="$2"; shift 2
  local opts=()
  while [[ $# -gt 0 ]]; do
    case "$1" in --drain) opts+=(--drain) ;; *) opts+=("$1") ;; esac; shift
  done
  local out rc=0
  out="$("$FLINK_HOME/bin/flink" stop --savepointPath "$dir" ${opts[@]+"${opts[@]}"} "$id" 2>&1 </dev/null)" || rc=$?
  local p; p="$(echo "$out" | savepoint_path)"
  [[ $rc -eq 0 && -n "$p" ]] || { echo "$out" >&2; die "stop-with-savepoint failed (exit $rc)"; }
  echo "$p"
}

cmd_kill_tm() {
  [[ $# -eq 1 && "$1" =~ ^[0-9]+$ ]] || usage
  local pid; pid="$(sed -n "$(( $1 + 1 ))p" "$(tm_pid_file)" 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "no TaskManager $1 (see tm-pids)"
  tm_running "$1" "$pid" "$(cluster_jvm_pids)" || die "TaskManager $1 (pid $pid) is not running (see tm-pids)"
  kill -9 "$pid"
  while alive "$pid"; do sleep 0.1; done
  log "killed TaskManager $1 (pid $pid) with SIGKILL"
  echo "$pid"
}

cmd_kill_jm() {
  local pid; pid="$(tail -n 1 "$(jm_pid_file)" 2>/dev/null || true)"
  # Alive and one of ours: a PID from the file may since belong to another process.
  [[ -n "$pid" ]] && grep -qx "$pid" <<<"$(cluster_jvm_pids)" || die "JobManager is not running"
  kill -9 "$pid"
  while alive "$pid"; do sleep 0.1; done
  log "killed JobManager (pid $pid) with SIGKILL"
  echo "$pid"
}

cmd_start_tm() {
  local timeout="${1:-120}"
  local n; n="$(next_tm_index)"
  start_tm_process "$n"
  local t0=$SECONDS pid
  pid="$(sed -n "$(( n + 1 ))p" "$(tm_pid_file)")"
  until tm_registered "tm-$n"; do
    alive "$pid" || { tail_logs; die "TaskManager $n (pid $pid) died during start-up"; }
    (( SECONDS - t0 < timeout )) || die "TaskManager $n did not register within ${timeout}s"
    sleep 0.5
  done
  log "TaskManager $n (pid $pid) registered after $((SECONDS - t0))s"
  echo "$n"
}

# Whether TaskManager $1, started with pid $2, is still that process: the pid is alive, one of
# this cluster's JVMs ($3: their pids, from cluster_jvm_pids), and no TaskManager started later
# was listed with it. A killed TaskManager's pid can be reused by any process, a later
# TaskManager included (after a hundred restarts on a small machine it was). $4, when given, is
# the index of the last TaskManager listed with pid $2 (tm-pids finds them all in one pass).
tm_running() {
  local last="${4-}"
  [[ $# -ge 4 ]] || last="$(awk -v p="$2" '$1 == p { n = NR - 1 } END { if (n != "") print n }' "$(tm_pid_file)")"
  [[ "$last" == "$1" ]] && alive "$2" && grep -qx "$2" <<<"$3"
}

cmd_tm_pids() {
  local n p ours pids=()
  [[ -f "$(tm_pid_file)" ]] || return 0
  ours="$(cluster_jvm_pids)"
  mapfile -t pids < "$(tm_pid_file)"
  local -A last_with=()
  for ((n = 0; n < ${#pids[@]}; n++)); do
    [[ -z "${pids[$n]}" ]] || last_with[${pids[$n]}]=$n
  done
  for ((n = 0; n < ${#pids[@]}; n++)); do
    p="${pids[$n]}"
    if [[ -n "$p" ]] && tm_running "$n" "$p" "$ours" "${last_with[$p]}"; then
      echo "$n $p alive"
    else
      echo "$n $p dead"
    fi
  done
}

cmd_info() {
  echo "FLINK_HOME=$FLINK_HOME"
  echo "WORK_DIR=$W"
  echo "REST_URL=$REST_URL"
  echo "LOG_DIR=$W/log"
  echo "CONF_DIR=$W/conf"
  echo "CHECKPOINT_DIR=$W/checkpoints"
  echo "SAVEPOINT_DIR=$W/savepoints"
}

cmd_run() {
  [[ $# -ge 3 ]] || usage
  local home="$1" wd="$2" jar="$3"; shift 3
  W="$wd"
  trap '"$SCRIPT" -w "$W" stop || true' EXIT
  "$SCRIPT" start --ferrostate ${FERROSTATE_JAR:+--ferrostate-jar "$FERROSTATE_JAR"} "$home" "$wd" >/dev/null
  W="$(cd "$wd" && pwd)"
  local id; id="$("$SCRIPT" -w "$W" submit "$jar" "$@")"
  "$SCRIPT" -w "$W" wait "$id"
}

# ---------------------------------------------------------------------------------------------

W="${FERROSTATE_CLUSTER_DIR:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -w|--work-dir) W="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help|help) usage ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || usage
CMD="$1"; shift
case "$CMD" in
  start) cmd_start "$@" ;;
  run) cmd_run "$@" ;;
  stop) load_env; cmd_stop ;;
  submit) load_env; cmd_submit "$@" ;;
  wait) load_env; cmd_wait "$@" ;;
  cancel) load_env; cmd_cancel "$@" ;;
  savepoint) load_env; cmd_savepoint "$@" ;;
  stop-with-savepoint) load_env; cmd_stop_with_savepoint "$@" ;;
  kill-tm) load_env; cmd_kill_tm "$@" ;;
  kill-jm) load_env; cmd_kill_jm "$@" ;;
  start-tm) load_env; cmd_start_tm "$@" ;;
  tm-pids) load_env; cmd_tm_pids ;;
  rest) load_env; rest "${1:?path}"; echo ;;
  info) load_env; cmd_info ;;
  *) die "unknown command $CMD (see --help)" ;;
esac
