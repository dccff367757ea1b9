"""Runs a command and records its wall time and peak memory.

    python measure.py OUT.json -- CMD [ARGS...]

Peak RSS is the larger of the kernel's high-water mark for the process
(/proc/PID/status VmHWM, polled every 20 ms while it runs) and wait4()'s ru_maxrss
(exact for the process and any children it waited for). The command's exit status is
passed through; OUT.json gets {"cmd", "exit", "wall_s", "peak_rss_kb", "user_s", "sys_s"}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def vmhwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, cmd = sys.argv[1], sys.argv[3:]
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    hwm = 0
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        hwm = max(hwm, vmhwm(proc.pid))
        time.sleep(0.02)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here; keep Popen from waiting again
    rec = {
        "cmd": cmd,
        "exit": code,
        "wall_s": round(wall, 3),
        "peak_rss_kb": max(hwm, ru.ru_maxrss),
        "user_s": round(ru.ru_utime, 3),
        "sys_s": round(ru.ru_stime, 3),
    }
    with open(out, "w") as f:
        json.dump(rec, f, indent=2)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
