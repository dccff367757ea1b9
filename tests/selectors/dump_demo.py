"""Writes pages of the demo shop (served by `trawl demo-site`) into a folder, for the
parity corpus: python dump_demo.py BASE_URL OUT_DIR [N]."""

import re
import sys
import urllib.request
from pathlib import Path

base, out = sys.argv[1], Path(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
out.mkdir(parents=True, exist_ok=True)
seen, queue = set(), ["/index.html"]
while queue and len(seen) < n:
    path = queue.pop(0)
    if path in seen:
        continue
    seen.add(path)
    try:
        body = urllib.request.urlopen(base + path, timeout=10).read()
    except Exception:
        continue
    (out / (re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") + ".html")).write_bytes(body)
    for href in re.findall(rb'href="(/[^"#?]*)"', body):
        queue.append(href.decode())
