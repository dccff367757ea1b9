"""Benchmark of the deployed stack on LocalStack (run by `scripts/bench stack`).

Measures, in one run:
- the function binaries' sizes;
- the crawler function's init time: a cold invoke (new function process) minus a warm one,
  both with an empty SQS batch;
- schedule→running through API Gateway → API function → DynamoDB/SQS → poller → crawl
  queue → crawler (the first status.json answer that is not `pending`);
- the throughput of one crawler function on the benchmark shop, against `trawl crawl` of
  the same site with the same spec and settings, on the same machine, in the same run;
- continuation: a polite crawl (one request at a time, DOWNLOAD_DELAY 0.25 s, the first
  300 pages) as one segment, and the same job with the crawler's timeout cut to 25 s so
  that it runs as several segments (paused at a checkpoint, continued through the crawl
  queue); the difference is the cost of the segments.

Usage: python bench/stack_bench.py --target-dir target/release [--products 10000]
(with AWS_ENDPOINT_URL etc. from `localstack/run.sh env`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
SPEC = (ROOT / "examples" / "shop.toml").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deploy(target: Path, name: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "deploy_localstack.py"), "--stack-name", name,
         "--target-dir", str(target.parent), "--profile", target.name,
         "--parameter", "MaxProc=4", "--parameter", "LogLevel=warn"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def status(api: str, job: str) -> str | None:
    return requests.get(f"{api}/status.json", params={"job": job}, timeout=30).json()["currstate"]


def schedule(api: str, project: str, site: str, **settings) -> str:
    data = {"project": project, "spider": "shop", "site": site}
    if settings:
        data["setting"] = [f"{k}={v}" for k, v in settings.items()]
    v = requests.post(f"{api}/schedule.json", data=data, timeout=30).json()
    assert v["status"] == "ok", v
    return v["jobid"]


def wait(api: str, job: str, state: str, poll: float, timeout: float = 600) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        s = status(api, job)
        if (state == "started" and s != "pending") or s == state:
            return time.monotonic() - start
        time.sleep(poll)
    raise TimeoutError(f"{job} never reached {state}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target-dir", required=True, type=Path)
    ap.add_argument("--products", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    target = args.target_dir.resolve()

    sizes = {b: (target / b).stat().st_size / 1e6 for b in ("trawl-api", "trawl-poller", "trawl-crawler")}
    name = f"trawl-bench-{uuid.uuid4().hex[:6]}"
    out = deploy(target, name)
    api = out["ApiUrl"]
    kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    lam = boto3.client("lambda", **kw)

    port = free_port()
    site = subprocess.Popen([str(target / "trawl"), "--nolog", "demo-site", "--bind", f"127.0.0.1:{port}",
                             "--products", str(args.products)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/index.html", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)

        # Init time: a cold invoke minus a warm one (empty batches do no work).
        crawler = out["CrawlerFunctionName"]
        lam.update_function_configuration(FunctionName=crawler, Description=f"cold-{time.time()}")
        time.sleep(2)
        t = time.monotonic(); lam.invoke(FunctionName=crawler, Payload=json.dumps({"Records": []})); cold = time.monotonic() - t
        warm_runs = []
        for _ in range(5):
            t = time.monotonic(); lam.invoke(FunctionName=crawler, Payload=json.dumps({"Records": []})); warm_runs.append(time.monotonic() - t)
        warm = statistics.median(warm_runs)

        project = "bench"
        r = requests.post(f"{api}/addversion.json", data={"project": project, "version": "1"},
                          files={"egg": ("shop.toml", SPEC.encode())}, timeout=60).json()
        assert r["status"] == "ok", r

        # schedule→running on an idle stack: a one-page crawl each time.
        latencies = []
        for _ in range(args.runs):
            job = schedule(api, project, base, CLOSESPIDER_PAGECOUNT=1)
            latencies.append(wait(api, job, "started", 0.01) * 1000)
            wait(api, job, "finished", 0.1)
        latencies.sort()

        # Throughput: one crawler function vs trawl crawl, same site, same spec.
        job = schedule(api, project, base)
        wait(api, job, "started", 0.01)
        fn_secs = wait(api, job, "finished", 0.1)
        entry = next(j for j in requests.get(f"{api}/listjobs.json", params={"project": project}, timeout=30).json()["finished"] if j["id"] == job)
        with tempfile.TemporaryDirectory() as d:
            t = time.monotonic()
            subprocess.run([str(target / "trawl"), "--nolog", "crawl", str(ROOT / "examples" / "shop.toml"),
                            "-a", f"site={base}", "-O", f"{d}/items.jsonl"], check=True, capture_output=True)
            cli_secs = time.monotonic() - t
            cli_items = sum(1 for _ in open(f"{d}/items.jsonl"))

        # Continuation: the same polite job in one segment, then in several.
        polite = dict(DOWNLOAD_DELAY="0.25", RANDOMIZE_DOWNLOAD_DELAY="False",
                      CONCURRENT_REQUESTS_PER_DOMAIN="1", CLOSESPIDER_PAGECOUNT="300",
                      CHECKPOINT_INTERVAL="5")
        segmented = []
        for timeout in (900, 25):
            lam.update_function_configuration(FunctionName=crawler, Timeout=timeout)
            time.sleep(1)
            job = schedule(api, project, base, **polite)
            wait(api, job, "started", 0.01)
            secs = wait(api, job, "finished", 0.1, timeout=900)
            log = requests.get(f"{api}/logs/{project}/shop/{job}.log", timeout=30).text
            segments = log.count("Starting job ")
            done = next(j for j in requests.get(f"{api}/listjobs.json", params={"project": project}, timeout=30).json()["finished"] if j["id"] == job)
            segmented.append((timeout, segments, secs, done["items_scraped"], done["finish_reason"]))
    finally:
        site.terminate()
        subprocess.run([sys.executable, str(ROOT / "infra" / "deploy_localstack.py"), "--delete", "--stack-name", name],
                       capture_output=True)

    print("| measure | value |")
    print("|---|---:|")
    for b, mb in sizes.items():
        print(f"| {b} binary | {mb:.1f} MB |")
    print(f"| crawler cold invoke / warm invoke | {cold*1000:.0f} ms / {warm*1000:.0f} ms (init ≈ {(cold-warm)*1000:.0f} ms) |")
    print(f"| schedule→running p50 / max ({args.runs} jobs) | {statistics.median(latencies):.0f} ms / {latencies[-1]:.0f} ms |")
    print(f"| crawler function: {entry['items_scraped']} items | {fn_secs:.2f} s (job start to finished) |")
    print(f"| trawl crawl: {cli_items} items | {cli_secs:.2f} s (process start to exit) |")
    for timeout, segments, secs, items, reason in segmented:
        print(f"| polite job, crawler timeout {timeout} s: {segments} segment(s), {items} items, {reason} | {secs:.1f} s |")
    (_, s1, t1, _, _), (_, sn, tn, _, _) = segmented
    if sn > s1:
        print(f"| extra wall time per continuation | {(tn - t1) / (sn - s1):.2f} s |")


if __name__ == "__main__":
    main()
