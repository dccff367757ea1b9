#!/usr/bin/env bash
# Stop LocalStack and everything it started (see run.sh).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" stop
