#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint and `sam validate --lint`.
#
#   infra/check.sh            install the tools if needed (idempotent), then check
#
# Environment: TRAWL_CACHE (default ~/.cache/trawl), INFRA_VENV (default
# $TRAWL_CACHE/infra-venv), INFRA_PYTHON (python >= 3.9 used to create the venv).
# The venv (infra/venv.sh) also gets boto3 and PyYAML (for infra/deploy_localstack.py);
# cargo-lambda and ziglang (for `sam build`, infra/sam-build.sh) are installed only with
# INFRA_WITH_BUILD_TOOLS=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

log() { echo "[infra/check] $*" >&2; }

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
