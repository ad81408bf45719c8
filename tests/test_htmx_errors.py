"""A refused htmx click never vanishes: every 4xx/5xx answer to htmx is the alert fragment of
templates/error.html, retargeted into the page's #alerts region; the same URL without htmx
answers with the whole error page. And the language switch answers 303 See Other."""

from __future__ import annotations

import datetime as dt

import pytest
from webclient import Browser, text

from portal.modules.accounts import approvals
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
KASI_SDMK = "kasi.sdmk@dinkes-bangka.absah.test"  # does not hold the file's first step


def assert_alert(response, status, message):
    """The htmx answer: only the alert, swapped into #alerts whatever the element targeted."""
    body = text(response)
    assert response.status_code == status, body[:300]
    assert response.headers.get("HX-Retarget") == "#alerts"
    assert response.headers.get("HX-Reswap") == "innerHTML"
    assert "<html" not in body and "<main" not in body
    assert body.strip().startswith('<p class="alert error" role="alert">')
    assert message in body
    assert "HX-Request" in response.headers.get("Vary", "")


def assert_page(response, status, message):
    """The same refusal to a plain request: the whole error page, no htmx headers."""
    body = text(response)
    assert response.status_code == status, body[:300]
    assert "HX-Retarget" not in response.headers and "HX-Reswap" not in response.headers
    assert "<html" in body and '<div id="alerts"' in body
    assert message in body


def both_ways(browser, send):
    """The answer to ``send()`` as htmx sends it, then as a plain browser does."""
    browser.htmx = True
    hx = send()
    browser.htmx = False
    return hx, send()


@pytest.fixture
def bangka_file(demo, storage):
    """An application to Dinkes Bangka, waiting at its first step ("check")."""
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    return operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, spec.application_steps[0].key, form), storage)


def test_an_applicant_posting_to_an_admin_page_gets_403_in_the_alerts(app, demo):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    hx, page = both_ways(browser, lambda: browser.post("/admin/users", {"email": "x@y.test"}))
    assert_alert(hx, 403, "Anda tidak berwenang melakukan ini.")
    assert_page(page, 403, "Anda tidak berwenang melakukan ini.")


def test_an_official_deciding_a_task_not_theirs_gets_403_in_the_alerts(app, bangka_file):
    task = Task.open_for(bangka_file)
    browser = Browser(app)
    browser.login(KASI_SDMK, PASSWORD)
    hx, page = both_ways(browser, lambda: browser.post(f"/tasks/{task.id}/decide",
                                                       {"outcome": "complete"}))
    assert_alert(hx, 403, "Anda tidak berwenang melakukan ini.")
    assert_page(page, 403, "Anda tidak berwenang melakukan ini.")
    assert Task.get_by_id(task.id).status == "open"


def test_a_missing_task_gets_404_in_the_alerts(app, demo):
    browser = Browser(app)
    browser.login(KASI_SDMK, PASSWORD)
    hx = browser.get("/tasks/999999", hx=True, headers={"HX-Request": "true"})
    assert_alert(hx, 404, "Halaman tidak ditemukan.")
    assert_page(browser.get("/tasks/999999"), 404, "Halaman tidak ditemukan.")
    hx, page = both_ways(browser, lambda: browser.post("/tasks/999999/decide",
                                                       {"outcome": "complete"}))
    assert_alert(hx, 404, "Halaman tidak ditemukan.")
    assert_page(page, 404, "Halaman tidak ditemukan.")


def test_an_operation_error_gets_409_with_its_message_in_the_alerts(app, demo, make_applicant):
    """Deciding an account approval someone already decided: the operation's own words."""
    pending = approvals.request_approval(make_applicant(approved=False),
                                         Agency.get(Agency.code == "dinkes-bangka"))
    browser = Browser(app)
    browser.login(BANGKA_ADMIN, PASSWORD)
    assert browser.post(f"/admin/approvals/{pending.id}",
                        {"decision": "approve"}).status_code == 303
    hx, page = both_ways(browser, lambda: browser.post(f"/admin/approvals/{pending.id}",
                                                       {"decision": "approve"}))
    assert_alert(hx, 409, "Permintaan ini sudah diputuskan.")
    assert_page(page, 409, "Permintaan ini sudah diputuskan.")


def test_a_successful_htmx_answer_clears_the_alerts(app, demo, make_applicant):
    """The next click that works empties #alerts out of band; a plain page has no such part."""
    pending = approvals.request_approval(make_applicant(approved=False),
                                         Agency.get(Agency.code == "dinkes-bangka"))
    browser = Browser(app, htmx=True)
    browser.login(BANGKA_ADMIN, PASSWORD)
    response = browser.post(f"/admin/approvals/{pending.id}", {"decision": "approve"})
    body = text(response)
    assert response.status_code == 200 and "<html" not in body
    assert '<div id="alerts" hx-swap-oob="innerHTML"></div>' in body
    assert "hx-swap-oob" not in text(browser.get("/admin/approvals"))


def test_the_refreshing_choice_carries_real_htmx_attributes(app, demo):
    """The application form's choice that other parts depend on: hx-* written by xmlattr
    (escaped values, not a string marked safe), and no hx-select repeating the server's
    block; its refresh answers with that block alone."""
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    page = text(browser.get("/services/sik-perekam-medis/apply"))
    select = page[page.index('<select id="f-permit_order"'):]
    select = select[:select.index(">")]
    url = "/services/sik-perekam-medis/apply?refresh=1"
    assert f'hx-get="{url}"' in select and 'hx-target="#apply-fields"' in select
    assert 'hx-trigger="change"' in select and 'hx-include="#apply-fields"' in select
    assert "hx-select" not in page
    fragment = text(browser.get(url + "&permit_order=second", hx=True,
                                headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<div id="apply-fields">') and "<html" not in fragment


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_language_switch_answers_303(app, demo, method):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    send = getattr(browser, method)
    response = send("/lang/en?next=/home") if method == "get" else send(
        "/lang/en", {"next": "/home"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/home"
    for unsafe in ("//evil.test/x", "/\\evil.test/x", "/\t/evil.test", "https://evil.test/"):
        response = send("/lang/id", **({"query_string": {"next": unsafe}} if method == "get"
                                       else {"data": {"next": unsafe}}))
        assert response.status_code == 303 and response.headers["Location"] == "/", unsafe
