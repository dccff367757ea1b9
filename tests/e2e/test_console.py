"""The web console through API Gateway: its pages answer, and their links (which carry
the stage or base path the client used) lead to the other pages and the assets.

The pages are read at the URL shape AWS gives (`https://{api}.execute-api.../{stage}/`):
LocalStack serves it by host name, so requests go to its endpoint with that `Host`."""

import re
from urllib.parse import urljoin, urlparse

import requests


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"#]+)"', html)


def test_console_pages_and_links_work_behind_the_gateway(api, site, project):
    base, _ = site
    api.deploy(project)
    job = api.schedule(project, base)
    api.wait(job, "finished")

    endpoint = urlparse(api.url)
    api_id, stage = endpoint.path.rstrip("/").split("/")[-2:]
    http = requests.Session()
    http.headers["Host"] = f"{api_id}.execute-api.localhost.localstack.cloud:{endpoint.port}"
    root = f"{endpoint.scheme}://{endpoint.netloc}/{stage}"
    page_url = f"{root}/console/"
    home = http.get(page_url, timeout=30)
    assert home.status_code == 200, home.text[:300]
    assert "text/html" in home.headers["content-type"]
    links = _links(home.text)
    jobs = [link for link in links if link.rstrip("/").endswith("/console/jobs")]
    assert jobs, links
    # Every console link and asset of the page stays under the stage.
    for link in {l for l in links if "/console" in l}:
        assert urljoin(page_url, link).startswith(f"{root}/console"), link
    listing = http.get(urljoin(page_url, jobs[0]), timeout=30)
    assert listing.status_code == 200
    assert job in listing.text
    job_links = [l for l in _links(listing.text) if f"/console/job/{project}/{job}" in l]
    assert job_links, _links(listing.text)
    detail = http.get(urljoin(page_url, job_links[0]), timeout=30)
    assert detail.status_code == 200
    assert "finished" in detail.text
    assets = [l for l in _links(home.text) if l.endswith((".js", ".css"))]
    assert assets
    for a in assets:
        r = http.get(urljoin(page_url, a), timeout=30)
        assert r.status_code == 200, (a, r.status_code)
