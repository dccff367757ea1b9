"""One job over 1, 2, 4 and 8 crawler functions on LocalStack: pages per second, and the
DynamoDB, Lambda and SQS requests per 1,000 pages.

The same web as `trawl-bench fanout`: 16 hosts on loopback (127.0.0.2 …), 130 pages
each plus an entry page, every response 50 ms late; each crawler limited to
CONCURRENT_REQUESTS = 2, as one Lambda's vCPU would limit it. The stack is deployed
from infra/template.yaml (the functions built for this machine, run by LocalStack's host
executor), the web is served by `trawl demo-web`, and each job is scheduled through
API Gateway. Pages per second are the job's items over its start-to-finish time (from
listjobs.json), so they include the crawlers' start and the poller's scaling. The
frontier calls are summed from the crawlers' own lines in the job's merged log.

    localstack/run.sh start && eval "$(localstack/run.sh env)"
    cargo build --workspace --bins
    $LS_PY bench/localstack_fanout.py            # writes target/bench-localstack-fanout.json
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from conftest import STACK_PARAMETERS, TARGET, Api  # noqa: E402

HOSTS, PAGES, LATENCY_MS = 16, 130, 50
CRAWLERS = [1, 2, 4, 8]
SPEC = (ROOT / "demo" / "specs" / "web.toml").read_text()


def deploy(name: str) -> dict:
    params = dict(STACK_PARAMETERS, MaxProc="16", CrawlerTimeout="300", CrawlQueueVisibilityTimeout="310")
    cmd = [sys.executable, str(ROOT / "infra" / "deploy_localstack.py"), "--stack-name", name,
           "--target-dir", str(TARGET.parent), "--profile", TARGET.name]
    for k, v in params.items():
        cmd += ["--parameter", f"{k}={v}"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def when(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f")


def calls(log: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for line in log.splitlines():
        if "Frontier calls of this crawler:" in line:
            for k, v in re.findall(r"(\w+)=(\d+)", line.split(":", 3)[-1]):
                total[k] = total.get(k, 0) + int(v)
    return total


def cpu_by_process() -> dict[str, float]:
    """CPU seconds used so far by this machine's processes, by kind: LocalStack, each
    function's host processes, the web."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            env = (p / "environ").read_bytes() if "bootstrap" in cmd else b""
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if "bootstrap" in cmd:
            name = next((v for v in env.split(b"\0") if v.startswith(b"AWS_LAMBDA_FUNCTION_NAME=")), b"=?")
            kind = "function " + name.decode().rsplit("-", 1)[-1]
        elif "demo-web" in cmd:
            kind = "web"
        elif "localstack" in cmd:
            kind = "localstack"
        else:
            continue
        out[kind] = out.get(kind, 0.0) + used
    return out


def run(api: Api, bases: list[str], crawlers: int) -> dict:
    project = f"bench{uuid.uuid4().hex[:8]}"
    v = api.post("addversion.json", data={"project": project, "version": "1"},
                 files={"egg": ("web.toml", SPEC.encode())})
    assert v["status"] == "ok", v
    v = api.post("schedule.json", data={
        "project": project, "spider": "web", "start": bases[0],
        "setting": [f"CONCURRENT_CRAWLERS={crawlers}", "CONCURRENT_REQUESTS=2", "LOG_LEVEL=INFO"],
    })
    job = v["jobid"]
    before = cpu_by_process()
    api.wait(job, "finished", timeout=1200)
    after = cpu_by_process()
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "finished", entry
    seconds = (when(entry["end_time"]) - when(entry["start_time"])).total_seconds()
    log = api.raw(entry["log_url"]).text
    joined = sum(1 for line in log.splitlines() if " joins the crawl" in line)
    start = when(entry["start_time"]).replace(microsecond=0)
    joins_at = [
        (datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") - start).total_seconds()
        for line in log.splitlines()
        if " joins the crawl" in line
    ]
    # CPU seconds per kind of process (processes that ended during the run are missed).
    cpu = {k: round(after[k] - before.get(k, 0.0), 1) for k in after if after[k] - before.get(k, 0.0) > 0.05}
    return {"crawlers": crawlers, "pages": entry["items_scraped"], "seconds": round(seconds, 2),
            "pages_per_s": round(entry["items_scraped"] / seconds, 1), "joined": joined,
            "frontier_calls": calls(log), "joins_at_s": joins_at, "cpu_s": cpu}


def main() -> None:
    name = f"trawl-bench-{uuid.uuid4().hex[:8]}"
    outputs = deploy(name)
    web = subprocess.Popen([str(TARGET / "trawl"), "--nolog", "demo-web", "--hosts", str(HOSTS),
                            "--pages", str(PAGES), "--latency-ms", str(LATENCY_MS)],
                           stdout=subprocess.PIPE, text=True)
    try:
        bases = json.loads(web.stdout.readline())
        api = Api(outputs["ApiUrl"])
        rows = [run(api, bases, n) for n in CRAWLERS]
    finally:
        web.terminate()
        subprocess.run([sys.executable, str(ROOT / "infra" / "deploy_localstack.py"), "--delete",
                        "--stack-name", name], capture_output=True)
    base = rows[0]["pages_per_s"]
    print("| crawlers | pages | s | pages/s | speed-up | crawler invocations |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        r["speedup"] = round(r["pages_per_s"] / base, 2)
        print(f"| {r['crawlers']} | {r['pages']} | {r['seconds']} | {r['pages_per_s']} | "
              f"{r['speedup']}x | {r['joined'] + 1} |")
    for r in rows:
        busy = sum(r["cpu_s"].values()) / (r["seconds"] * (os.cpu_count() or 1))
        print(f"{r['crawlers']} crawler(s): CPU seconds {r['cpu_s']} ({busy:.0%} of the machine); "
              f"crawlers joined at {r['joins_at_s']} s")
    for r in rows[1:]:
        per_k = {k: round(v * 1000 / r["pages"], 1) for k, v in r["frontier_calls"].items()}
        print(f"{r['crawlers']} crawlers, frontier calls per 1,000 pages: {per_k}")
    out = ROOT / "target" / "bench-localstack-fanout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": rows},
                              indent=2))


if __name__ == "__main__":
    main()
