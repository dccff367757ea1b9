# Shared settings for the LocalStack scripts; sourced, not run.
# shellcheck shell=bash

LS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRAWL_CACHE="${TRAWL_CACHE:-$HOME/.cache/trawl}"
# Python environment with LocalStack, boto3 and the host executor (kept between runs).
LS_VENV="${LS_VENV:-$TRAWL_CACHE/localstack-venv}"
# Offline-seeded LocalStack packages: DynamoDB Local, the javaagent stub, the Java link.
LS_LIBS="$TRAWL_CACHE/localstack-libs"
# Runtime state of one LocalStack instance: pid file, log, filesystem root.
LOCALSTACK_HOME="${LOCALSTACK_HOME:-$TRAWL_CACHE/localstack-home}"
LS_PIDFILE="$LOCALSTACK_HOME/localstack.pid"
LS_LOG="$LOCALSTACK_HOME/localstack.log"
LS_PORT="${LOCALSTACK_PORT:-4566}"
LS_ENDPOINT="http://127.0.0.1:$LS_PORT"
LS_PY="$LS_VENV/bin/python"
# Python used to create the venv (needs >= 3.12).
if [[ -z "${LS_PYTHON:-}" ]]; then
  if PYENV_VERSION=3.13.0 python3.13 -c 'import sys' >/dev/null 2>&1; then
    LS_PYTHON="python3.13"
  else
    for candidate in python3.13 python3.12 python3; do
      if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
        LS_PYTHON="$candidate"
        break
      fi
    done
  fi
fi
LS_PYTHON="${LS_PYTHON:-python3}"
