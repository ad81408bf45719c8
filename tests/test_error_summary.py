"""Forms tell everything at once: every problem of an answer in one round, listed and linked
in an error summary that takes the focus; document checks start unmarked, and a document
replaced since the last return says so beside its verdict."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from webclient import Browser, text, verdict_form

from portal.core.errors import ValidationError
from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_pdf, sample_uploads
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"
SDMK_ADMIN = "sdmk.admin@dinkes-bangka.absah.test"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"


def _summary(html: str) -> str:
    """The error summary box of a page (fails when there is none)."""
    found = re.search(r'<div class="error-summary"[^>]*>.*?</div>', html, re.S)
    assert found, html[:3000]
    return found.group(0)


def _links(summary: str) -> list[str]:
    return re.findall(r'<a href="#([^"]+)"', summary)


def _file(storage):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    return operations.submit_application(User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
                                         sample_uploads(spec, "submit", form), storage)


def test_a_wrong_field_and_missing_documents_come_back_in_one_round(app, demo, storage):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    nik = next(f for f in spec.fields if f.type == "nik")
    form[nik.key] = "12345"  # not sixteen digits
    required = [d for d in spec.documents if d.required and (d.step or "submit") == "submit"
                and d.applies(form)]
    assert len(required) >= 3
    with pytest.raises(ValidationError) as caught:
        operations.submit_application(User.by_email(DEMO_APPLICANT), "rekom-nakes", form, {},
                                      storage)
    assert {nik.key, *(d.key for d in required)} <= set(caught.value.errors)

    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    answer = browser.post("/services/rekom-nakes/apply", {**form, "action": "submit"})
    assert answer.status_code == 422
    html = text(answer)
    summary = _summary(html)
    assert 'role="alert"' in summary and "autofocus" in summary and 'tabindex="-1"' in summary
    assert "Ada masalah" in summary
    links = _links(summary)
    assert f"f-{nik.key}" in links
    assert [f"f-doc-{d.key}" for d in required] == [a for a in links if a.startswith("f-doc-")]
    for anchor in links:  # every link lands on its control
        assert f'id="{anchor}"' in html
    assert "NIK terdiri dari 16 angka" in summary
    for doc in required:
        assert f"{doc.label} wajib diunggah" in summary
    assert "Periksa isian yang ditandai" not in html


def test_a_refused_file_comes_with_the_other_problems(app, demo):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    nik = next(f for f in spec.fields if f.type == "nik")
    form[nik.key] = ""
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    import io

    answer = browser.post("/services/rekom-nakes/apply", {
        **form, "action": "submit", "doc_ktp": (io.BytesIO(b"not a pdf"), "ktp.pdf")},
        content_type="multipart/form-data")
    assert answer.status_code == 422
    links = _links(_summary(text(answer)))
    assert f"f-{nik.key}" in links and "f-doc-ktp" in links and "f-doc-str" in links


def test_the_summary_in_english(app, demo):
    browser = Browser(app)
    assert browser.get("/lang/en?next=/register").status_code in (302, 303)
    answer = browser.post("/register", {"name": "", "email": "", "password": ""})
    summary = _summary(text(answer))
    assert "There is a problem" in summary and "Ada masalah" not in summary


def test_registration_lists_and_links_every_problem(app, demo):
    for htmx in (False, True):
        browser = Browser(app, htmx=htmx)
        answer = browser.post("/register", {"name": "", "email": "bukan-email",
                                            "password": "pendek"})
        assert answer.status_code == 422
        html = text(answer)
        assert ("<html" in html) is not htmx
        links = _links(_summary(html))
        assert {"f-name", "f-email", "f-password"} <= set(links)
        # htmx focuses the autofocus element of what it swaps in: no script needed.
        assert "autofocus" in _summary(html)


def test_login_and_admin_forms_use_the_summary(app, demo):
    browser = Browser(app)
    answer = browser.post("/login", {"email": DEMO_APPLICANT, "password": "salah"})
    assert "Ada masalah" in _summary(text(answer))
    admin = Browser(app)
    admin.login(BANGKA_ADMIN, PASSWORD)
    answer = admin.post("/admin/days-off", {"day": "", "name": ""})
    assert answer.status_code == 422
    html = text(answer)
    assert {"f-day", "f-name"} <= set(_links(_summary(html)))
    assert 'id="f-day"' in html and 'id="f-name"' in html


def test_checks_start_unmarked_and_a_forward_needs_every_verdict(app, demo, storage):
    application = _file(storage)
    task = Task.open_for(application)
    spec = application.sop.spec
    step = spec.step(task.step_key)
    judged = [d for d in spec.documents if d.key in step.documents
              and d.applies(application.form_data)]
    browser = Browser(app)
    browser.login(SDMK_ADMIN, PASSWORD)
    page = text(browser.get(f"/tasks/{task.id}"))
    radios = re.findall(r'<input type="radio"[^>]*>', page)
    assert len(radios) == 2 * len(judged)
    assert not any("checked" in r for r in radios)

    # Two judged, the rest not: the forward is refused naming each unjudged document.
    first, second, *rest = judged
    data = {"outcome": "complete", "judged": [d.key for d in judged],
            f"verdict_{first.key}": "complete", f"verdict_{second.key}": "complete"}
    for hx in (False, True):
        browser.htmx = hx
        answer = browser.post(f"/tasks/{task.id}/decide", data)
        assert answer.status_code == 422
        html = text(answer)
        summary = _summary(html)
        assert [f"f-verdict-{d.key}" for d in rest] == _links(summary)
        for doc in rest:
            assert f"{doc.label} belum diperiksa" in summary
            assert f'id="f-verdict-{doc.key}"' in html
        assert first.label + " belum diperiksa" not in summary
        # What the official chose is kept; nothing else is ticked for them.
        assert re.search(rf'name="verdict_{first.key}" value="complete" checked', html)
        assert not re.search(rf'name="verdict_{rest[0].key}" value="complete" checked', html)
    assert Task.get_by_id(task.id).status == "open"
    with pytest.raises(ValidationError) as caught:
        operations.decide(task.id, User.by_email(SDMK_ADMIN), "complete")
    assert {d.key for d in judged} <= set(caught.value.errors)
    browser.htmx = False
    done = browser.post(f"/tasks/{task.id}/decide", {"outcome": "complete",
                                                     **verdict_form(task)})
    assert done.status_code == 303


def test_a_return_may_leave_documents_unjudged(app, demo, storage):
    application = _file(storage)
    task = Task.open_for(application)
    browser = Browser(app)
    browser.login(SDMK_ADMIN, PASSWORD)
    answer = browser.post(f"/tasks/{task.id}/decide", {
        "outcome": "incomplete", "note": "STR kedaluwarsa", "judged": ["str", "ktp"],
        "verdict_str": "incomplete", "verdict_note_str": "kedaluwarsa"})
    assert answer.status_code == 303
    assert Task.open_for(application).kind == "correction"


def test_a_replaced_document_says_diganti_beside_its_verdict(app, demo, storage):
    application = _file(storage)
    task = Task.open_for(application)
    admin = User.by_email(SDMK_ADMIN)
    operations.decide(task.id, admin, "incomplete", note="STR kedaluwarsa",
                      verdicts={"str": {"complete": False, "note": "kedaluwarsa"}})
    correction = Task.open_for(application)
    operations.decide(correction.id, application.applicant, "submitted", storage=storage,
                      uploads={"str": Upload("str-baru.pdf", sample_pdf("STR baru"))})
    check = Task.open_for(application)
    browser = Browser(app)
    browser.login(SDMK_ADMIN, PASSWORD)
    page = text(browser.get(f"/tasks/{check.id}"))
    legends = dict(re.findall(r'name="judged" value="([^"]+)">\s*<fieldset class="judgement">'
                              r"\s*<legend>(.*?)</legend>", page, re.S))
    assert "diganti" in legends["str"]
    assert not any("diganti" in legend for key, legend in legends.items() if key != "str")
    radios = re.findall(r'<input type="radio"[^>]*>', page)
    assert radios and not any("checked" in r for r in radios)
