"""Selector parity: the same CSS and XPath selectors through parsel (Scrapy's selector
library, over lxml) and through Trawl (`trawl select`), over a corpus of pages; reports
per selector the share of pages with identical results, and examples of differences.

Usage: python parity.py --trawl PATH/trawl --selectors selectors.json [--min-share F]
           [--report out.json] PAGES_OR_DIRS...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from parsel import Selector


def pages(paths: list[str], limit: int) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.html") if q.is_file()))
        elif p.is_file():
            out.append(p)
    if limit and len(out) > limit:
        # An even sample across every corpus, not the first pages of the first one.
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out


def decode(body: bytes) -> str:
    # Both sides read the same text: UTF-8 (the corpus is UTF-8), errors replaced.
    return body.decode("utf-8", errors="replace")


def parsel_results(text: str, selectors: list[dict]) -> dict:
    # Scrapy's HtmlResponse selects with type="html" (an XHTML page with `<?xml` too).
    sel = Selector(text=text, type="html")
    out = {}
    for s in selectors:
        kind, expr = next(iter(s.items()))
        key = f"{kind}:{expr}"
        try:
            out[key] = sel.css(expr).getall() if kind == "css" else sel.xpath(expr).getall()
        except Exception as e:  # an expression parsel refuses
            out[key] = {"error": type(e).__name__}
    return out


def trawl_results(trawl: str, selectors_file: str, files: list[Path]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i in range(0, len(files), 200):
        batch = files[i : i + 200]
        r = subprocess.run(
            [trawl, "--nolog", "select", "--selectors", selectors_file, *map(str, batch)],
            check=True, capture_output=True, text=True,
        )
        for line in r.stdout.splitlines():
            v = json.loads(line)
            out[v["file"]] = v["results"]
    return out


def shorten(v):
    """At most 5 results of at most 300 characters each, for the report."""
    if isinstance(v, list):
        return [x if len(x) <= 300 else x[:300] + "…" for x in v[:5]]
    return v


def same(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict)  # both refused the expression
    return a == b


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trawl", required=True)
    ap.add_argument("--selectors", required=True)
    ap.add_argument("--limit", type=int, default=0, help="at most this many pages")
    ap.add_argument("--min-share", type=float, default=0.0, help="fail below this overall share")
    ap.add_argument("--report", help="write the full report as JSON here")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    selectors = json.loads(Path(a.selectors).read_text())
    files = pages(a.paths, a.limit)
    if not files:
        print("no pages", file=sys.stderr)
        return 2
    trawl = trawl_results(a.trawl, a.selectors, files)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    examples: dict[str, list] = defaultdict(list)
    for f in files:
        mine = trawl[str(f)]
        theirs = parsel_results(decode(f.read_bytes()), selectors)
        for key, want in theirs.items():
            got = mine.get(key)
            per[key][1] += 1
            if same(want, got):
                per[key][0] += 1
            elif len(examples[key]) < 3:
                examples[key].append({"page": str(f), "parsel": shorten(want), "trawl": shorten(got)})
    total_same = sum(s for s, _ in per.values())
    total = sum(n for _, n in per.values())
    share = total_same / total
    print(f"{len(files)} pages, {len(selectors)} selectors: {share:.2%} of results identical to parsel")
    print()
    print("| selector | identical |")
    print("|---|---:|")
    for key, (s, n) in sorted(per.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        print(f"| `{key}` | {s / n:.1%} |")
    if a.report:
        Path(a.report).write_text(json.dumps({"pages": len(files), "share": share,
                                              "per_selector": {k: v[0] / v[1] for k, v in per.items()},
                                              "examples": examples}, indent=1))
    if share < a.min_share:
        print(f"FAIL: {share:.2%} is below the floor {a.min_share:.2%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
