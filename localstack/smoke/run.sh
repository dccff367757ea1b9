#!/usr/bin/env bash
# Smoke test: build a tiny Rust Lambda, run it on LocalStack (host executor) and check
# Lambda invoke, errors/timeouts, CloudWatch Logs, DynamoDB, SQS event-source mapping,
# API Gateway REST proxy and an EventBridge rate() rule. Prints PASS/FAIL per check.
#
#   SMOKE_EVENTBRIDGE=0   skip the rate(1 minute) check (it waits up to ~75 s)
#   SMOKE_KEEP_RUNNING=1  leave LocalStack running if this script started it
# Starts LocalStack if it is not running (and stops it again at the end).
set -euo pipefail
SMOKE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$SMOKE_DIR/../env.sh"

log() { echo "[smoke] $*" >&2; }

t_start=$SECONDS
"$LS_DIR/install.sh"
t_install=$((SECONDS - t_start))

# Build the function: a `bootstrap` binary, zipped.
t0=$SECONDS
target="$TRAWL_CACHE/localstack-smoke-target"
log "building echo-fn (target dir $target)"
CARGO_TARGET_DIR="$target" cargo build --quiet --release --manifest-path "$SMOKE_DIR/echo-fn/Cargo.toml"
zip_path="$target/echo-fn.zip"
"$LS_PY" - "$target/release/bootstrap" "$zip_path" <<'PY'
import sys, zipfile
src, dst = sys.argv[1:]
info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(dst, "w") as z, open(src, "rb") as f:
    z.writestr(info, f.read())
PY
t_build=$((SECONDS - t0))

started_here=0
if ! "$LS_DIR/run.sh" status >/dev/null 2>&1; then
  t0=$SECONDS
  LS_SKIP_INSTALL=1 "$LS_DIR/run.sh" start
  started_here=1
  t_ls=$((SECONDS - t0))
else
  log "using the running LocalStack"
  t_ls=0
fi
cleanup() {
  if [[ "$started_here" == 1 && "${SMOKE_KEEP_RUNNING:-0}" != 1 ]]; then
    "$LS_DIR/run.sh" stop || true
  fi
}
trap cleanup EXIT

t0=$SECONDS
rc=0
AWS_ENDPOINT_URL="$LS_ENDPOINT" "$LS_PY" "$SMOKE_DIR/smoke.py" "$zip_path" || rc=$?
t_smoke=$((SECONDS - t0))
if [[ $rc != 0 ]]; then
  log "LocalStack log tail ($LS_LOG):"
  tail -n 60 "$LS_LOG" >&2 || true
fi
log "timings: install ${t_install}s, build ${t_build}s, start ${t_ls}s, checks ${t_smoke}s"
exit $rc
