#!/usr/bin/env bash
# Selector parity: the selectors of tests/selectors/selectors.json through parsel (over
# lxml, as Scrapy runs them) and through Trawl (`trawl select`), page by page; prints the
# share of identical results per selector (see parity.py).
#
#   tests/selectors/run.sh          600 pages sampled evenly from the fixtures, 200 pages
#                                   of the demo shop and four documentation sites
#                                   (Debian's python3-doc, postgresql-doc-15, git-doc,
#                                   debian-reference; installed with apt when missing and
#                                   root); fails below the floor $TRAWL_SELECTOR_FLOOR
#   tests/selectors/run.sh --full   every page
#
# Installs parsel into ${TRAWL_CACHE:-~/.cache/trawl}/parity-venv; uses the `trawl`
# binary in $TRAWL_BIN_DIR, else ${CARGO_TARGET_DIR:-target}/debug (built when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

full=""
if [ "${1:-}" = --full ]; then full=1; shift; fi
cache="${TRAWL_CACHE:-$HOME/.cache/trawl}"
venv="$cache/parity-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --cache-dir "$cache/pip-cache" -r tests/selectors/requirements.txt

if [ -z "${TRAWL_BIN_DIR:-}" ]; then
  TRAWL_BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/debug"
  cargo build -q -p trawl-cli --locked
fi
trawl="$TRAWL_BIN_DIR/trawl"

work=$(mktemp -d)
site_pid=""
cleanup() { if [ -n "$site_pid" ]; then kill "$site_pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$trawl" --nolog demo-site --bind "127.0.0.1:$port" --products 300 &
site_pid=$!
for _ in $(seq 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html')" 2>/dev/null; then break; fi
  sleep 0.1
done
"$venv/bin/python" tests/selectors/dump_demo.py "http://127.0.0.1:$port" "$work/demo" 200

corpus=(tests/selectors/fixtures "$work/demo")
limit=600
if [ -n "$full" ]; then limit=0; fi
# The documentation corpora come from Debian packages: installed when missing (as root).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
   && ! { [ -d /usr/share/doc/python3/html ] && [ -d /usr/share/doc/postgresql-doc-15/html ] \
          && [ -d /usr/share/doc/git-doc ] && [ -d /usr/share/debian-reference ]; }; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    python3-doc postgresql-doc-15 git-doc debian-reference >/dev/null \
    || echo "warning: could not install the documentation corpora; using what is installed" >&2
fi
# Real documentation sites from Debian packages, each from another HTML generator:
# Python (Sphinx), PostgreSQL (DocBook XSL, XHTML with an XML declaration), Git
# (AsciiDoc), the Debian Reference (DocBook, a dozen languages). The Python
# documentation is linked from several packages' folders: take it once.
for d in /usr/share/doc/python3/html /usr/share/doc/postgresql-doc-15/html \
         /usr/share/doc/git-doc /usr/share/debian-reference; do
  docs=$(realpath -e "$d" 2>/dev/null || true)
  if [ -n "$docs" ]; then corpus+=("$docs"); fi
done

mkdir -p target
# CSS → XPath: every selector of the list translated exactly as parsel translates it.
"$venv/bin/python" tests/selectors/css2xpath_parity.py --min-share 1.0 -- "$trawl" select --css-to-xpath \
  | tail -n 1
"$venv/bin/python" tests/selectors/parity.py --trawl "$trawl" \
  --selectors tests/selectors/selectors.json --limit "$limit" \
  --min-share "${TRAWL_SELECTOR_FLOOR:-0}" --report target/selector-parity.json "${corpus[@]}" "$@"
