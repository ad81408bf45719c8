"""Bytes on the wire for an official on 2G: the budgets of the portal issue, measured here
with gzip as served. `make weight` prints the table (pytest -s)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from webclient import Browser, verdict_form

from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads, walk
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"
KB = 1000
GZIP = {"Accept-Encoding": "gzip"}


def _wire(response) -> int:
    """Status line, headers and body as sent (the body as compressed by the server)."""
    headers = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return len(f"HTTP/1.1 {response.status}\r\n") + headers + 2 + len(response.get_data())


def _assets(client, html: str) -> dict[str, int]:
    sizes = {}
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        response = client.get(url, headers=GZIP)
        assert response.status_code == 200
        assert "immutable" in response.headers.get("Cache-Control", "")
        sizes[url.split("?")[0].rsplit("/", 1)[1]] = _wire(response)
        response.close()
    return sizes


@pytest.fixture
def twenty_tasks(demo, storage):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    applicant = User.by_email(DEMO_APPLICANT)
    return [operations.submit_application(applicant, "rekom-nakes", form,
                                          sample_uploads(spec, "submit", form), storage)
            for _ in range(20)]


def test_page_weights_are_within_budget(app, twenty_tasks, storage, capsys):
    rows = []
    official = Browser(app)
    official.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    inbox = official.client.get("/inbox", headers=GZIP)
    assert inbox.headers.get("Content-Encoding") == "gzip"
    html = inbox.get_data()
    import gzip

    page = gzip.decompress(html).decode()
    assert page.count("/tasks/") >= 20
    assets = _assets(official.client, page)
    first = _wire(inbox) + sum(assets.values())
    # A browser revalidates the page it has: an unchanged inbox is a 304 without a body.
    again = official.client.get("/inbox", headers={**GZIP, "If-None-Match": inbox.headers["ETag"]})
    assert again.status_code == 304
    repeat = _wire(again)
    rows += [("inbox, 20 tasks, first visit (HTML+CSS+JS)", first, 30 * KB),
             ("inbox, repeat visit (unchanged: 304)", repeat, 1 * KB),
             ("inbox, repeat visit (changed, assets cached)", _wire(inbox), 4 * KB)]

    task = Task.open_for(twenty_tasks[0])
    official.htmx = True
    official.get(f"/tasks/{task.id}")
    data = {"outcome": "complete", **verdict_form(task), "csrf_token": official.token}
    request_bytes = 600 + len("&".join(f"{k}={v}" for k, v in data.items()))  # line + headers
    response = official.client.post(f"/tasks/{task.id}/decide", data=data,
                                    headers={**GZIP, "HX-Request": "true",
                                             "X-CSRFToken": official.token})
    assert response.status_code == 200
    rows.append(("htmx action round trip (decide)", request_bytes + _wire(response), 2 * KB))

    # At a paraf/approve/sign step the task page carries the draft letter's page images.
    at_approval = Task.open_for(walk("rekom-nakes", storage, until="approve_kasi")[0])
    official.htmx = False
    approving = official.client.get(f"/tasks/{at_approval.id}", headers=GZIP)
    body = gzip.decompress(approving.get_data()).decode()
    images = re.findall(r'src="(/tasks/[^"]+/draft/[^"]+\.jpg)"', body)
    assert images
    rows.append(("task page with the draft letter (assets cached)",
                 _wire(approving) + sum(_wire(official.client.get(url)) for url in images),
                 60 * KB))

    anonymous = app.test_client()
    for name, url in (("login, first visit", "/login"), ("catalogue, first visit", "/")):
        response = anonymous.get(url, headers=GZIP)
        body = gzip.decompress(response.get_data()).decode()
        rows.append((name, _wire(response) + sum(_assets(anonymous, body).values()), 25 * KB))
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    tracking = applicant.client.get(f"/applications/{twenty_tasks[1].id}", headers=GZIP)
    body = gzip.decompress(tracking.get_data()).decode()
    rows.append(("tracking page, first visit",
                 _wire(tracking) + sum(_assets(applicant.client, body).values()), 25 * KB))

    with capsys.disabled():
        print("\n\nBytes on the wire (gzip), measured:")
        for name, size in assets.items():
            print(f"  asset {name:40} {size:>7,} B")
        for name, size, budget in rows:
            print(f"  {name:46} {size:>7,} B  (budget {budget:,} B)")
    for name, size, budget in rows:
        assert size <= budget, f"{name}: {size} B over the budget of {budget} B"
