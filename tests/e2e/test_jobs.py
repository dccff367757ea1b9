"""A job through the whole deployed stack: API Gateway → API function → DynamoDB + SQS →
poller → crawl queue → crawler function → S3, then back out through the API."""

import json

from conftest import SPEC


def test_a_scheduled_job_runs_to_finished(api, aws, stack, site, project):
    base, products = site
    assert api.get("daemonstatus.json")["status"] == "ok"
    assert api.deploy(project)["spiders"] == 1
    assert api.get("listspiders.json", project=project)["spiders"] == ["shop"]
    # A little delay between requests so the running state is observable.
    job = api.schedule(project, base, setting="DOWNLOAD_DELAY=0.02")
    seen = api.wait(job, "finished")
    assert seen[-2:] == ["running", "finished"], seen

    entry = api.finished(project, job)
    assert entry["finish_reason"] == "finished"
    assert entry["items_scraped"] == products
    items = api.raw(entry["items_url"]).text.splitlines()
    assert len(items) == products
    ids = sorted(json.loads(line)["id"] for line in items)
    assert ids == list(range(1, products + 1))
    # The same feed, straight from S3.
    obj = aws["s3"].get_object(Bucket=stack["BucketName"], Key=f"items/{project}/shop/{job}.jl")
    assert obj["Body"].read().decode().splitlines() == items

    log = api.raw(entry["log_url"]).text
    assert "Spider opened" in log and "Spider closed" in log


def test_errors_use_scrapyd_messages(api, project):
    v = api.post("schedule.json", data={"project": project, "spider": "shop"})
    assert v == {"node_name": v["node_name"], "status": "error", "message": f"project '{project}' not found"}
    api.deploy(project)
    v = api.post("schedule.json", data={"project": project, "spider": "nope"})
    assert v["message"] == "spider 'nope' not found"
    v = api.post("addversion.json", data={"project": project, "version": "2"}, files={"egg": ("x.toml", b"name = 1")})
    assert v["status"] == "error" and "egg is invalid" in v["message"]


def test_python_scrapyd_api_client_works_unchanged(api, site, project):
    from scrapyd_api import ScrapydAPI
    from scrapyd_api.constants import DEFAULT_ENDPOINTS

    base, products = site
    api.deploy(project)
    # The client joins absolute paths onto its target, which would drop the API
    # Gateway stage path; relative endpoints keep it (as for any Scrapyd behind a prefix).
    endpoints = {k: v.lstrip("/") for k, v in DEFAULT_ENDPOINTS.items()}
    client = ScrapydAPI(api.url + "/", endpoints=endpoints)
    assert project in client.list_projects()
    assert client.list_spiders(project) == ["shop"]
    job = client.schedule(project, "shop", site=base)
    api.wait(job, "finished")
    assert client.job_status(project, job) == "finished"
    assert api.finished(project, job)["items_scraped"] == products


def test_a_second_version_is_the_latest(api, project):
    api.deploy(project)
    v = api.post(
        "addversion.json",
        data={"project": project, "version": "10"},
        files={"egg": ("shop.toml", SPEC.encode())},
    )
    assert v["status"] == "ok"
    assert api.get("listversions.json", project=project)["versions"] == ["1", "10"]
