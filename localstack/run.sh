#!/usr/bin/env bash
# Run LocalStack on this machine without Docker.
#
#   localstack/run.sh start    install if needed, start in the background, wait until healthy
#   localstack/run.sh stop     stop LocalStack and every process it started
#   localstack/run.sh status   print whether it runs, and its health
#   localstack/run.sh env      print the AWS_* exports for clients (eval "$(localstack/run.sh env)")
#   localstack/run.sh restart
#
# Environment: TRAWL_CACHE, LOCALSTACK_HOME, LOCALSTACK_PORT, LS_START_TIMEOUT (s, default 90),
# LS_WAIT_SERVICES (space-separated), LS_SKIP_INSTALL=1, plus any LocalStack setting
# (LS_LOG, LAMBDA_KEEPALIVE_MS, ...), which is passed through.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { echo "[localstack] $*" >&2; }

WAIT_SERVICES="${LS_WAIT_SERVICES:-lambda sqs events apigateway dynamodb s3 logs iam sts}"

read_pid() {
  [[ -f "$LS_PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$LS_PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# Alive and not a zombie.
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

LS_IDFILE="$LOCALSTACK_HOME/localstack.id"

# Every process of the instance: LocalStack, its descendants and session, and whatever
# carries its TRAWL_LOCALSTACK_ID marker (DynamoDB Local, function processes), even
# after being re-parented.
instance_procs() {
  local marker=""
  [[ -f "$LS_IDFILE" ]] && marker="$(cat "$LS_IDFILE")"
  "$LS_PY" "$LS_DIR/procs.py" "$1" "$marker"
}

health() {
  "$LS_PY" - "$LS_ENDPOINT" "$WAIT_SERVICES" <<'PY'
import json, sys, urllib.request
endpoint, wanted = sys.argv[1], sys.argv[2].split()
try:
    with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as r:
        services = json.load(r).get("services", {})
except Exception:
    sys.exit(2)
missing = [s for s in wanted if services.get(s) not in ("available", "running")]
if missing:
    print("not ready: " + ", ".join(f"{s}={services.get(s)}" for s in missing))
    sys.exit(1)
PY
}

start() {
  if pid="$(read_pid)" && alive "$pid"; then
    if health >/dev/null; then
      log "already running (pid $pid) at $LS_ENDPOINT"
      return 0
    fi
    log "pid $pid is alive but not healthy; restarting"
    stop
  fi
  if [[ "${LS_SKIP_INSTALL:-0}" != "1" ]]; then
    "$LS_DIR/install.sh"
  fi
  if "$LS_PY" -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $LS_PORT)) == 0 else 1)"; then
    log "port $LS_PORT is already in use (another LocalStack?)"
    return 1
  fi

  # Fresh filesystem root for this instance; the seeded packages are linked in.
  local fs="$LOCALSTACK_HOME/fs"
  rm -rf "$fs"
  mkdir -p "$fs/var/lib/localstack/lib" "$fs/tmp"
  for pkg in java dynamodb-local; do
    ln -sfn "$LS_LIBS/var-libs/$pkg" "$fs/var/lib/localstack/lib/$pkg"
  done
  : >"$LS_LOG"
  local marker="$LS_PORT-$$-$(date +%s%N)"
  echo "$marker" >"$LS_IDFILE"

  log "starting LocalStack on $LS_ENDPOINT (log: $LS_LOG)"
  local t0=$SECONDS
  (
    cd "$LOCALSTACK_HOME"
    export OVERRIDE_IN_DOCKER=0 \
      GATEWAY_LISTEN="127.0.0.1:$LS_PORT" \
      LOCALSTACK_HOST="localhost.localstack.cloud:$LS_PORT" \
      DNS_ADDRESS=0 \
      FILESYSTEM_ROOT="$fs" \
      TMPDIR="$fs/tmp" \
      LAMBDA_RUNTIME_EXECUTOR=host \
      LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC="${LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC:-1}" \
      SKIP_SSL_CERT_DOWNLOAD=1 \
      DISABLE_EVENTS=1 \
      PYTHONUNBUFFERED=1 \
      XDG_CACHE_HOME="$TRAWL_CACHE/localstack-xdg-cache" \
      JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$fs/tmp -XX:-UsePerfData ${JAVA_TOOL_OPTIONS:-}" \
      TRAWL_LOCALSTACK_ID="$marker"
    # setsid: LocalStack leads its own session, so stop finds all its descendants.
    exec setsid "$LS_PY" -m trawl_host_executor.launch </dev/null >>"$LS_LOG" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$LS_PIDFILE"

  local deadline=$((SECONDS + ${LS_START_TIMEOUT:-90})) status=""
  while true; do
    if ! alive "$pid"; then
      log "LocalStack exited during startup; last log lines:"
      tail -n 40 "$LS_LOG" >&2 || true
      rm -f "$LS_PIDFILE"
      return 1
    fi
    if status="$(health)"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      log "LocalStack not healthy after ${LS_START_TIMEOUT:-90}s ($status); last log lines:"
      tail -n 40 "$LS_LOG" >&2 || true
      stop
      return 1
    fi
    sleep 0.3
  done
  log "ready in $((SECONDS - t0))s (pid $pid)"
}

# Live processes of the instance now, plus those of the list $2 still alive.
leftovers() {
  local p
  {
    instance_procs "$1"
    for p in $2; do
      if alive "$p"; then echo "$p"; fi
    done
  } | sort -un
}

stop() {
  local pid
  if ! pid="$(read_pid)"; then
    log "not running (no pid file)"
    return 0
  fi
  local before rest
  before="$(instance_procs "$pid")"
  if alive "$pid"; then
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid ignored SIGTERM; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Whatever is left (function processes, DynamoDB Local's JVM).
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    rest="$(leftovers "$pid" "$before")"
    [[ -z "$rest" ]] && break
    if ((attempt == 1)); then
      # shellcheck disable=SC2086
      kill -TERM $rest 2>/dev/null || true
    else
      # shellcheck disable=SC2086
      kill -KILL $rest 2>/dev/null || true
    fi
    sleep 0.3
  done
  rest="$(leftovers "$pid" "$before")"
  if [[ -n "$rest" ]]; then
    log "could not stop: $rest"
    return 1
  fi
  rm -f "$LS_PIDFILE"
  log "stopped"
}

status() {
  local pid
  if pid="$(read_pid)" && alive "$pid"; then
    if out="$(health)"; then
      echo "running (pid $pid) at $LS_ENDPOINT"
    else
      echo "starting or unhealthy (pid $pid): ${out:-no answer}"
    fi
    "$LS_PY" -c "import urllib.request; print(urllib.request.urlopen('$LS_ENDPOINT/_localstack/health', timeout=2).read().decode())" 2>/dev/null || true
  else
    echo "not running"
    return 3
  fi
}

print_env() {
  cat <<ENV
export AWS_ENDPOINT_URL=$LS_ENDPOINT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=\${AWS_DEFAULT_REGION:-us-east-1}
export AWS_REGION=\${AWS_REGION:-us-east-1}
ENV
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  status) status ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
