#!/usr/bin/env bash
# Start LocalStack in the background (see run.sh).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" start
