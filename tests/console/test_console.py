"""The web console in a real browser (Playwright + Debian's chromium) against a real
`trawl serve` (with Basic auth) crawling `trawl demo-site` on loopback.

Checks: nothing is served without credentials; actions need the page's CSRF token;
a browser's cross-site POST to the JSON API is refused while API clients work
unchanged; a spec with an error is refused with its field path on the Projects page,
a good one deploys; a job scheduled from the console is watched running and finishing
without a reload, with its log (level filter, search), stats, chart, items (escaped:
an item value that is HTML stays text) and spec; a running job is cancelled from the
jobs table; a cron schedule shows its next runs in its time zone, fires, is disabled
and deleted; behind a proxy that serves the API under a prefix (X-Forwarded-Prefix)
the pages, live updates and the log work. Screenshots go to target/console-screenshots/
(docs/screenshots/ with TRAWL_UPDATE_SCREENSHOTS=1).

Run with tests/console/run.sh.
"""

from __future__ import annotations

import base64
import csv
import http.client
import http.server
import io
import json
import os
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
TRAWL = Path(os.environ.get("TRAWL_BIN_DIR", ROOT / "target" / "debug")) / "trawl"
CHROMIUM = os.environ.get("TRAWL_CHROMIUM", "/usr/bin/chromium")
# The README's screenshots are refreshed with TRAWL_UPDATE_SCREENSHOTS=1; otherwise they
# go to the build directory, so a test run leaves the checkout as it was.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("TRAWL_UPDATE_SCREENSHOTS")
    else Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "console-screenshots"
)
USER, PASSWORD = "admin", "s3cret-console"
EVIL = "<img src=x onerror=window.__xss=1>"
# The example shop with a field whose value is HTML: it must be shown as text.
SPEC = (ROOT / "examples" / "shop.toml").read_text().replace(
    'url = { value = "{url}" }',
    f'url = {{ value = "{{url}}" }}\nnote = {{ value = "{EVIL}" }}',
)
BAD_SPEC = 'name = "bad"\nstart_urls = ["http://x/"]\n[callbacks.parse.fields]\ntitle = { css = "h1::text", type = "integr" }\n'


def _read_url(proc: subprocess.Popen, stream: str, pattern: str, timeout: float = 60) -> str:
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
        [str(TRAWL), "demo-site", "--bind", "127.0.0.1:0", "--products", "300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    yield _read_url(proc, "stderr", r"(http://127\.0\.0\.1:\d+)/index\.html")
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("trawl-data")
    env = dict(os.environ, TRAWL_ALLOWED_DESTINATIONS="127.0.0.0/8", TRAWL_POLL_INTERVAL="0.2",
               SCRAPYD_USERNAME=USER, SCRAPYD_PASSWORD=PASSWORD)
    proc = subprocess.Popen(
        [str(TRAWL), "serve", "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    yield _read_url(proc, "stdout", r"(http://127\.0\.0\.1:\d+)")
    proc.terminate()
    proc.wait(20)


def call(url: str, data: dict | None = None, headers: dict | None = None, auth: bool = True):
    """(status, body) of a GET, or of a form POST when data is given."""
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    if auth:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(http_credentials={"username": USER, "password": PASSWORD},
                              viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.on("dialog", lambda d: d.accept())
    yield pg
    assert pg.evaluate("window.__xss") is None, "an item value ran as HTML"
    ctx.close()


def shot(page, name: str) -> None:
    """The visible part of the page (1280x900), small enough to keep in git."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_auth_csrf_and_api_unchanged(server):
    for path in ["/console/", "/console/jobs", "/console/static/console.js", "/console/frag/jobs"]:
        status, _ = call(server + path, auth=False)
        assert status == 401, path
    status, body = call(server + "/console/do/schedule", {"project": "x", "spider": "y"})
    assert status == 403 and "CSRF" in body
    status, body = call(server + "/console/do/schedule", {"project": "x", "spider": "y", "csrf": "1.ab"})
    assert status == 403
    # A browser's cross-site form post carries cached credentials: refused.
    status, body = call(server + "/delproject.json", {"project": "x"}, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and "cross-site" in body
    # An API client (no Sec-Fetch-Site) is answered as before.
    status, body = call(server + "/delproject.json", {"project": "x"})
    assert status == 200 and json.loads(body)["status"] == "error"
    status, body = call(server + "/daemonstatus.json")
    assert json.loads(body)["status"] == "ok"


def test_deploy_error_then_spec(server, page, tmp_path):
    bad, good = tmp_path / "bad.toml", tmp_path / "shop.toml"
    bad.write_text(BAD_SPEC)
    good.write_text(SPEC)
    page.goto(server + "/console/projects")
    expect(page.locator("main")).to_contain_text("No projects yet")
    form = page.locator("#deploy")
    form.locator("[name=project]").fill("demo")
    form.locator("[name=egg]").set_input_files(str(bad))
    form.locator("button").click()
    expect(form.locator(".result")).to_contain_text("callbacks.parse.fields.title.type: unknown variant `integr`")
    shot(page, "deploy-error")
    form.locator("[name=egg]").set_input_files(str(good))
    form.locator("button").click()
    row = page.locator('#projects tr[data-project="demo"]')
    expect(row).to_contain_text("shop")
    shot(page, "projects")


def test_schedule_watch_finish(server, site, page):
    page.goto(server + "/console/")
    expect(page.locator("#slots")).to_contain_text("0 of")
    form = page.locator("form[data-action=schedule]")
    form.locator("[name=project]").fill("demo")
    form.locator("[name=spider]").fill("shop")
    form.locator("[name=_args]").fill(f"site={site}")
    form.locator("[name=_settings]").fill("DOWNLOAD_DELAY=0.01\nCONCURRENT_REQUESTS=2\nLOGSTATS_INTERVAL=1\nLOG_LEVEL=DEBUG")
    form.locator("button").click()
    page.wait_for_url(re.compile(r"/console/job/demo/"))
    job = page.url.rsplit("/", 1)[1]
    state = page.locator('#summary tr:has(th:text-is("State")) td')
    expect(state).to_have_text("running", timeout=20_000)
    expect(page.locator("#log")).to_contain_text("Crawled (200)", timeout=20_000)
    shot(page, "job-running")
    # Finishes with no reload: the summary, stats, chart and items are live.
    expect(state).to_have_text("finished", timeout=90_000)
    reason = page.locator('#summary tr:has(th:text-is("Finish reason")) td')
    expect(reason).to_have_text("finished")
    items = page.locator('#summary tr:has(th:text-is("Items")) td')
    expect(items).to_have_text("300")
    expect(page.locator("#summary svg.chart polyline.pages")).to_have_count(1)
    expect(page.locator("#summary table.item_scraped_count, #summary .stats")).not_to_have_count(0)
    expect(page.locator("#summary")).to_contain_text("downloader/response_status_count/200")
    expect(page.locator("#log")).to_contain_text("Spider closed (finished)", timeout=10_000)
    # Level filter and search.
    page.select_option("#log-level", "WARNING")
    expect(page.locator("#log")).not_to_contain_text("Crawled (200)")
    page.select_option("#log-level", "DEBUG")
    page.fill("#log-search", "spider closed")
    expect(page.locator("#log")).to_have_text(re.compile(r"^[^\n]*Spider closed \(finished\)[^\n]*$"))
    page.fill("#log-search", "")
    # Items: a table with the fields as columns; the HTML value is text.
    table = page.locator("#items-table")
    expect(table.locator("thead")).to_contain_text("title")
    expect(table.locator("tbody tr")).to_have_count(20, timeout=10_000)
    expect(table.locator("tbody td", has_text=EVIL).first).to_be_visible()
    assert page.locator("#items img").count() == 0
    expect(page.locator("pre.spec")).to_contain_text('name = "shop"')
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "job")
    page.locator("#log").scroll_into_view_if_needed()
    shot(page, "job-log")
    # Downloads.
    status, body = call(f"{server}/console/export/demo/{job}/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert status == 200 and len(rows) == 300
    assert {r["note"] for r in rows} == {EVIL} and all(r["title"] for r in rows)
    status, body = call(f"{server}/console/export/demo/{job}/json")
    assert len(json.loads(body)) == 300
    # The jobs table shows it with its numbers.
    page.goto(server + "/console/jobs?project=demo")
    row = page.locator(f'#jobs tr[data-job="{job}"]')
    expect(row.locator("td").nth(0)).to_have_text("finished")
    expect(row.locator("td").nth(9)).to_have_text("300")
    expect(row.locator("td").nth(11)).to_have_text("finished")


def test_cancel_running_job(server, site, page):
    status, body = call(server + "/schedule.json", {
        "project": "demo", "spider": "shop", "site": site, "setting": ["DOWNLOAD_DELAY=0.5", "LOGSTATS_INTERVAL=1"]}, )
    job = json.loads(body)["jobid"]
    page.goto(server + "/console/jobs")
    row = page.locator(f'#jobs tr[data-job="{job}"]')
    expect(row.locator("td").nth(0)).to_have_text("running", timeout=20_000)
    expect(row.locator("td").nth(8)).not_to_have_text("", timeout=20_000)  # pages, live
    shot(page, "jobs")
    row.locator("button", has_text="Cancel").click()
    expect(row.locator("td").nth(0)).to_have_text("finished", timeout=30_000)
    expect(row.locator("td").nth(11)).to_have_text("cancelled")
    expect(page.locator("#jobs tr.running")).to_have_count(0)


def test_cron_schedule_fires(server, site, page):
    page.goto(server + "/console/schedules")
    form = page.locator("#add-schedule")
    form.locator("[name=project]").fill("demo")
    form.locator("[name=spider]").fill("shop")
    form.locator("[name=cron]").fill("30 9 * * 1-5")
    form.locator("[name=timezone]").fill("Europe/Paris")
    preview = page.locator("#cron-preview")
    expect(preview).to_contain_text("at 09:30 on Monday-Friday (Europe/Paris)")
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").first).to_contain_text(re.compile(r"09:30 CES?T"))
    form.locator("[name=cron]").fill("61 * * * *")
    expect(preview.locator(".error")).to_be_visible()
    form.locator("[name=cron]").fill("* * * * *")
    expect(preview.locator("li")).to_have_count(5)
    form.locator("[name=_args]").fill(f"site={site}")
    form.locator("[name=_settings]").fill("CLOSESPIDER_PAGECOUNT=5")
    form.locator("button").click()
    sched = page.locator("#schedules tbody tr[data-schedule]")
    expect(sched).to_have_count(1, timeout=10_000)
    expect(sched).to_contain_text(re.compile(r"\d\d:\d\d CES?T"))
    # Fires at the next minute (the list refreshes itself).
    expect(page.locator("#fires tbody tr")).to_have_count(1, timeout=75_000)
    shot(page, "schedules")
    sched.locator("button", has_text="Disable").click()
    expect(sched.locator("td").nth(7)).to_have_text("no", timeout=10_000)
    sched.locator("button", has_text="Delete").click()
    expect(page.locator("#schedules")).to_contain_text("No schedules.", timeout=10_000)


class _Prefix(http.server.BaseHTTPRequestHandler):
    """A reverse proxy serving the API under /prod, as an API Gateway stage does."""

    target = ""

    def _forward(self) -> None:
        if not self.path.startswith("/prod/"):
            self.send_error(404)
            return
        host = self.target.split("//", 1)[1]
        conn = http.client.HTTPConnection(host, timeout=30)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["X-Forwarded-Prefix"] = "/prod"
        conn.request(self.command, self.path[len("/prod"):], body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, *args) -> None:
        pass


def test_behind_a_prefix(server, page):
    handler = type("H", (_Prefix,), {"target": server})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}/prod"
        page.goto(url + "/console/")
        page.click("header nav >> text=Jobs")
        page.wait_for_url(url + "/console/jobs")
        first = page.locator("#jobs tbody tr.finished a").first
        expect(first).to_have_attribute("href", re.compile(r"^/prod/console/job/demo/"))
        with page.expect_response(re.compile(r"/prod/console/frag/jobs")):
            pass  # a live refresh went through the prefix
        first.click()
        expect(page.locator("#log")).to_contain_text("Spider closed", timeout=10_000)
        expect(page.locator("#summary tr:has(th:text-is('State')) td")).to_have_text("finished")
    finally:
        proxy.shutdown()
