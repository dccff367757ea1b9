"""List the processes that belong to one LocalStack instance (used by run.sh stop).

Usage: procs.py ROOT_PID MARKER
Prints, one per line, every live process that is ROOT_PID, a descendant of it, in its
session, or carries TRAWL_LOCALSTACK_ID=MARKER in its environment (which survives being
re-parented after LocalStack exits). Linux /proc only.
"""

import os
import sys


def main() -> None:
    root, marker = int(sys.argv[1]), sys.argv[2].encode()
    needle = b"TRAWL_LOCALSTACK_ID=" + marker
    me = os.getpid()
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            # fields after the ")" closing the command name: state ppid pgrp session ...
            fields = stat[stat.rindex(b")") + 2 :].split()
            if fields[0] == b"Z":
                continue
            parents[pid] = int(fields[1])
            if int(fields[3]) == root:
                found.add(pid)
        except (OSError, ValueError, IndexError):
            continue
        if marker:
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.add(pid)
            except OSError:
                pass
    if root in parents:
        found.add(root)
    # descendants of root
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if pid not in found and ppid in found:
                found.add(pid)
                changed = True
    found.discard(me)
    found.discard(os.getppid())
    for pid in sorted(found):
        print(pid)


if __name__ == "__main__":
    main()
