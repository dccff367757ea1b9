#!/usr/bin/env bash
# The web console in a real headless browser: Playwright for Python drives Debian's
# chromium (/usr/bin/chromium, or $TRAWL_CHROMIUM; no browser download) against a real
# `trawl serve` with real crawls of `trawl demo-site` on loopback. Writes screenshots
# to target/console-screenshots/; TRAWL_UPDATE_SCREENSHOTS=1 refreshes the README's
# in docs/screenshots/.
#
# Installs playwright and pytest into ${TRAWL_CACHE:-~/.cache/trawl}/console-venv with
# pip (reused between runs; never `playwright install`). Uses the `trawl` binary in
# $TRAWL_BIN_DIR, else ${CARGO_TARGET_DIR:-target}/debug (built here when missing).
#
#   tests/console/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."

cache="${TRAWL_CACHE:-$HOME/.cache/trawl}"
venv="$cache/console-venv"
if [ ! -x "$venv/bin/python" ]; then
  if command -v python3.13 >/dev/null; then
    PYENV_VERSION="${PYENV_VERSION:-3.13.0}" python3.13 -m venv "$venv"
  else
    python3 -m venv "$venv"
  fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --cache-dir "$cache/pip-cache" -r tests/console/requirements.txt

if [ -z "${TRAWL_BIN_DIR:-}" ]; then
  TRAWL_BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/debug"
  cargo build -q -p trawl-cli --locked
fi
export TRAWL_BIN_DIR
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/console "$@"
