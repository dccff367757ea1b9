"""Crashes and poisoned messages: nothing is lost, nothing loops forever."""

import os
import signal
import time
from pathlib import Path

from conftest import partial_items, s3_text, wait_until


def crawler_pids() -> list[int]:
    """Host processes of the crawler function (LocalStack runs them on this machine)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
            env = (p / "environ").read_bytes()
        except OSError:
            continue
        name = next((v for v in env.split(b"\0") if v.startswith(b"AWS_LAMBDA_FUNCTION_NAME=")), b"")
        if cmd and cmd[0].endswith(b"bootstrap") and name.endswith(b"-crawler"):
            pids.append(int(p.name))
    return pids


def test_a_crawler_that_crashes_leaves_a_failed_job_with_its_partial_items(api, aws, stack, site, project):
    base, products = site
    api.deploy(project)
    job = api.schedule(project, base, setting=["DOWNLOAD_DELAY=0.3", "CONCURRENT_REQUESTS_PER_DOMAIN=1"])
    api.wait(job, "running")
    # A heartbeat that flushed items and uploaded the log.
    wait_until("items in the running job's checkpoint", lambda: partial_items(aws, stack, project, job))
    log_key = f"logs/{project}/shop/{job}.log"
    wait_until(
        "the running job's log upload",
        lambda: "Spider opened" in (s3_text(aws["s3"], stack["BucketName"], log_key) or ""),
    )
    pids = wait_until("a crawler process", crawler_pids, timeout=30)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    # The poller reaps it once its heartbeat is older than HeartbeatTimeout.
    api.wait(job, "finished", timeout=240)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "failed"
    items = api.raw(entry["items_url"]).text.splitlines()
    assert 0 < len(items) < products, len(items)
    assert "Spider opened" in api.raw(entry["log_url"]).text


def test_a_poisoned_message_ends_in_the_dead_letter_queue(aws, stack):
    sqs = aws["sqs"]
    marker = f"poison-{time.time()}"
    sqs.send_message(QueueUrl=stack["CrawlQueueUrl"], MessageBody=marker)
    end = time.time() + 240
    while time.time() < end:
        r = sqs.receive_message(QueueUrl=stack["CrawlDeadLetterQueueUrl"], WaitTimeSeconds=5, MaxNumberOfMessages=10)
        for m in r.get("Messages", []):
            sqs.delete_message(QueueUrl=stack["CrawlDeadLetterQueueUrl"], ReceiptHandle=m["ReceiptHandle"])
            if m["Body"] == marker:
                return
    raise AssertionError("the poisoned message never reached the dead-letter queue")
