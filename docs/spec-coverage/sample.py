#!/usr/bin/env python3
"""Pick a reproducible random sample of alltheplaces spiders.

Usage: sample.py GIT_DIR [COMMIT]
Lists locations/spiders/*.py (top level only, excluding __init__.py) at COMMIT
(default HEAD), sorts them, and prints random.Random(SEED).sample(paths, N).
"""
import random
import subprocess
import sys

SEED = 2026
N = 60


def main() -> None:
    git_dir = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "--name-only", commit, "locations/spiders/"],
        check=True, capture_output=True, text=True,
    ).stdout
    paths = sorted(
        p for p in out.splitlines()
        if p.endswith(".py") and p.count("/") == 2 and not p.endswith("/__init__.py")
    )
    resolved = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", commit],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    print(f"# commit {resolved}, {len(paths)} spiders, seed {SEED}, n {N}", file=sys.stderr)
    for p in random.Random(SEED).sample(paths, N):
        print(p)


if __name__ == "__main__":
    main()
