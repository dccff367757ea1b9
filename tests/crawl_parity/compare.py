#!/usr/bin/env python3
"""Crawl parity: compares the items of a Scrapy crawl and a Trawl crawl of the same site.

    python compare.py --scrapy scrapy.jsonl --trawl trawl.jsonl
        [--scrapy-run scrapy-run.json --trawl-run trawl-run.json]   (from measure.py)
        [--scrapy-log scrapy.log --trawl-log trawl.log]             (their stats dumps)
        [--site http://127.0.0.1:PORT] [--examples 5]
        [--min-share F] [--report out.json]

Items are joined by page: the key is the item's `url` after w3lib's canonicalize_url
(so that the two sides' spellings of one URL, e.g. percent-encoding or query order,
still pair up; the `url` field itself is then compared verbatim like every other field).
Prints the pages crawled by each side, URLs found on one side only, the share of common
pages whose items are identical on every field, the identical share per field (a field
absent from an item counts as null), the first differences of each field side by side,
and the wall time and peak RSS of both crawls. Exits 1 when the identical share is
below --min-share (or there is no common page while a floor is set).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

try:
    from w3lib.url import canonicalize_url
except ImportError:  # plain python3: exact URLs
    def canonicalize_url(url: str) -> str:
        return url.split("#", 1)[0]


def load(path: Path) -> tuple[dict[str, dict], Counter, int]:
    """Items by canonical URL; the count of each key; the number of items without url."""
    items: dict[str, dict] = {}
    counts: Counter = Counter()
    no_url = 0
    if not path.exists():
        return items, counts, 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            item = json.loads(line)
            url = item.get("url")
            if not isinstance(url, str):
                no_url += 1
                continue
            key = canonicalize_url(url)
            counts[key] += 1
            items.setdefault(key, item)  # the first item of a page
    return items, counts, no_url


STAT_KEYS = (
    "response_received_count",
    "downloader/request_count",
    "item_scraped_count",
    "dupefilter/filtered",
    "offsite/filtered",
    "finish_reason",
    "elapsed_time_seconds",
    "memusage/max",
    "log_count/ERROR",
    "spider_exceptions/count",
)


def stats_from_log(path: Path | None) -> dict:
    """Scalar stats from the 'Dumping Scrapy stats' block of a log (both print it)."""
    if not path or not path.exists():
        return {}
    text = path.read_text(encoding="utf-8", errors="replace")
    at = text.rfind("Dumping Scrapy stats")
    if at < 0:
        return {}
    block = text[at:]
    out = {}
    for key in STAT_KEYS:
        m = re.search(r"'%s': ([^,\n}]+)" % re.escape(key), block)
        if m:
            v = m.group(1).strip().strip("'")
            try:
                v = float(v) if "." in v else int(v)
            except ValueError:
                pass
            out[key] = v
    # Exceptions per type (spider_exceptions/KeyError, ...).
    for m in re.finditer(r"'(spider_exceptions/[^']+)': (\d+)", block):
        out[m.group(1)] = int(m.group(2))
    return out


def log_counts(path: Path | None) -> tuple[int, int] | None:
    """(errors, warnings) logged: Scrapy's `] ERROR:` / `] WARNING:`, Trawl's ` ERROR ` / ` WARN `."""
    if not path or not path.exists():
        return None
    err = warn = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line[:80]
            if re.search(r"\] ERROR: |^\S+Z\s+ERROR ", head):
                err += 1
            elif re.search(r"\] WARNING: |^\S+Z\s+WARN ", head):
                warn += 1
    return err, warn


def load_run(path: Path | None) -> dict:
    if not path or not path.exists():
        return {}
    return json.loads(path.read_text())


def short(v, width: int = 110) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= width else s[: width - 3] + "..."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scrapy", type=Path, required=True)
    ap.add_argument("--trawl", type=Path, required=True)
    ap.add_argument("--scrapy-run", type=Path)
    ap.add_argument("--trawl-run", type=Path)
    ap.add_argument("--scrapy-log", type=Path)
    ap.add_argument("--trawl-log", type=Path)
    ap.add_argument("--spec", type=Path, help="spider.toml: every field is reported, even one never present")
    ap.add_argument("--site", default="", help="shown as a relative path in the output")
    ap.add_argument("--label", default="")
    ap.add_argument("--examples", type=int, default=5, help="differences shown per field")
    ap.add_argument("--min-share", type=float, default=0.0)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()

    def rel(url: str) -> str:
        return url[len(args.site):] if args.site and url.startswith(args.site) else url

    s_items, s_counts, s_nourl = load(args.scrapy)
    t_items, t_counts, t_nourl = load(args.trawl)
    common = sorted(set(s_items) & set(t_items))
    only_s = sorted(set(s_items) - set(t_items))
    only_t = sorted(set(t_items) - set(s_items))

    fields: list[str] = []
    if args.spec:
        import tomllib

        spec = tomllib.loads(args.spec.read_text(encoding="utf-8"))
        for cb in spec.get("callbacks", {}).values():
            fields += [f for f in cb.get("fields", {}) if f not in fields]
    for it in list(s_items.values()) + list(t_items.values()):
        for k in it:
            if k not in fields:
                fields.append(k)

    same_page = 0
    per_field = {f: 0 for f in fields}
    examples: dict[str, list] = {f: [] for f in fields}
    diff_pages: dict[str, int] = {f: 0 for f in fields}
    for key in common:
        a, b = s_items[key], t_items[key]
        all_same = True
        for f in fields:
            va, vb = a.get(f), b.get(f)
            if va == vb:
                per_field[f] += 1
            else:
                all_same = False
                diff_pages[f] += 1
                if len(examples[f]) < args.examples:
                    examples[f].append({"url": rel(a["url"]), "scrapy": va, "trawl": vb})
        same_page += all_same
    n = len(common)
    share = same_page / n if n else 0.0

    s_run, t_run = load_run(args.scrapy_run), load_run(args.trawl_run)
    s_stats, t_stats = stats_from_log(args.scrapy_log), stats_from_log(args.trawl_log)

    # ---- print ----
    p = print
    if args.label:
        p(f"crawl parity: {args.label}")
    p(f"{'':28}{'scrapy':>24}{'trawl':>24}")
    rows = [
        ("responses (stats)", s_stats.get("response_received_count"), t_stats.get("response_received_count")),
        ("items", sum(s_counts.values()) + s_nourl, sum(t_counts.values()) + t_nourl),
        ("pages with an item", len(s_items), len(t_items)),
        ("pages with >1 item", sum(1 for c in s_counts.values() if c > 1), sum(1 for c in t_counts.values() if c > 1)),
        ("finish reason", s_stats.get("finish_reason"), t_stats.get("finish_reason")),
        ("log errors / warnings",
         "%d / %d" % log_counts(args.scrapy_log) if log_counts(args.scrapy_log) else None,
         "%d / %d" % log_counts(args.trawl_log) if log_counts(args.trawl_log) else None),
        ("wall time (s)", s_run.get("wall_s"), t_run.get("wall_s")),
        ("cpu user+sys (s)",
         round(s_run["user_s"] + s_run["sys_s"], 2) if s_run else None,
         round(t_run["user_s"] + t_run["sys_s"], 2) if t_run else None),
        ("peak RSS (MB)",
         round(s_run["peak_rss_kb"] / 1024, 1) if s_run else None,
         round(t_run["peak_rss_kb"] / 1024, 1) if t_run else None),
        ("exit status", s_run.get("exit"), t_run.get("exit")),
    ]
    for name, a, b in rows:
        a, b = ("-" if v is None else str(v) for v in (a, b))
        p(f"{name:28}{a:>24}{b:>24}")
    exc = {k: v for k, v in s_stats.items() if k.startswith("spider_exceptions/")}
    if exc:
        p(f"scrapy spider exceptions: {exc}")

    p("")
    p(f"common pages: {n}; only in scrapy: {len(only_s)}; only in trawl: {len(only_t)}")
    for side, keys, items in (("scrapy", only_s, s_items), ("trawl", only_t, t_items)):
        for key in keys[:10]:
            p(f"  only in {side}: {rel(items[key]['url'])}")
        if len(keys) > 10:
            p(f"  ... and {len(keys) - 10} more only in {side}")
    p("")
    p(f"identical items: {same_page}/{n} = {share:.1%}")
    p("per field (identical share over common pages):")
    present = {f: (sum(f in it for it in s_items.values()), sum(f in it for it in t_items.values()))
               for f in fields}
    for f in fields:
        fs = per_field[f] / n if n else 0.0
        ps, pt = present[f]
        p(f"  {f:20} {fs:7.1%}  ({diff_pages[f]} differ; present in {ps} scrapy / {pt} trawl items)")
    for f in fields:
        if not examples[f]:
            continue
        p("")
        p(f"first differences in {f} ({diff_pages[f]} pages):")
        for ex in examples[f]:
            p(f"  {ex['url']}")
            p(f"    scrapy: {short(ex['scrapy'])}")
            p(f"    trawl:  {short(ex['trawl'])}")

    if args.report:
        report = {
            "label": args.label,
            "scrapy": {"run": s_run, "stats": s_stats, "log_errors_warnings": log_counts(args.scrapy_log), "items": sum(s_counts.values()) + s_nourl,
                       "pages": len(s_items)},
            "trawl": {"run": t_run, "stats": t_stats, "log_errors_warnings": log_counts(args.trawl_log), "items": sum(t_counts.values()) + t_nourl,
                      "pages": len(t_items)},
            "common_pages": n,
            "only_scrapy": [rel(s_items[k]["url"]) for k in only_s],
            "only_trawl": [rel(t_items[k]["url"]) for k in only_t],
            "identical_pages": same_page,
            "identical_share": share,
            "fields": {f: {"identical_share": (per_field[f] / n if n else 0.0),
                           "differ": diff_pages[f],
                           "present_scrapy": present[f][0], "present_trawl": present[f][1],
                           "examples": examples[f]} for f in fields},
        }
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    if args.min_share > 0 and (n == 0 or share < args.min_share):
        p(f"\nFAIL: identical share {share:.1%} is below the floor {args.min_share:.1%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
