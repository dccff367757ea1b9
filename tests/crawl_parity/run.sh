#!/usr/bin/env bash
# Crawl parity: the same crawl through Scrapy (a CrawlSpider, spider.py) and through
# Trawl (a spec, spider.toml) over a real corpus served on loopback; compares the items
# page by page and prints both crawls' wall time and peak RSS.
#
#   tests/crawl_parity/run.sh                  the whole corpus, debug `trawl`
#   tests/crawl_parity/run.sh --pages 200      stop each crawl after 200 responses
#                                              (CLOSESPIDER_PAGECOUNT; the crawled set then
#                                              depends on scheduling order, so fewer pages
#                                              are common to both sides)
#   tests/crawl_parity/run.sh --release        target/release/trawl (for the memory and
#                                              time figures; built when missing)
#   tests/crawl_parity/run.sh --min-share 0.9  fail when under 90% of the common pages
#                                              have identical items
#
# Corpus: Debian's python3-doc (the Python documentation, /usr/share/doc/python3/html;
# installed with apt-get when missing and running as root), or $TRAWL_PARITY_CORPUS (a
# folder of a static site with an index.html). serve.py serves it on 127.0.0.1 (a free
# port) with `Content-Type: text/html` and no charset, so both sides detect encodings
# themselves. The crawl starts at /index.html and follows every link of the host.
#
# Scrapy (>= 2.13) is installed into ${TRAWL_CACHE:-~/.cache/trawl}/scrapy-venv with
# Python 3.13 (pyenv's 3.13.0) when available, else python3 ($PYTHON overrides), and the
# pip cache ${TRAWL_CACHE:-~/.cache/trawl}/pip-cache; later runs need no network.
# The `trawl` binary: $TRAWL_BIN_DIR/trawl, else ${CARGO_TARGET_DIR:-target}/debug/trawl
# (or release/ with --release), built with cargo only when missing.
#
# Output in ${CARGO_TARGET_DIR:-target}/crawl-parity/: scrapy.jsonl, trawl.jsonl, the two
# crawl logs, {scrapy,trawl}-run.json (time, RSS) and report.json (compare.py's figures).
# Exits non-zero when a crawl fails or the identical share is under --min-share.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
HERE="$ROOT/tests/crawl_parity"

log() { echo "[crawl-parity] $*" >&2; }
die() { log "error: $*"; exit 1; }

pages=""
profile=debug
min_share=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pages) [ $# -ge 2 ] || die "--pages needs a number"; pages="$2"; shift 2 ;;
    --pages=*) pages="${1#*=}"; shift ;;
    --release) profile=release; shift ;;
    --min-share) [ $# -ge 2 ] || die "--min-share needs a number"; min_share="$2"; shift 2 ;;
    --min-share=*) min_share="${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ -n "$pages" ] && ! [[ "$pages" =~ ^[1-9][0-9]*$ ]]; then
  die "--pages wants a positive integer, not '$pages'"
fi

cache="${TRAWL_CACHE:-$HOME/.cache/trawl}"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
out="$target/crawl-parity"

# --- Scrapy ---------------------------------------------------------------------------
venv="$cache/scrapy-venv"
if [ ! -x "$venv/bin/python" ]; then
  if [ -n "${PYTHON:-}" ]; then py=("$PYTHON")
  elif PYENV_VERSION=3.13.0 python3.13 -c 'import venv' >/dev/null 2>&1; then
    py=(env PYENV_VERSION=3.13.0 python3.13)
  else py=(python3)
  fi
  log "creating $venv with $("${py[@]}" --version 2>&1)"
  mkdir -p "$cache"
  "${py[@]}" -m venv "$venv" || die "could not create the venv $venv"
fi
if ! "$venv/bin/python" -c 'import scrapy, sys; sys.exit(tuple(map(int, scrapy.__version__.split(".")[:2])) < (2, 13))' 2>/dev/null; then
  log "installing scrapy>=2.13 into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    --cache-dir "$cache/pip-cache" 'scrapy>=2.13' || die "pip install scrapy failed"
fi
scrapy_version=$("$venv/bin/python" -c 'import scrapy, parsel, lxml; print(f"scrapy {scrapy.__version__}, parsel {parsel.__version__}, lxml {lxml.__version__}")')

# --- Trawl ----------------------------------------------------------------------------
if [ -n "${TRAWL_BIN_DIR:-}" ]; then
  trawl="$TRAWL_BIN_DIR/trawl"
  [ -x "$trawl" ] || die "no executable trawl in TRAWL_BIN_DIR=$TRAWL_BIN_DIR"
else
  trawl="$target/$profile/trawl"
  if [ ! -x "$trawl" ]; then
    log "building $trawl"
    if [ "$profile" = release ]; then cargo build -q --release -p trawl-cli --locked
    else cargo build -q -p trawl-cli --locked; fi
  fi
fi

# --- Corpus ---------------------------------------------------------------------------
corpus="${TRAWL_PARITY_CORPUS:-}"
if [ -z "$corpus" ]; then
  if [ ! -e /usr/share/doc/python3/html/index.html ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing python3-doc (the corpus)"
      apt-get install -y -q python3-doc >/dev/null || die "apt-get install python3-doc failed"
    else
      die "no corpus: install python3-doc (apt-get install python3-doc) or set TRAWL_PARITY_CORPUS"
    fi
  fi
  corpus=/usr/share/doc/python3/html
fi
corpus=$(realpath -e "$corpus") || die "corpus $corpus not found"
[ -f "$corpus/index.html" ] || die "corpus $corpus has no index.html"

# --- Serve ----------------------------------------------------------------------------
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$venv/bin/python" "$HERE/serve.py" "$corpus" --port-file "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$work/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
  sleep 0.1
done
[ -s "$work/port" ] || die "the server did not start"
site="http://127.0.0.1:$(cat "$work/port")"
"$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/index.html', timeout=10).read()" "$site" \
  || die "the server does not answer at $site/index.html"

# Read the corpus once so neither crawl pays for a cold page cache.
find "$corpus" -type f -exec cat {} + >/dev/null

mkdir -p "$out"
rm -f "$out"/scrapy.jsonl "$out"/trawl.jsonl "$out"/*.log "$out"/*-run.json "$out"/report.json
limit=()
if [ -n "$pages" ]; then limit=(-s "CLOSESPIDER_PAGECOUNT=$pages"); fi
log "corpus $corpus ($(find "$corpus" -name '*.html' | wc -l) .html files) at $site/index.html${pages:+, $pages pages}"

status=0
log "trawl: $trawl crawl tests/crawl_parity/spider.toml"
"$venv/bin/python" "$HERE/measure.py" "$out/trawl-run.json" -- \
  "$trawl" crawl "$HERE/spider.toml" -a "site=$site" -O "$out/trawl.jsonl" \
  -L INFO --logfile "$out/trawl.log" ${limit[@]+"${limit[@]}"} \
  || { log "the trawl crawl failed (exit $?); see $out/trawl.log"; status=1; }

log "scrapy ($scrapy_version): scrapy runspider tests/crawl_parity/spider.py"
# From an empty folder, so that no scrapy.cfg / project settings are picked up.
mkdir -p "$work/scrapy"
(cd "$work/scrapy" && env -u SCRAPY_SETTINGS_MODULE -u SCRAPY_PROJECT \
  "$venv/bin/python" "$HERE/measure.py" "$out/scrapy-run.json" -- \
  "$venv/bin/python" -m scrapy runspider "$HERE/spider.py" -a "site=$site" \
  -O "$out/scrapy.jsonl:jsonlines" --logfile "$out/scrapy.log" -s LOG_LEVEL=INFO ${limit[@]+"${limit[@]}"}) \
  || { log "the scrapy crawl failed (exit $?); see $out/scrapy.log"; status=1; }

kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""

[ -f "$out/trawl.jsonl" ] || touch "$out/trawl.jsonl"
[ -f "$out/scrapy.jsonl" ] || touch "$out/scrapy.jsonl"
"$venv/bin/python" "$HERE/compare.py" \
  --scrapy "$out/scrapy.jsonl" --trawl "$out/trawl.jsonl" \
  --scrapy-run "$out/scrapy-run.json" --trawl-run "$out/trawl-run.json" \
  --scrapy-log "$out/scrapy.log" --trawl-log "$out/trawl.log" \
  --spec "$HERE/spider.toml" --site "$site" --label "trawl $profile${TRAWL_BIN_DIR:+ ($TRAWL_BIN_DIR)}; $scrapy_version" \
  --min-share "$min_share" --report "$out/report.json" || status=1
log "items, logs and report.json in $out"
exit "$status"
