"""End-to-end fixtures: the stack deployed on LocalStack from infra/template.yaml, the
demo shop served on loopback, and a small Scrapyd-style client for the API Gateway URL.

Run through scripts/test (which starts LocalStack, builds the functions and exports
TRAWL_E2E_TARGET_DIR), or by hand:

    localstack/run.sh start && eval "$(localstack/run.sh env)"
    cargo build --workspace --bins
    $LS_VENV/bin/python -m pytest tests/e2e
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("TRAWL_E2E_TARGET_DIR", ROOT / "target" / "debug"))
SPEC = (ROOT / "examples" / "shop.toml").read_text()

# Short timings so crash and dead-letter paths finish in seconds, not minutes.
STACK_PARAMETERS = {
    "MaxProc": "8",
    "HeartbeatTimeout": "12",
    "CrawlerTimeout": "30",
    "CrawlQueueVisibilityTimeout": "35",
    "MaxReceiveCount": "2",
    "LogLevel": "info",
    # The demo sites the jobs crawl are on this machine's loopback.
    "AllowedDestinations": "127.0.0.0/8",
    # Webhook receivers of the tests are on loopback too.
    "WebhookAllowPrivate": "true",
}


def _endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        pytest.exit(
            "AWS_ENDPOINT_URL is not set: run `localstack/run.sh start` and "
            '`eval "$(localstack/run.sh env)"` first',
            returncode=2,
        )
    return url


@pytest.fixture(scope="session")
def stack() -> dict:
    """Deploys the stack (once per session) and returns its outputs."""
    _endpoint()
    name = os.environ.get("TRAWL_E2E_STACK", f"trawl-e2e-{uuid.uuid4().hex[:8]}")
    cmd = [
        sys.executable,
        str(ROOT / "infra" / "deploy_localstack.py"),
        "--stack-name",
        name,
        "--target-dir",
        str(TARGET.parent),
        "--profile",
        TARGET.name,
    ]
    for k, v in STACK_PARAMETERS.items():
        cmd += ["--parameter", f"{k}={v}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    outputs = json.loads(out.stdout)
    yield outputs
    if not os.environ.get("TRAWL_E2E_KEEP_STACK"):
        subprocess.run(
            [sys.executable, str(ROOT / "infra" / "deploy_localstack.py"), "--delete", "--stack-name", name],
            check=False,
            capture_output=True,
        )


def wait_until(what: str, check, timeout: float = 120, interval: float = 0.5):
    """Polls `check()` until it returns something truthy, and returns it; fails after
    `timeout` seconds. Tests wait for conditions this way, never for a fixed time."""
    end = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def s3_text(s3, bucket: str, key: str) -> str | None:
    """The object at `key` as text, or None when it does not exist (yet)."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except s3.exceptions.NoSuchKey:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site():
    """The demo shop (60 products) on loopback; yields (base_url, products)."""
    port = _free_port()
    products = 60
    proc = subprocess.Popen(
        [str(TARGET / "trawl"), "--nolog", "demo-site", "--bind", f"127.0.0.1:{port}", "--products", str(products)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(base + "/index.html", timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_until("the demo site to serve", up, timeout=60, interval=0.1)
    yield base, products
    proc.terminate()
    proc.wait(10)


class Api:
    """Calls the Scrapyd-compatible API at the API Gateway URL."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def get(self, endpoint: str, **params):
        r = self.http.get(f"{self.url}/{endpoint}", params=params, timeout=30)
        r.raise_for_status()
        return r.json() if endpoint.endswith(".json") else r

    def post(self, endpoint: str, data=None, files=None):
        r = self.http.post(f"{self.url}/{endpoint}", data=data, files=files, timeout=30)
        r.raise_for_status()
        return r.json()

    def raw(self, path: str):
        return self.http.get(f"{self.url}/{path.lstrip('/')}", timeout=30)

    def deploy(self, project: str, spec: str = SPEC):
        v = self.post(
            "addversion.json",
            data={"project": project, "version": "1"},
            files={"egg": ("shop.toml", spec.encode())},
        )
        assert v["status"] == "ok", v
        return v

    def schedule(self, project: str, site: str, **extra):
        data = {"project": project, "spider": "shop", "site": site}
        data.update(extra)
        v = self.post("schedule.json", data=data)
        assert v["status"] == "ok", v
        return v["jobid"]

    def state(self, job: str) -> str | None:
        return self.get("status.json", job=job)["currstate"]

    def wait(self, job: str, state: str, timeout: float = 180) -> list[str]:
        """Polls status.json until `state`; returns the states seen, in order."""
        seen: list[str] = []

        def reached() -> bool:
            s = self.state(job)
            if not seen or seen[-1] != s:
                seen.append(s)
            return s == state

        try:
            wait_until(f"job {job} to be {state}", reached, timeout=timeout, interval=0.2)
        except AssertionError:
            raise AssertionError(f"job {job} never reached {state} in {timeout:.0f} s: saw {seen}") from None
        return seen

    def finished(self, project: str, job: str) -> dict:
        for j in self.get("listjobs.json", project=project)["finished"]:
            if j["id"] == job:
                return j
        raise AssertionError(f"job {job} is not in the finished list")


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack["ApiUrl"])


@pytest.fixture(scope="session")
def aws(stack):
    kw = dict(endpoint_url=_endpoint(), region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return {
        "s3": boto3.client("s3", **kw),
        "sqs": boto3.client("sqs", **kw),
        "dynamodb": boto3.client("dynamodb", **kw),
    }


def partial_items(aws, stack, project: str, job: str) -> list[str]:
    """The items of a running job's last checkpoint (written at each heartbeat)."""
    key = f"items/{project}/shop/{job}.jl.partial"
    text = s3_text(aws["s3"], stack["BucketName"], key)
    return text.splitlines() if text else []


@pytest.fixture
def project() -> str:
    return f"p{uuid.uuid4().hex[:10]}"
