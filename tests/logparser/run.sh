#!/usr/bin/env bash
# Trawl's job logs and /logs/stats.json against the real LogParser (my8100/logparser):
# a real `trawl serve` crawls the demo shop on loopback, then LogParser's parse() of the
# job log must find the job's pages, items, finish_reason and stats, and Trawl's
# /logs/stats.json must hold what LogParser itself computes for that log.
#
# Installs logparser and pytest into ${TRAWL_CACHE:-~/.cache/trawl}/logparser-venv
# (reused between runs). Uses the `trawl` binary in $TRAWL_BIN_DIR, else
# ${CARGO_TARGET_DIR:-target}/debug (built here when missing).
#
#   tests/logparser/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."

cache="${TRAWL_CACHE:-$HOME/.cache/trawl}"
venv="$cache/logparser-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --cache-dir "$cache/pip-cache" -r tests/logparser/requirements.txt

if [ -z "${TRAWL_BIN_DIR:-}" ]; then
  TRAWL_BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/debug"
  cargo build -q -p trawl-cli --locked
fi
export TRAWL_BIN_DIR
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning \
  tests/logparser "$@"
