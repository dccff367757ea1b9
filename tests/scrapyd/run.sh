#!/usr/bin/env bash
# Scrapyd's own black-box integration suite (from the scrapyd 1.6.0 sdist) against
# `trawl serve`.
#
#   tests/scrapyd/run.sh                 build the debug `trawl`, run the suite, print passed/total
#
# Downloads the sdist (checked against its SHA-256) and the suite's Python packages once
# into ${TRAWL_CACHE:-~/.cache/trawl}/scrapyd-suite; later runs need no network.
# Environment:
#   TRAWL_BIN           the `trawl` binary to test (default: cargo build -p trawl-cli, debug)
#   TRAWL_SCRAPYD_PORT  the port to serve on (default: a free one; the suite's requests to
#                       127.0.0.1:6800 are redirected there by conftest.py)
#   PYTHON              the Python that creates the venv (default: python3, >= 3.9)
#   PYTEST_ARGS         extra pytest arguments (e.g. "-k options -vv")
# Exits non-zero unless every test of the suite passes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
HERE="$ROOT/tests/scrapyd"

SCRAPYD_VERSION="1.6.0"
SDIST="scrapyd-$SCRAPYD_VERSION.tar.gz"
SDIST_SHA256="2bc7f43036580b22b1fc8a8cb7d125d32588c8dbd1284b3db2cc28d7fa3bc998"
EXPECTED_TESTS=31
# The credentials Scrapyd's CI configures and the suite sends.
USERNAME="hello12345"
PASSWORD="67890world"

CACHE="${TRAWL_CACHE:-$HOME/.cache/trawl}/scrapyd-suite"
VENV="$CACHE/venv"
SRC="$CACHE/src/scrapyd-$SCRAPYD_VERSION"
PYTHON="${PYTHON:-python3}"

log() { echo "[scrapyd-suite] $*" >&2; }

install() {
  mkdir -p "$CACHE/dist" "$CACHE/wheels" "$CACHE/src"
  if [[ ! -f "$CACHE/dist/$SDIST" ]]; then
    log "downloading $SDIST"
    "$PYTHON" -m pip download -q --no-binary :all: --no-deps -d "$CACHE/dist" \
      "scrapyd==$SCRAPYD_VERSION"
  fi
  echo "$SDIST_SHA256  $CACHE/dist/$SDIST" | sha256sum -c --quiet -
  if [[ ! -d "$SRC/integration_tests" ]]; then
    rm -rf "$SRC"
    tar -xzf "$CACHE/dist/$SDIST" -C "$CACHE/src"
  fi
  local stamp
  stamp="$VENV/.ready-$(sha256sum "$HERE/requirements.txt" | cut -c1-16)"
  if [[ ! -f "$stamp" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    if ! "$VENV/bin/pip" install -q --no-index --find-links "$CACHE/wheels" \
      -r "$HERE/requirements.txt" 2>/dev/null; then
      log "downloading the suite's packages"
      "$VENV/bin/pip" download -q -d "$CACHE/wheels" -r "$HERE/requirements.txt"
      "$VENV/bin/pip" install -q --no-index --find-links "$CACHE/wheels" \
        -r "$HERE/requirements.txt"
    fi
    touch "$stamp"
  fi
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install

if [[ -z "${TRAWL_BIN:-}" ]]; then
  cargo build -q -p trawl-cli --locked
  TRAWL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/trawl"
fi

RUN="$(mktemp -d "${TMPDIR:-/tmp}/trawl-scrapyd-suite.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$RUN"
}
trap cleanup EXIT

# The suite, with its Python egg fixture swapped for a Trawl bundle of the same spiders.
cp -r "$SRC/integration_tests" "$RUN/"
cp "$HERE/conftest.py" "$RUN/"
mkdir -p "$RUN/tests/fixtures"
(cd "$HERE/fixtures/quotesbot" && "$VENV/bin/python" -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.argv[2:]:
        z.write(name, "quotesbot/" + name)
' "$RUN/tests/fixtures/quotesbot.egg" *.toml)

PORT="${TRAWL_SCRAPYD_PORT:-$(free_port)}"
SCRAPYD_USERNAME="$USERNAME" SCRAPYD_PASSWORD="$PASSWORD" RUST_LOG="${RUST_LOG:-warn}" \
  "$TRAWL_BIN" serve --bind 127.0.0.1 --port "$PORT" --data-dir "$RUN/data" \
  >"$RUN/serve.log" 2>&1 &
SERVER_PID=$!

URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/daemonstatus.json", timeout=1)
except urllib.error.HTTPError:
    pass' "$URL" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "trawl serve exited:"; cat "$RUN/serve.log" >&2; exit 1
  fi
  sleep 0.1
done

log "Scrapyd $SCRAPYD_VERSION integration suite against $TRAWL_BIN on $URL"
set +e
# shellcheck disable=SC2086
(cd "$RUN" && TRAWL_SCRAPYD_URL="$URL" "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  --junitxml="$RUN/junit.xml" ${PYTEST_ARGS:-} integration_tests)
status=$?
set -e

read -r total passed < <("$VENV/bin/python" - "$RUN/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get(k, 0)) for s in suites for k in ("failures", "errors", "skipped"))
print(total, total - bad)
PY
)
echo "Scrapyd $SCRAPYD_VERSION integration suite: $passed/$total passed"
if [[ $status -ne 0 || "$passed" -ne "$total" || "$total" -ne $EXPECTED_TESTS ]]; then
  if [[ "$total" -ne $EXPECTED_TESTS ]]; then
    log "expected $EXPECTED_TESTS tests, found $total"
  fi
  log "server log:"; tail -n 50 "$RUN/serve.log" >&2
  exit 1
fi
