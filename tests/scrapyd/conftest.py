"""Points Scrapyd's integration suite at the Trawl server under test.

The suite's tests hard-code http://127.0.0.1:6800. When TRAWL_SCRAPYD_URL names another
address (run.sh picks a free port so parallel runs do not collide), every `requests`
call to 127.0.0.1:6800 is sent there instead. Nothing else changes: the tests, their
assertions and their parameters are Scrapyd's own.
"""

import os

import requests

SCRAPYD_URL = "http://127.0.0.1:6800"
TARGET_URL = os.environ.get("TRAWL_SCRAPYD_URL", SCRAPYD_URL).rstrip("/")

if TARGET_URL != SCRAPYD_URL:
    _send = requests.Session.request

    def _redirected(self, method, url, *args, **kwargs):
        if isinstance(url, str) and (url == SCRAPYD_URL or url.startswith(SCRAPYD_URL + "/")):
            url = TARGET_URL + url[len(SCRAPYD_URL) :]
        return _send(self, method, url, *args, **kwargs)

    requests.Session.request = _redirected
