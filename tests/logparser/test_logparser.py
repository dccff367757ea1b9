"""Trawl job logs and /logs/stats.json against the real LogParser (my8100/logparser).

A real `trawl serve` on loopback runs the example shop spider against `trawl
demo-site`; then:

- LogParser's parse() of the job log finds the job's pages, items, finish_reason,
  crawler stats, latest crawl/scrape lines and first/last log times, equal to what
  Trawl recorded for the job;
- LogParser itself, run over a logs folder holding that log, writes the same analysis
  that Trawl serves at /logs/stats.json and /logs/{project}/{spider}/{job}.json.

Run with tests/logparser/run.sh (it installs LogParser into a venv and builds trawl).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from logparser import parse
from logparser.logparser import LogParser

ROOT = Path(__file__).resolve().parents[2]
TRAWL = Path(os.environ.get("TRAWL_BIN_DIR", ROOT / "target" / "debug")) / "trawl"
SPEC = (ROOT / "examples" / "shop.toml").read_bytes()
PRODUCTS = 40
PROJECT, SPIDER = "lp", "shop"

# Keys of a job's analysis that depend on the time it was made.
CLOCK_KEYS = {"last_update_time", "last_update_timestamp"}


def _read_url(proc: subprocess.Popen, stream: str, pattern: str, timeout: float = 60) -> str:
    """Waits for a line of the child's output matching pattern; returns group 1."""
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for line in getattr(proc, stream):
            m = re.search(pattern, line)
            if m and not found:
                found.append(m.group(1))
                done.set()
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    if not found:
        proc.kill()
        pytest.fail(f"{proc.args} did not print {pattern!r}")
    return found[0]


@pytest.fixture(scope="module")
def site():
    proc = subprocess.Popen(
        [str(TRAWL), "demo-site", "--bind", "127.0.0.1:0", "--products", str(PRODUCTS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = _read_url(proc, "stderr", r"(http://127\.0\.0\.1:\d+)/index\.html")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("trawl-data")
    env = dict(os.environ, TRAWL_ALLOWED_DESTINATIONS="127.0.0.0/8", TRAWL_POLL_INTERVAL="0.2")
    env.pop("SCRAPYD_USERNAME", None)
    env.pop("SCRAPYD_PASSWORD", None)
    proc = subprocess.Popen(
        [str(TRAWL), "serve", "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    url = _read_url(proc, "stdout", r"(http://\S+)")
    yield url
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def job(site, server):
    """Deploys the shop spider, runs one job to its end; returns its listjobs entry."""
    r = requests.post(
        f"{server}/addversion.json",
        data={"project": PROJECT, "version": "1"},
        files={"egg": ("shop.egg", SPEC)},
        timeout=30,
    )
    assert r.json()["status"] == "ok", r.text
    r = requests.post(
        f"{server}/schedule.json",
        data={
            "project": PROJECT,
            "spider": SPIDER,
            "site": site,
            # Scrapy's default level, so the log has Crawled (200) and Scraped from lines.
            "setting": ["LOG_LEVEL=DEBUG", "LOGSTATS_INTERVAL=1", "DOWNLOAD_DELAY=0.02"],
        },
        timeout=30,
    )
    assert r.json()["status"] == "ok", r.text
    job_id = r.json()["jobid"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        finished = requests.get(f"{server}/listjobs.json", timeout=30).json()["finished"]
        done = [j for j in finished if j["id"] == job_id]
        if done:
            return done[0]
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish")


def _log(server: str, job: dict) -> str:
    r = requests.get(f"{server}/logs/{PROJECT}/{SPIDER}/{job['id']}.log", timeout=30)
    assert r.status_code == 200
    return r.text


def test_logparser_parses_a_trawl_job_log(server, job):
    text = _log(server, job)
    d = parse(text)
    stats = d["crawler_stats"]
    assert "json_loads_error" not in stats, stats
    # What Trawl recorded for the job.
    assert job["finish_reason"] == "finished"
    assert d["finish_reason"] == job["finish_reason"]
    assert d["items"] == job["items_scraped"] == stats["item_scraped_count"]
    # Every product page, the index and the category listings.
    assert d["pages"] == stats["response_received_count"] > PRODUCTS
    assert job["items_scraped"] == PRODUCTS
    # The periodic progress lines, the last one with the final counts.
    assert d["datas"], text[-3000:]
    assert d["datas"][-1][1] == d["pages"] and d["datas"][-1][3] == d["items"]
    assert stats["source"] == "log"
    assert stats["start_time"].startswith("datetime.datetime(")
    assert stats["finish_time"].startswith("datetime.datetime(")
    assert stats["log_count/INFO"] > 0 and stats["log_count/DEBUG"] > 0
    assert isinstance(stats["elapsed_time_seconds"], float)
    m = d["latest_matches"]
    assert re.search(r"DEBUG: Crawled \(\d{3}\) <GET http://127\.0\.0\.1:\d+/", m["latest_crawl"])
    assert "Scraped from <200 http://127.0.0.1:" in m["latest_scrape"]
    assert m["latest_item"].startswith("{'id': ") and "'title': " in m["latest_item"]
    assert "Crawled %d pages" % d["pages"] in m["latest_stat"]
    assert d["latest_crawl_timestamp"] > 0 and d["latest_scrape_timestamp"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", d["first_log_time"])
    assert d["first_log_time"] <= d["latest_log_time"]
    assert d["log_categories"]["error_logs"]["count"] == 0
    assert d["shutdown_reason"] == "N/A"
    assert text.rstrip().endswith("Spider closed (finished)")


def test_stats_json_matches_what_logparser_writes(server, job, tmp_path):
    text = _log(server, job)
    # LogParser itself, over a Scrapyd-style logs folder holding this log.
    logs = tmp_path / "logs"
    (logs / PROJECT / SPIDER).mkdir(parents=True)
    (logs / PROJECT / SPIDER / f"{job['id']}.log").write_text(text, encoding="utf-8")
    lp = LogParser(
        scrapyd_server="127.0.0.1:6800",
        scrapyd_logs_dir=str(logs),
        parse_round_interval=0,
        enable_telnet=False,
        override_telnet_console_host="",
        log_encoding="utf-8",
        log_extensions=[".log"],
        log_head_lines=100,
        log_tail_lines=200,
        log_categories_limit=10,
        jobs_to_keep=100,
        chunk_size=10 * 1000 * 1000,
        delete_existing_json_files_at_startup=False,
        keep_data_in_memory=True,
        verbose=False,
    )
    lp.run()
    theirs_all = json.loads((logs / "stats.json").read_text(encoding="utf-8"))
    theirs = theirs_all["datas"][PROJECT][SPIDER][job["id"]]
    theirs_full = json.loads((logs / PROJECT / SPIDER / f"{job['id']}.json").read_text(encoding="utf-8"))

    ours_all = requests.get(f"{server}/logs/stats.json", timeout=30).json()
    assert ours_all["status"] == "ok"
    assert ours_all["logparser_version"] == theirs_all["logparser_version"]
    ours = ours_all["datas"][PROJECT][SPIDER][job["id"]]
    ours_full = requests.get(f"{server}/logs/{PROJECT}/{SPIDER}/{job['id']}.json", timeout=30).json()

    # Paths and URLs differ by design (Trawl's are URL paths); the rest must be equal.
    skip = CLOCK_KEYS | {"log_path", "json_path", "json_url", "_head", "head", "tail"}
    # LogParser's stats.json holds a summary of each job (its SIMPLIFIED_KEYS); Trawl's
    # holds those and the rest of the analysis but the log's head and tail.
    for key in theirs:
        if key in skip:
            continue
        assert ours.get(key) == theirs.get(key), key
    for key in ["datas", "latest_matches", "log_categories", "crawler_stats"]:
        assert ours[key] == theirs_full[key], key
    assert ours["pages"] == theirs["pages"] == theirs_full["crawler_stats"]["response_received_count"]
    assert ours["items"] == theirs["items"] == job["items_scraped"]
    assert ours["finish_reason"] == theirs["finish_reason"] == job["finish_reason"]
    for key in set(theirs_full) | set(ours_full):
        if key in skip - {"head", "tail"}:
            continue
        assert ours_full.get(key) == theirs_full.get(key), key

