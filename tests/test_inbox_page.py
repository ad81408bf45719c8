"""The inbox as an official sees it on repeat visits: a page kept per process (PageMemo)
must change as soon as anything it shows changes, and never cross sessions."""

from __future__ import annotations

import datetime as dt
import gzip
import time

import pytest
from flask import template_rendered
from webclient import Browser, text, verdicts

from portal.core.model import utcnow
from portal.modules.accounts import staff
from portal.modules.accounts.models import Position, User
from portal.modules.applications import operations as applications_operations
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads
from portal.modules.sops import operations as sops_operations
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import Effect

PASSWORD = "demo-test-password"
OFFICIAL = "sdmk.admin@dinkes-bangka.absah.test"
ADMIN = "admin@dinkes-bangka.absah.test"
GZIP = {"Accept-Encoding": "gzip"}


def _submit(storage, code="rekom-nakes"):
    spec = SopVersion.current(code).spec
    form = sample_form(spec, dt.date.today())
    return applications_operations.submit_application(
        User.by_email(DEMO_APPLICANT), code, form,
        sample_uploads(spec, spec.application_steps[0].key, form), storage)


@pytest.fixture
def rendered(app):
    """Names of the templates Flask renders while the test runs."""
    names: list[str] = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


@pytest.fixture
def official(app, demo, storage):
    _submit(storage)
    browser = Browser(app)
    browser.login(OFFICIAL, PASSWORD)
    assert browser.get("/inbox").status_code == 200  # the session now holds its form token
    return browser


def _rows(page) -> int:
    return (page if isinstance(page, str) else text(page)).count('href="/tasks/')


def test_a_repeat_visit_to_an_unchanged_inbox_is_answered_304_without_rendering(official,
                                                                                rendered):
    first = official.get("/inbox")
    etag = first.headers["ETag"]
    rendered.clear()
    again = official.get("/inbox", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert rendered == []
    assert _rows(first) == 1


def _changed(official, etag, headers=None, **kwargs) -> bool:
    response = official.get("/inbox", headers={"If-None-Match": etag, **(headers or {})},
                            **kwargs)
    return response.status_code == 200


def test_what_the_page_shows_around_the_rows_changes_its_etag(app, official, demo):
    etag = official.get("/inbox").headers["ETag"]
    assert not _changed(official, etag)
    assert _changed(official, etag, query_string={"sop": "rekom-nakes"})  # a filter
    assert _changed(official, etag, headers={"HX-Request": "true"})
    kasi = Position.get(Position.key == "kasi_sdmk")  # a new acting position in the menu
    today = dt.date.today()
    staff.assign_acting(User.by_email(ADMIN), User.by_email(OFFICIAL).id, kasi.id, "plh",
                        today, today + dt.timedelta(days=1))
    assert _changed(official, etag)
    etag = official.get("/inbox").headers["ETag"]
    official.get("/lang/en?next=/inbox")  # the language
    assert _changed(official, etag)


def test_the_inbox_is_sent_gzipped_to_clients_that_accept_it(official):
    plain = official.get("/inbox")
    packed = official.get("/inbox", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data).decode() == text(plain)
    assert "Content-Encoding" not in official.get("/inbox").headers


def test_a_new_file_and_a_decided_task_show_at_the_next_visit(official, storage):
    etag = official.get("/inbox").headers["ETag"]
    second = _submit(storage)
    page = official.get("/inbox", headers={"If-None-Match": etag})
    assert page.status_code == 200
    assert _rows(page) == 2 and second.registration_number in text(page)
    task = Task.open_for(second)
    spec = second.sop.spec
    forward = next(o for o in spec.step(task.step_key).outcomes if o.effect is Effect.FORWARD)
    applications_operations.decide(task.id, User.by_email(OFFICIAL), forward.key,
                                   verdicts=verdicts(task))
    page = official.get("/inbox", headers={"If-None-Match": page.headers["ETag"]})
    assert page.status_code == 200
    assert _rows(page) == 1 and second.registration_number not in text(page)


def test_a_task_falling_due_changes_the_page_at_that_moment(official):
    task = Task.get(Task.status == "open")
    now = utcnow()
    task.clock_started_at = now - dt.timedelta(days=1)
    task.due_at = now + dt.timedelta(seconds=1.5)  # near due now, overdue in 1.5 s
    task.save()
    page = text(official.get("/inbox"))
    assert 'class="badge near"' in page and 'class="badge overdue"' not in page
    time.sleep(1.6)
    page = text(official.get("/inbox"))
    assert 'class="badge overdue"' in page


def test_language_filter_and_htmx_each_have_their_own_page(official):
    indonesian = text(official.get("/inbox"))
    assert "Kotak masuk" in indonesian
    official.get("/lang/en?next=/inbox")
    english = text(official.get("/inbox"))
    assert "Inbox" in english and "Kotak masuk" not in english
    fragment = official.get("/inbox", headers={"HX-Request": "true"})
    assert "<html" not in text(fragment) and 'id="tasks"' in text(fragment)
    assert "<html" in text(official.get("/inbox"))
    assert _rows(official.get("/inbox?sop=sik-perekam-medis")) == 0
    assert _rows(official.get("/inbox?sop=rekom-nakes")) == 1


def test_a_flash_message_is_shown_once(official):
    official.get("/inbox")
    with official.client.session_transaction() as session:
        session["_flashes"] = [("ok", "Pesan untuk petugas")]
    assert "Pesan untuk petugas" in text(official.get("/inbox"))
    assert "Pesan untuk petugas" not in text(official.get("/inbox"))  # shown once


def test_a_new_acting_position_shows_at_once(app, official, demo):
    before = text(official.get("/inbox"))
    kasi = Position.get(Position.key == "kasi_sdmk")
    admin = User.by_email(ADMIN)
    today = dt.date.today()
    staff.assign_acting(admin, User.by_email(OFFICIAL).id, kasi.id, "plh", today,
                        today + dt.timedelta(days=1))
    after = text(official.get("/inbox"))
    assert f"Plh. {kasi.title}" in after and f"Plh. {kasi.title}" not in before


def test_two_sessions_of_one_official_never_share_a_page(app, official):
    mine = text(official.get("/inbox"))
    other = Browser(app)
    other.login(OFFICIAL, PASSWORD)
    theirs = text(other.get("/inbox"))
    assert official.token != other.token
    assert official.token in mine and other.token in theirs and official.token not in theirs


def test_a_filtered_inbox_lists_a_service_whose_first_file_just_arrived(official, storage):
    """Filtered, the rows stay the same when another service's file arrives; the filter's
    list of services must still show it."""
    from portal.modules.sops.registry import seed_files

    source = next(p for p in seed_files() if p.stem == "rekom-nakes").read_text()
    sops_operations.import_sop(source.replace("code: rekom-nakes", "code: rekom-nakes-lanjutan"),
                               "rekom-nakes-lanjutan.yaml")
    before = text(official.get("/inbox?sop=rekom-nakes"))
    assert "rekom-nakes-lanjutan" not in before
    _submit(storage, "rekom-nakes-lanjutan")
    after = text(official.get("/inbox?sop=rekom-nakes"))
    assert _rows(after) == _rows(before) == 1
    assert "<option>rekom-nakes-lanjutan</option>" in after
