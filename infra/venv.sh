# The infra tools' Python venv (SAM CLI, cfn-lint, boto3, PyYAML; with
# INFRA_WITH_BUILD_TOOLS=1 also cargo-lambda and ziglang for `sam build`), installed if
# needed (idempotent). Sourced by infra/check.sh and infra/sam-build.sh, not run.
#
# Environment: TRAWL_CACHE (default ~/.cache/trawl), INFRA_VENV (default
# $TRAWL_CACHE/infra-venv), INFRA_PYTHON (python >= 3.9 used to create the venv).
# Sets INFRA_DIR, ROOT, TRAWL_CACHE, INFRA_VENV and PY.
# shellcheck shell=bash

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$INFRA_DIR")"
TRAWL_CACHE="${TRAWL_CACHE:-$HOME/.cache/trawl}"
INFRA_VENV="${INFRA_VENV:-$TRAWL_CACHE/infra-venv}"
PY="$INFRA_VENV/bin/python"

# Pinned: a new cfn-lint release can add rules; bump on purpose.
INFRA_PACKAGES=(
  "cfn-lint==1.58.0"
  "aws-sam-cli==1.170.0"
  "boto3"
  "PyYAML"
)
if [[ "${INFRA_WITH_BUILD_TOOLS:-0}" == 1 ]]; then
  INFRA_PACKAGES+=("cargo-lambda==1.9.2" "ziglang==0.17.1")
fi

if [[ -z "${INFRA_PYTHON:-}" ]]; then
  if PYENV_VERSION=3.13.0 python3.13 -c 'import sys' >/dev/null 2>&1; then
    INFRA_PYTHON=python3.13
  else
    INFRA_PYTHON=python3
  fi
fi

# One stamp line per package set installed, so the sets with and without the build
# tools do not reinstall each other.
_infra_stamp="$INFRA_VENV/.trawl-installed"
_infra_want="$(printf '%s\n' "${INFRA_PACKAGES[@]}" | sha256sum | cut -c1-16)"
if [[ -x "$PY" && -f "$_infra_stamp" ]] && grep -qx "$_infra_want" "$_infra_stamp"; then
  :
else
  if [[ ! -x "$PY" ]]; then
    echo "[infra] creating venv $INFRA_VENV" >&2
    mkdir -p "$(dirname "$INFRA_VENV")"
    PYENV_VERSION="${PYENV_VERSION:-3.13.0}" "$INFRA_PYTHON" -m venv "$INFRA_VENV"
    rm -f "$_infra_stamp"
  fi
  echo "[infra] installing ${INFRA_PACKAGES[*]}" >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PY" -m pip install --quiet "${INFRA_PACKAGES[@]}"
  echo "$_infra_want" >>"$_infra_stamp"
fi
unset _infra_stamp _infra_want

# Offline: no telemetry, no update checks, no credentials needed.
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTEXT=0 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-offline}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-offline}"
