"""Jobs longer than one crawler invocation: checkpoints, continuation segments, a
killed crawler resumed by the poller's reaper, and cancel in a later segment.

The stack's CrawlerTimeout is 30 s (conftest), so a crawler pauses at a checkpoint
after about 22 s and the job continues in a new invocation."""

import json
import os
import re
import signal
from datetime import datetime
from pathlib import Path

from conftest import s3_text, wait_until
from test_failures import crawler_pids

# One request at a time, 0.8 s apart: about 80 s for the 60-product shop (~100 pages).
SLOW = [
    "DOWNLOAD_DELAY=0.8",
    "RANDOMIZE_DOWNLOAD_DELAY=False",
    "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    "CHECKPOINT_INTERVAL=2",
]


def log_text(aws, stack, project: str, job: str) -> str:
    return s3_text(aws["s3"], stack["BucketName"], f"logs/{project}/shop/{job}.log") or ""


def attempts(log: str) -> list[int]:
    return [int(n) for n in re.findall(r"Starting job \S+ \(attempt (\d+)\)", log)]


def record_continuation_gaps(log: str) -> None:
    """Writes how long each continuation took (a segment's pause to the next segment's
    start, whole seconds as the log has them) to target/e2e-continuations.json, for
    docs/PERFORMANCE.md. Not an assertion: tests never time things."""
    times = []
    for line in log.splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) .*?(pausing at a checkpoint|Starting job \S+ \(attempt (\d+)\))", line)
        if m:
            times.append((datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"), "pause" if m.group(3) is None else "start"))
    gaps = [(b[0] - a[0]).total_seconds() for a, b in zip(times, times[1:]) if a[1] == "pause" and b[1] == "start"]
    out = Path(__file__).resolve().parents[2] / "target" / "e2e-continuations.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"continuations_s": gaps}))


def test_a_job_spans_segments_and_survives_a_killed_crawler(api, aws, stack, site, project):
    base, products = site
    api.deploy(project)
    job = api.schedule(project, base, setting=SLOW)
    # The third segment: two continuations so far.
    wait_until("the job's third segment", lambda: 3 in attempts(log_text(aws, stack, project, job)), timeout=150)
    assert api.state(job) == "running"
    # A checkpoint of the third segment, then the crawler dies mid-segment.
    wait_until(
        "a checkpoint of the third segment",
        lambda: json.loads(
            s3_text(aws["s3"], stack["BucketName"], f"checkpoints/{project}/shop/{job}/state.json") or "{}"
        ).get("labels", {}).get("attempt") == 3,
        timeout=30,
        interval=0.2,
    )
    for pid in wait_until("a crawler process", crawler_pids, timeout=30):
        os.kill(pid, signal.SIGKILL)
    # The reaper resumes it from the checkpoint; it runs to its end.
    api.wait(job, "finished", timeout=300)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "finished", entry
    items = [json.loads(line) for line in api.raw(entry["items_url"]).text.splitlines()]
    ids = sorted(i["id"] for i in items)
    assert ids == list(range(1, products + 1)), ids
    assert entry["items_scraped"] == products, entry
    log = api.raw(entry["log_url"]).text
    seen = attempts(log)
    assert len(seen) >= 4 and seen == sorted(seen), seen
    assert seen == list(range(1, len(seen) + 1)), f"one log across segments: {seen}"
    record_continuation_gaps(log)
    # The checkpoint of a finished job is deleted.
    listed = aws["s3"].list_objects_v2(Bucket=stack["BucketName"], Prefix=f"checkpoints/{project}/")
    assert listed.get("KeyCount", 0) == 0, listed.get("Contents")


def test_cancel_in_a_later_segment_keeps_the_items_so_far(api, aws, stack, site, project):
    base, products = site
    api.deploy(project)
    # Slower still, so that the third segment starts well before the crawl's end.
    slower = [s for s in SLOW if not s.startswith("DOWNLOAD_DELAY=")] + ["DOWNLOAD_DELAY=1.5"]
    job = api.schedule(project, base, setting=slower)
    wait_until("the job's third segment", lambda: 3 in attempts(log_text(aws, stack, project, job)), timeout=150)
    assert api.post("cancel.json", data={"project": project, "job": job})["prevstate"] == "running"
    api.wait(job, "finished", timeout=90)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "cancelled", entry
    items = [json.loads(line) for line in api.raw(entry["items_url"]).text.splitlines()]
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == entry["items_scraped"], entry
    assert 0 < len(ids) < products, len(ids)
    assert "Cancelled" in api.raw(entry["log_url"]).text
