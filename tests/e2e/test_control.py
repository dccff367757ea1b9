"""Cancelling, cron schedules, incremental crawls — on the deployed stack."""

from conftest import SPEC, partial_items, wait_until


def test_cancel_a_running_job_keeps_its_items_and_log(api, aws, stack, site, project):
    base, products = site
    api.deploy(project)
    job = api.schedule(project, base, setting=["DOWNLOAD_DELAY=0.3", "CONCURRENT_REQUESTS_PER_DOMAIN=1"])
    api.wait(job, "running")
    # A few items scraped: they reach the job's checkpoint at a heartbeat.
    wait_until("a few items in the running job's checkpoint", lambda: len(partial_items(aws, stack, project, job)) >= 3)
    assert api.post("cancel.json", data={"project": project, "job": job})["prevstate"] == "running"
    api.wait(job, "finished", timeout=60)
    entry = api.finished(project, job)
    assert entry["finish_reason"] == "cancelled"
    items = api.raw(entry["items_url"]).text.splitlines()
    assert len(items) == entry["items_scraped"]
    assert 3 <= len(items) < products, len(items)
    assert "Cancelled" in api.raw(entry["log_url"]).text
    # Finished and unknown jobs have nothing to cancel.
    assert api.post("cancel.json", data={"project": project, "job": job})["prevstate"] is None
    assert api.post("cancel.json", data={"project": project, "job": "nope"})["prevstate"] is None


def test_a_cron_schedule_fires_on_its_own(api, site, project):
    base, _ = site
    api.deploy(project)
    v = api.post(
        "addschedule.json",
        data={"project": project, "spider": "shop", "cron": "* * * * *", "site": base},
    )
    assert v["status"] == "ok", v
    schedule = v["id"]
    try:
        # EventBridge invokes the poller every minute; the schedule is due each minute.
        def fired_jobs() -> list:
            jobs = api.get("listjobs.json", project=project)
            return [j for k in ("pending", "running", "finished") for j in jobs[k]]

        fired = wait_until("a job fired by the schedule", fired_jobs, timeout=180, interval=2)
        assert fired[0]["id"].startswith(schedule)
        s = api.get("listschedules.json", project=project)["schedules"][0]
        assert s["last_job"] == fired[0]["id"]
    finally:
        api.post("delschedule.json", data={"id": schedule})


def test_an_incremental_spider_emits_only_new_items(api, site, project):
    base, products = site
    spec = SPEC.replace('name = "shop"', 'name = "shop"\nincremental = true', 1)
    api.deploy(project, spec)
    first = api.schedule(project, base)
    api.wait(first, "finished")
    assert api.finished(project, first)["items_scraped"] == products
    second = api.schedule(project, base)
    api.wait(second, "finished")
    entry = api.finished(project, second)
    assert entry["finish_reason"] == "finished"
    assert entry["items_scraped"] == 0
