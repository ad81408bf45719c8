"""The inbox and the tracking page cost the same number of queries however many rows they
show: no N+1. (Latency at 100,000 files is measured by make bench.)"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from webclient import Browser

from portal.core.db import db
from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"


@contextmanager
def counting():
    """Count the SQL statements the app sends while the block runs."""
    database = db.obj
    original = database.execute_sql
    seen: list[str] = []

    def counted(sql, *args, **kwargs):
        seen.append(sql)
        return original(sql, *args, **kwargs)

    database.execute_sql = counted
    try:
        yield seen
    finally:
        del database.execute_sql


def _files(storage, code, n):
    spec = SopVersion.current(code).spec
    form = sample_form(spec, dt.date.today())
    applicant = User.by_email(DEMO_APPLICANT)
    return [operations.submit_application(applicant, code, form,
                                          sample_uploads(spec, spec.application_steps[0].key,
                                                         form), storage) for _ in range(n)]


@pytest.mark.parametrize("code, official", [
    ("rekom-nakes", "sdmk.admin@dinkes-bangka.absah.test"),
    ("sik-perekam-medis", "petugas.perekonomian@dpmptsp-malang.absah.test"),
])
def test_inbox_queries_do_not_grow_with_its_rows(app, demo, storage, code, official):
    browser = Browser(app)
    browser.login(official, PASSWORD)
    _files(storage, code, 1)
    browser.get("/inbox")  # parses the SOP version (specs are kept per source)
    _files(storage, code, 1)
    with counting() as few:
        assert browser.get("/inbox").status_code == 200
    _files(storage, code, 12)
    with counting() as many:
        page = browser.get("/inbox")
    assert page.get_data(as_text=True).count("/tasks/") == 14
    # The user, the agency's calendar, the positions held today, the open tasks and the
    # menu's catalogue: the same statements however many rows there are.
    assert len(few) <= 8, few
    assert len(many) == len(few), many


def test_tracking_page_queries_do_not_grow_with_its_history(app, demo, storage):
    from portal.modules.demo.data import walk

    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    short = _files(storage, "rekom-nakes", 1)[0]
    with counting() as few:
        assert browser.get(f"/applications/{short.id}").status_code == 200
    long_, _path = walk("sik-perekam-medis", storage)
    with counting() as many:
        assert browser.get(f"/applications/{long_.id}").status_code == 200
    assert len(many) <= len(few) + 6, many
