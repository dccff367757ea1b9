#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint and `sam validate --lint`.
#
#   infra/check.sh            install the tools if needed (idempotent), then check
#
# Environment: TRAWL_CACHE (default ~/.cache/trawl), INFRA_VENV (default
# $TRAWL_CACHE/infra-venv), INFRA_PYTHON (python >= 3.9 used to create the venv).
# The venv also gets boto3 and PyYAML (for infra/deploy_localstack.py); cargo-lambda and
# ziglang (for `sam build`) are installed only with INFRA_WITH_BUILD_TOOLS=1.
set -euo pipefail
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$INFRA_DIR")"
TRAWL_CACHE="${TRAWL_CACHE:-$HOME/.cache/trawl}"
INFRA_VENV="${INFRA_VENV:-$TRAWL_CACHE/infra-venv}"
PY="$INFRA_VENV/bin/python"

log() { echo "[infra/check] $*" >&2; }

# Pinned: a new cfn-lint release can add rules; bump on purpose.
PACKAGES=(
  "cfn-lint==1.58.0"
  "aws-sam-cli==1.170.0"
  "boto3"
  "PyYAML"
)
if [[ "${INFRA_WITH_BUILD_TOOLS:-0}" == 1 ]]; then
  PACKAGES+=("cargo-lambda==1.9.2" "ziglang")
fi

if [[ -z "${INFRA_PYTHON:-}" ]]; then
  if PYENV_VERSION=3.13.0 python3.13 -c 'import sys' >/dev/null 2>&1; then
    INFRA_PYTHON=python3.13
  else
    INFRA_PYTHON=python3
  fi
fi

stamp="$INFRA_VENV/.trawl-installed"
want="$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-16)"
if [[ -x "$PY" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  :
else
  if [[ ! -x "$PY" ]]; then
    log "creating venv $INFRA_VENV"
    mkdir -p "$(dirname "$INFRA_VENV")"
    PYENV_VERSION="${PYENV_VERSION:-3.13.0}" "$INFRA_PYTHON" -m venv "$INFRA_VENV"
  fi
  log "installing ${PACKAGES[*]}"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip install --quiet "${PACKAGES[@]}"
  echo "$want" >"$stamp"
fi

# Offline: no telemetry, no update checks.
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTEXT=0 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-offline}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-offline}"

cd "$ROOT"
rc=0
log "cfn-lint infra/template.yaml"
if "$INFRA_VENV/bin/cfn-lint" infra/template.yaml; then
  log "cfn-lint: clean"
else
  rc=1
  log "cfn-lint: FAILED"
fi
log "sam validate --lint"
if "$INFRA_VENV/bin/sam" validate --lint --template infra/template.yaml --region us-east-1; then
  log "sam validate: clean"
else
  rc=1
  log "sam validate: FAILED"
fi
log "samconfig.toml"
if "$PY" -c 'import sys, tomllib; c = tomllib.load(open("samconfig.toml", "rb")); assert c["default"]["build"]["parameters"]["template_file"] == "infra/template.yaml"'; then
  log "samconfig.toml: ok"
else
  rc=1
  log "samconfig.toml: FAILED"
fi
exit $rc
