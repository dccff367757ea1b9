#!/usr/bin/env python3
"""Parity check: Trawl's CSS-to-XPath translator against parsel's css2xpath.

Usage (with the parity venv's python, which has parsel installed):

    python css2xpath_parity.py [--selectors FILE] [--min-share 1.0] -- CMD [ARGS...]

CMD reads selectors on stdin, one per line, and prints one JSON object per line:
{"xpath": "..."} or {"error": "..."}. The same selectors go through
parsel.csstranslator.css2xpath; a selector agrees when both reject it, or both
accept it with identical XPath. Prints the share that agree and every difference;
exits 1 when the share is below --min-share.

Selector file: one selector per line, taken verbatim (only the final newline is
removed; no comments, since '#' starts an ID selector). A line may hold a JSON string
literal prefixed with 'json:' for selectors that need control characters, e.g.
json:"a\\nb".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from parsel.csstranslator import css2xpath


def load(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for line in lines:
        if line.startswith("json:"):
            line = json.loads(line[5:])
        out.append(line)
    return out


def reference(css: str) -> tuple[str, str]:
    try:
        return "xpath", css2xpath(css)
    except Exception as e:  # noqa: BLE001 - any exception is a rejection
        return "error", f"{type(e).__name__}: {e}"


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selectors", type=Path, default=here / "css_selectors.txt")
    ap.add_argument("--min-share", type=float, default=1.0)
    ap.add_argument("cmd", nargs="+", help="translator command (after --)")
    args = ap.parse_args()

    selectors = load(args.selectors)
    for s in selectors:
        if "\n" in s:
            sys.exit(f"selector with a newline cannot be sent line-wise: {s!r}")
    stdin = "".join(s + "\n" for s in selectors).encode("utf-8")
    proc = subprocess.run(args.cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
        sys.exit(f"translator exited with {proc.returncode}")
    outputs = proc.stdout.decode("utf-8").split("\n")
    if outputs and outputs[-1] == "":
        outputs.pop()
    if len(outputs) != len(selectors):
        sys.exit(f"expected {len(selectors)} output lines, got {len(outputs)}")

    same = 0
    accepted = 0
    diffs = []
    for css, line in zip(selectors, outputs):
        got = json.loads(line)
        kind, want = reference(css)
        if kind == "xpath":
            accepted += 1
            ok = got.get("xpath") == want
        else:
            ok = "error" in got
        if ok:
            same += 1
        else:
            diffs.append((css, kind, want, got))

    for css, kind, want, got in diffs:
        print(f"DIFF {css!r}")
        print(f"  parsel: {kind}: {want!r}")
        print(f"  trawl:  {got!r}")
    total = len(selectors)
    share = same / total if total else 1.0
    print(
        f"{same}/{total} identical ({share:.2%}); parsel accepts {accepted}, "
        f"rejects {total - accepted}"
    )
    return 0 if share >= args.min_share else 1


if __name__ == "__main__":
    sys.exit(main())
