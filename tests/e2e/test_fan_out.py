"""One job over many crawler functions: a broad crawl over 16 hosts on loopback
(127.0.0.2 … 127.0.0.17, links across them, a per-host DOWNLOAD_DELAY) through the
deployed stack. With CONCURRENT_CRAWLERS above 1 the first crawler seeds the frontier
(DynamoDB) and hands over, the poller asks crawler functions to join through the crawl
queue while partitions wait, and the one that proves the crawl over closes the job.
Each crawl must give every page of the web exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT, TARGET, wait_until
from test_failures import crawler_pids

HOSTS, PAGES = 16, 12

WEB_SPEC = (ROOT / "demo" / "specs" / "web.toml").read_text()


@pytest.fixture(scope="module")
def web() -> list[str]:
    """The 16-host web; yields the hosts' base URLs."""
    proc = subprocess.Popen(
        [str(TARGET / "trawl"), "--nolog", "demo-web", "--hosts", str(HOSTS), "--pages", str(PAGES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    bases = json.loads(proc.stdout.readline())
    assert len(bases) == HOSTS
    yield bases
    proc.terminate()
    proc.wait(10)


def every_page(bases: list[str]) -> set[str]:
    return {f"{b}/p/{n}" for b in bases for n in range(PAGES)}


def crawl(api, project: str, bases: list[str], crawlers: int, *settings: str) -> str:
    v = api.post(
        "addversion.json",
        data={"project": project, "version": "1"},
        files={"egg": ("web.toml", WEB_SPEC.encode())},
    )
    assert v["status"] == "ok", v
    data = {
        "project": project,
        "spider": "web",
        "start": bases[0],
        "setting": [
            f"CONCURRENT_CRAWLERS={crawlers}",
            "DOWNLOAD_DELAY=0.05",
            "RANDOMIZE_DOWNLOAD_DELAY=false",
            *settings,
        ],
    }
    v = api.post("schedule.json", data=data)
    assert v["status"] == "ok", v
    return v["jobid"]


def item_urls(api, entry: dict) -> list[str]:
    lines = api.raw(entry["items_url"]).text.splitlines()
    return [json.loads(line)["url"] for line in lines]


@pytest.mark.parametrize("crawlers", [1, 4, 8])
def test_every_page_once_with_1_4_and_8_crawlers(api, web, project, crawlers):
    job = crawl(api, project, web, crawlers)
    api.wait(job, "finished", timeout=300)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "finished", entry
    urls = item_urls(api, entry)
    assert len(urls) == len(set(urls)), "an item appears twice"
    assert set(urls) == every_page(web)
    assert entry["items_scraped"] == HOSTS * PAGES
    log = api.raw(entry["log_url"]).text
    if crawlers > 1:
        assert f"Job crawled over {HOSTS} partition(s)" in log, log
        tags = {line.rsplit(" crawler=", 1)[1] for line in log.splitlines() if " crawler=" in line}
        crawls = [line for line in log.splitlines() if "Crawling partition" in line or "joins" in line]
        assert len(tags) > 1, f"one log, lines tagged by their crawler: {tags}\n" + "\n".join(crawls)
        assert ".log.parts/" not in log


def test_a_cancel_reaches_every_crawler(api, web, project):
    job = crawl(api, project, web, 4, "DOWNLOAD_DELAY=0.5")
    api.wait(job, "running")
    # Cancel once items are coming in from several crawlers.
    time.sleep(6)
    v = api.post("cancel.json", data={"project": project, "job": job})
    assert v["status"] == "ok", v
    api.wait(job, "finished", timeout=180)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "cancelled", entry
    urls = item_urls(api, entry)
    assert len(urls) == len(set(urls))
    assert 0 < len(urls) < HOSTS * PAGES


def test_closespider_itemcount_counts_every_crawler(api, web, project):
    job = crawl(api, project, web, 4, "DOWNLOAD_DELAY=0.1", "CLOSESPIDER_ITEMCOUNT=40")
    api.wait(job, "finished", timeout=180)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "closespider_itemcount", entry
    urls = item_urls(api, entry)
    assert len(urls) == len(set(urls))
    assert 40 <= len(urls) < HOSTS * PAGES


def live_leases(aws, stack, job: str) -> int:
    """Partitions of the job's frontier held by a crawler (read from DynamoDB)."""
    r = aws["dynamodb"].query(
        TableName=stack["TableName"],
        KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        ExpressionAttributeValues={":pk": {"S": f"FRONTIER#{job}"}, ":p": {"S": "P#"}},
        ConsistentRead=True,
    )
    return sum(1 for item in r["Items"] if "holder" in item)


def test_killed_crawlers_partitions_are_taken_over(api, aws, stack, web, project):
    job = crawl(api, project, web, 4, "DOWNLOAD_DELAY=0.3", "FRONTIER_LEASE_TTL=3")
    wait_until("two crawlers mid-crawl", lambda: live_leases(aws, stack, job) >= 2, timeout=120, interval=0.2)
    # Every crawler process dies mid-page: their leases lapse, the poller (its tick, or
    # the reaper resuming the job) starts new crawlers, which take the partitions over
    # from their checkpoints.
    for pid in crawler_pids():
        os.kill(pid, signal.SIGKILL)
    api.wait(job, "finished", timeout=300)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "finished", entry
    urls = item_urls(api, entry)
    assert len(urls) == len(set(urls)), "an item appears twice"
    assert set(urls) == every_page(web)
