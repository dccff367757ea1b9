"""Job events on the serverless stack: the outbox in DynamoDB, drained by the poller to
the stack's EventBridge bus and to webhooks. Rules with SQS targets receive the events
of real jobs; a webhook registered through the API gets a signed delivery at a
receiver on loopback (the stack allows private webhook targets, as a test must)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from conftest import _endpoint, s3_text, wait_until
from test_failures import crawler_pids


@pytest.fixture(scope="module")
def events(stack):
    kw = dict(endpoint_url=_endpoint(), region_name="us-east-1")
    return boto3.client("events", **kw), boto3.client("sqs", **kw)


def rule_to_queue(events, stack, pattern: dict):
    """A rule on the stack's bus with `pattern`, targeting a new queue; returns the
    queue URL and a cleanup."""
    eb, sqs = events
    name = f"trawl-e2e-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack["EventBusName"]
    eb.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
    eb.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def cleanup():
        eb.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
        eb.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)

    return url, cleanup


def drain_queue(sqs, url: str, into: list) -> list:
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        into.append(json.loads(m["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return into


def test_rules_on_the_bus_receive_finished_and_failed_jobs(api, aws, stack, site, project, events):
    base, _ = site
    _, sqs = events
    finished = {"source": ["trawl"], "detail-type": ["Trawl Job State Change"],
                "detail": {"type": ["job.finished"], "project": [project]}}
    # The README's example: failed jobs only.
    failed = {"source": ["trawl"], "detail-type": ["Trawl Job State Change"],
              "detail": {"type": ["job.finished"], "project": [project], "job": {"finish_reason": ["failed"]}}}
    all_url, all_cleanup = rule_to_queue(events, stack, finished)
    failed_url, failed_cleanup = rule_to_queue(events, stack, failed)
    try:
        api.deploy(project)
        good = api.schedule(project, base, setting="DOWNLOAD_DELAY=0.02")
        api.wait(good, "finished")
        # A job whose crawler dies fails (as in test_failures).
        bad = api.schedule(project, base, setting=["DOWNLOAD_DELAY=0.3", "CONCURRENT_REQUESTS_PER_DOMAIN=1"])
        api.wait(bad, "running")
        # Kill the crawler mid-crawl, once it has uploaded its log (as test_failures
        # does): a runtime killed while it starts up leaves LocalStack's function stuck.
        log_key = f"logs/{project}/shop/{bad}.log"
        wait_until(
            "the running job's log upload",
            lambda: "Spider opened" in (s3_text(aws["s3"], stack["BucketName"], log_key) or ""),
        )
        for pid in wait_until("a crawler process", crawler_pids, timeout=30):
            os.kill(pid, signal.SIGKILL)
        api.wait(bad, "finished", timeout=240)
        assert api.finished(project, bad)["finish_reason"] == "failed"
        got: list = []
        wait_until("both jobs' events on the bus", lambda: len(drain_queue(sqs, all_url, got)) >= 2, timeout=150)
        by_job = {e["detail"]["job"]["id"]: e for e in got}
        assert set(by_job) == {good, bad}, by_job.keys()
        assert by_job[good]["detail"]["job"]["finish_reason"] == "finished"
        assert by_job[good]["detail"]["job"]["items"] > 0
        assert by_job[bad]["detail"]["job"]["finish_reason"] == "failed"
        assert all(e["source"] == "trawl" and e["detail"]["version"] == 1 for e in got)
        only_failed: list = []
        wait_until("the failed job on the failed-only rule", lambda: drain_queue(sqs, failed_url, only_failed))
        drain_queue(sqs, failed_url, only_failed)
        assert [e["detail"]["job"]["id"] for e in only_failed] == [bad]
    finally:
        all_cleanup()
        failed_cleanup()


class Receiver:
    """An HTTP receiver on loopback that records every POST."""

    def __init__(self):
        self.posts: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def verify(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_a_webhook_gets_a_signed_delivery_of_a_real_jobs_finish(api, site, project):
    base, _ = site
    receiver = Receiver()
    try:
        api.deploy(project)
        added = api.post("addwebhook.json", data={"project": project, "url": receiver.url, "events": "job.finished"})
        assert added["status"] == "ok", added
        secret = added["secret"]
        job = api.schedule(project, base, setting="DOWNLOAD_DELAY=0.02")
        api.wait(job, "finished")
        wait_until("a delivery at the receiver", lambda: receiver.posts, timeout=150)
        headers, body = receiver.posts[0]
        event = json.loads(body)
        assert event["type"] == "job.finished" and event["job"]["id"] == job
        assert headers["trawl-event-type"] == "job.finished"
        assert headers["trawl-event-id"] == event["id"]
        assert verify(secret, headers["trawl-signature"], body), headers
        assert not verify("whsec_wrong", headers["trawl-signature"], body)
        listed = api.get("listwebhooks.json", project=project)["webhooks"]
        assert [w["id"] for w in listed] == [added["id"]]
        assert "secret" not in listed[0]
        wait_until(
            "the delivery recorded",
            lambda: any(d["ok"] for d in api.get("listwebhooks.json", project=project)["webhooks"][0]["deliveries"]),
            timeout=30,
        )
        assert api.post("delwebhook.json", data={"project": project, "id": added["id"]})["status"] == "ok"
    finally:
        receiver.close()

