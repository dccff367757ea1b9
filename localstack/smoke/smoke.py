"""End-to-end check of LocalStack with the host Lambda executor.

Usage: smoke.py FUNCTION_ZIP   (LocalStack must be running; see run.sh next to this file)

Env: AWS_ENDPOINT_URL (default http://127.0.0.1:4566), SMOKE_EVENTBRIDGE=0 to skip the
EventBridge rate() check (it waits up to ~75 s), SMOKE_EVENTBRIDGE_WAIT (seconds, default 75).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-smoke"
RUN = uuid.uuid4().hex[:8]
FN = f"smoke-echo-{RUN}"
FN_SHORT = f"smoke-timeout-{RUN}"
BUCKET = f"smoke-{RUN}"

results: list[tuple[str, bool, str]] = []


def client(name: str):
    return boto3.client(
        name,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}, read_timeout=120),
    )


lam, s3, sqs, ddb, events, apigw, logs = (
    client(n) for n in ("lambda", "s3", "sqs", "dynamodb", "events", "apigateway", "logs")
)


def check(name: str):
    def wrap(fn):
        t0 = time.monotonic()
        try:
            detail = fn() or ""
            ok = True
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            ok = False
            detail = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        took = time.monotonic() - t0
        results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'}: {name} ({took:.1f}s) {detail}", flush=True)
        return fn

    return wrap


def wait_for(what: str, probe, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def list_keys(prefix: str) -> list[str]:
    resp = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def main(zip_path: str) -> int:
    code = open(zip_path, "rb").read()
    s3.create_bucket(Bucket=BUCKET)
    fn_arn = None
    eventbridge = os.environ.get("SMOKE_EVENTBRIDGE", "1") != "0"
    rule = f"smoke-rate-{RUN}"
    rule_created_at = None

    @check("lambda: create provided.al2023 function")
    def _():
        nonlocal fn_arn
        resp = lam.create_function(
            FunctionName=FN,
            Runtime="provided.al2023",
            Handler="bootstrap",
            Role=ROLE,
            Code={"ZipFile": code},
            Timeout=10,
            MemorySize=128,
            Architectures=["x86_64"],
            Environment={"Variables": {"SMOKE_BUCKET": BUCKET}},
        )
        fn_arn = resp["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(FunctionName=FN)
        return fn_arn

    if fn_arn is None:
        return summary()

    if eventbridge:
        # Created early so the wait overlaps with the other checks.
        @check("events: create rate(1 minute) rule targeting the function")
        def _():
            nonlocal rule_created_at
            rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")["RuleArn"]
            lam.add_permission(
                FunctionName=FN,
                StatementId=f"events-{RUN}",
                Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com",
                SourceArn=rule_arn,
            )
            events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": fn_arn}])
            rule_created_at = time.monotonic()

    @check("lambda: synchronous invoke echoes the event")
    def _():
        t0 = time.monotonic()
        resp = lam.invoke(FunctionName=FN, Payload=json.dumps({"hello": "trawl", "n": 1}))
        took = time.monotonic() - t0
        body = json.loads(resp["Payload"].read())
        assert resp["StatusCode"] == 200, resp
        assert "FunctionError" not in resp, body
        assert body["echo"] == {"hello": "trawl", "n": 1}, body
        assert body["function"] == FN, body
        t1 = time.monotonic()
        resp = lam.invoke(FunctionName=FN, Payload=json.dumps({"again": True}))
        warm = time.monotonic() - t1
        assert json.loads(resp["Payload"].read())["echo"] == {"again": True}
        return f"cold {took * 1000:.0f} ms, warm {warm * 1000:.0f} ms"

    @check("lambda: function error is reported as FunctionError")
    def _():
        resp = lam.invoke(FunctionName=FN, Payload=json.dumps({"fail": "boom"}))
        body = json.loads(resp["Payload"].read())
        assert resp.get("FunctionError") == "Unhandled", (resp, body)
        assert "boom" in body.get("errorMessage", ""), body

    @check("lambda: timeout kills the invocation, next invoke works")
    def _():
        lam.create_function(
            FunctionName=FN_SHORT,
            Runtime="provided.al2023",
            Handler="bootstrap",
            Role=ROLE,
            Code={"ZipFile": code},
            Timeout=1,
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=FN_SHORT)
        resp = lam.invoke(FunctionName=FN_SHORT, Payload=json.dumps({"sleep_ms": 3000}))
        body = json.loads(resp["Payload"].read())
        assert resp.get("FunctionError"), (resp, body)
        assert "timed out" in body.get("errorMessage", ""), body
        resp = lam.invoke(FunctionName=FN_SHORT, Payload=json.dumps({"after": "timeout"}))
        body = json.loads(resp["Payload"].read())
        assert body.get("echo") == {"after": "timeout"}, body
        lam.delete_function(FunctionName=FN_SHORT)

    @check("logs: function output reaches CloudWatch Logs")
    def _():
        group = f"/aws/lambda/{FN}"

        def probe():
            try:
                evs = logs.filter_log_events(logGroupName=group)["events"]
            except logs.exceptions.ResourceNotFoundException:
                return None
            msgs = [e["message"] for e in evs]
            return msgs if any("smoke: echo request" in m for m in msgs) else None

        msgs = wait_for("log events", probe, timeout=20)
        assert any(m.startswith("REPORT RequestId") for m in msgs), msgs
        return f"{len(msgs)} events"

    @check("dynamodb: create table, put and get an item")
    def _():
        table = f"smoke-{RUN}"
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.get_waiter("table_exists").wait(TableName=table)
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "42"}})
        item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
        assert item["v"]["N"] == "42", item
        ddb.delete_table(TableName=table)

    @check("sqs: event-source mapping delivers a message to the function")
    def _():
        queue_url = sqs.create_queue(QueueName=f"smoke-{RUN}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        esm = lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=FN, BatchSize=1, Enabled=True
        )
        wait_for(
            "event source mapping enabled",
            lambda: lam.get_event_source_mapping(UUID=esm["UUID"])["State"] == "Enabled",
            timeout=30,
            interval=0.5,
        )
        message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=f"hello-sqs-{RUN}")[
            "MessageId"
        ]
        wait_for("S3 object written by the function", lambda: list_keys(f"sqs/{message_id}"), 45)
        body = s3.get_object(Bucket=BUCKET, Key=f"sqs/{message_id}")["Body"].read().decode()
        assert body == f"hello-sqs-{RUN}", body
        # the message was deleted after the successful batch
        wait_for(
            "queue to drain",
            lambda: sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"},
            timeout=30,
        )
        lam.delete_event_source_mapping(UUID=esm["UUID"])

    @check("apigateway: REST API proxy integration via /_aws/execute-api")
    def _():
        api_id = apigw.create_rest_api(name=f"smoke-{RUN}")["id"]
        root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        res = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="{proxy+}")
        uri = (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
        )
        for rid in (root["id"], res["id"]):
            apigw.put_method(
                restApiId=api_id, resourceId=rid, httpMethod="ANY", authorizationType="NONE"
            )
            apigw.put_integration(
                restApiId=api_id,
                resourceId=rid,
                httpMethod="ANY",
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=uri,
            )
        lam.add_permission(
            FunctionName=FN,
            StatementId=f"apigw-{RUN}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*",
        )
        apigw.create_deployment(restApiId=api_id, stageName="test")
        url = f"{ENDPOINT}/_aws/execute-api/{api_id}/test/items/7?x=1"
        req = urllib.request.Request(url, data=b'{"k":"v"}', method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as r:
            status, headers, body = r.status, r.headers, json.loads(r.read())
        assert status == 200, status
        assert headers.get("x-smoke") == "1", dict(headers)
        assert body["method"] == "POST" and body["path"] == "/items/7", body
        assert body["query"] == {"x": "1"} and body["body"] == '{"k":"v"}', body
        return url

    if eventbridge:

        @check("events: rate(1 minute) rule invokes the function")
        def _():
            if rule_created_at is None:
                raise AssertionError("rule was not created")
            wait = float(os.environ.get("SMOKE_EVENTBRIDGE_WAIT", "75"))
            remaining = max(1.0, wait - (time.monotonic() - rule_created_at))
            keys = wait_for("S3 object from the scheduled event", lambda: list_keys("events/"), remaining, 2)
            event = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
            assert event["detail-type"] == "Scheduled Event", event
            events.remove_targets(Rule=rule, Ids=["fn"])
            events.delete_rule(Name=rule)
            return f"after {time.monotonic() - rule_created_at:.0f}s"
    else:
        print("SKIP: events: rate(1 minute) rule (SMOKE_EVENTBRIDGE=0)")

    try:
        lam.delete_function(FunctionName=FN)
    except Exception:  # noqa: BLE001
        pass
    return summary()


def summary() -> int:
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
