"""Who may see and do what through the web, CSRF on every state change, errors as pages."""

from __future__ import annotations

import datetime as dt

import pytest
from webclient import Browser, text, verdict_form

from portal.modules.accounts.models import User
from portal.modules.applications import operations
from portal.modules.applications.models import Application, Document, Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"


def _submit(code, user, storage):
    spec = SopVersion.current(code).spec
    form = sample_form(spec, dt.date.today())
    return operations.submit_application(user, code, form,
                                         sample_uploads(spec, spec.application_steps[0].key,
                                                        form), storage)


@pytest.fixture
def bangka_file(demo, storage):
    return _submit("rekom-nakes", User.by_email(DEMO_APPLICANT), storage)


def test_an_applicant_cannot_see_another_applicants_file(app, bangka_file, make_applicant):
    other = make_applicant()
    other.password_hash = User.by_email(DEMO_APPLICANT).password_hash
    other.save()
    browser = Browser(app)
    browser.login(other.email, PASSWORD)
    doc = Document.get(Document.application == bangka_file)
    for url in (f"/applications/{bangka_file.id}", f"/documents/{doc.id}"):
        assert browser.get(url).status_code == 404
    for hx in (False, True):
        browser.htmx = hx
        response = browser.post(f"/applications/{bangka_file.id}/act", {"outcome": "x"})
        assert response.status_code == 404


def test_the_applicant_sees_own_file_and_downloads_its_documents(app, bangka_file):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    page = browser.get(f"/applications/{bangka_file.id}")
    assert page.status_code == 200 and bangka_file.registration_number in text(page)
    doc = Document.get(Document.application == bangka_file)
    download = browser.get(f"/documents/{doc.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "no-store" in download.headers["Cache-Control"]


def test_an_official_of_another_agency_sees_neither_queue_nor_task(app, bangka_file):
    task = Task.open_for(bangka_file)
    browser = Browser(app)
    browser.login("kadin@dpmptsp-malang.absah.test", PASSWORD)
    assert f"/tasks/{task.id}" not in text(browser.get("/inbox"))
    assert browser.get(f"/tasks/{task.id}").status_code == 404
    assert browser.post(f"/tasks/{task.id}/decide", {"outcome": "complete"}).status_code == 404
    browser.htmx = True
    assert browser.post(f"/tasks/{task.id}/decide", {"outcome": "complete"}).status_code == 404


def test_a_position_that_does_not_hold_the_step_cannot_act(app, bangka_file):
    task = Task.open_for(bangka_file)
    assert task.step_key == "check"
    kasi = Browser(app)
    kasi.login("kasi.sdmk@dinkes-bangka.absah.test", PASSWORD)
    page = kasi.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "bukan untuk jabatan Anda" in text(page)
    assert kasi.post(f"/tasks/{task.id}/decide", {"outcome": "complete"}).status_code == 403
    kasi.htmx = True
    assert kasi.post(f"/tasks/{task.id}/decide", {"outcome": "complete"}).status_code == 403
    assert Task.get_by_id(task.id).status == "open"


def test_an_already_decided_task_says_who_and_when_and_changes_nothing(app, bangka_file):
    task = Task.open_for(bangka_file)
    first, second = Browser(app), Browser(app, htmx=True)
    first.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    second.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    second.get(f"/tasks/{task.id}")  # the page was opened before the first decision
    assert first.post(f"/tasks/{task.id}/decide",
                      {"outcome": "complete", **verdict_form(task)}).status_code == 303
    late = second.post(f"/tasks/{task.id}/decide",
                       {"outcome": "incomplete", "note": "kurang"})
    assert late.status_code == 409
    assert "Tugas ini sudah diputuskan oleh" in text(late)
    assert "already decided" not in text(late)
    assert Application.get_by_id(bangka_file.id).current_step == "approve_kasi"


def test_a_return_without_a_reason_is_422_with_the_message_next_to_the_field(app,
                                                                             bangka_file):
    task = Task.open_for(bangka_file)
    browser = Browser(app, htmx=True)
    browser.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    response = browser.post(f"/tasks/{task.id}/decide", {"outcome": "incomplete"})
    assert response.status_code == 422
    assert 'id="e-note"' in text(response) and "Alasan wajib diisi" in text(response)
    assert "<html" not in text(response)


def test_invalid_application_form_keeps_values_and_uploads(app, demo):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    import io

    from portal.modules.demo.data import sample_pdf

    response = browser.post("/services/rekom-nakes/apply", {
        "action": "submit", "purpose": "work_permit",
        "doc_ijazah": (io.BytesIO(sample_pdf()), "ij.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "Sudah diunggah: ij.pdf" in page and "wajib" in page
    assert 'value="work_permit" selected' in page
    draft = Application.get(Application.status == "draft")
    assert {d.requirement for d in draft.documents} == {"ijazah"}


def test_every_state_changing_request_without_csrf_is_refused(app, bangka_file):
    browser = Browser(app)
    browser.login(DEMO_APPLICANT, PASSWORD)
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static":
            continue
        args = {name: (1 if "id" in name else "x") for name in rule.arguments}
        url = rule.build(args)[1] if rule.arguments else rule.rule
        response = browser.post(url, {"outcome": "x"}, csrf=False)
        assert response.status_code == 400, (rule.rule, response.status_code)
        checked += 1
    assert checked >= 8


def test_no_stack_trace_reaches_the_user(app, monkeypatch):
    pass

    def boom():
        raise RuntimeError("secret internals")

    monkeypatch.setitem(app.view_functions, "sops.index", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert "secret internals" not in text(response) and "Traceback" not in text(response)


def test_pages_vary_on_hx_request_and_security_headers_are_set(app, demo):
    response = app.test_client().get("/login")
    assert "HX-Request" in response.headers.get("Vary", "")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_login_is_throttled_after_repeated_failures(app, demo):
    browser = Browser(app)
    browser.get("/login")
    for _ in range(5):
        assert browser.post("/login", {"email": DEMO_APPLICANT,
                                       "password": "wrong"}).status_code == 422
    blocked = browser.post("/login", {"email": DEMO_APPLICANT, "password": PASSWORD})
    assert blocked.status_code == 429 and "Terlalu banyak" in text(blocked)


def test_session_cookie_is_httponly_and_lax(app, demo):
    browser = Browser(app)
    browser.get("/login")
    response = browser.post("/login", {"email": DEMO_APPLICANT, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_reset_link_works_once(app, demo, smtp_app_config=None):
    from portal.mail.models import OutboxMessage

    browser = Browser(app)
    browser.get("/reset")
    assert browser.post("/reset", {"email": DEMO_APPLICANT}).status_code == 200
    body = OutboxMessage.select().where(OutboxMessage.event == "password_reset").get().body_text
    link = body.split("http://portal.test", 1)[1].split()[0]
    browser.get(link)
    assert browser.post(link, {"password": "kata-sandi-baru-1"}).status_code == 303
    assert browser.get(link).status_code == 400  # spent
    browser.login(DEMO_APPLICANT, "kata-sandi-baru-1")


def test_a_returned_internal_draft_is_replaced_by_the_drafter_and_the_return_stays_visible(
        app, demo, storage):
    import io

    from portal.modules.applications.models import Decision, Document
    from portal.modules.demo.data import sample_pdf

    drafter_user = User.by_email("jft.pkt@bpsdm-kalbar.absah.test")
    application = _submit("info-kompetensi-teknis", drafter_user, storage)
    kabid = Browser(app)
    kabid.login("kabid.pkt@bpsdm-kalbar.absah.test", PASSWORD)
    task = Task.open_for(application)
    returned = kabid.post(f"/tasks/{task.id}/decide",
                          {"outcome": "returned", "note": "Tanggal kegiatan keliru"})
    assert returned.status_code == 303
    drafter = Browser(app)
    drafter.login("jft.pkt@bpsdm-kalbar.absah.test", PASSWORD)
    correction = Task.open_for(application)
    page = text(drafter.get(f"/tasks/{correction.id}"))
    assert 'name="doc_draft_surat_penawaran"' in page and "Tanggal kegiatan keliru" in page
    forward = next(o for o in application.sop.spec.step(correction.step_key).outcomes
                   if o.effect.value == "forward")
    sent = drafter.post(f"/tasks/{correction.id}/decide", {
        "outcome": forward.key,
        "doc_draft_surat_penawaran": (io.BytesIO(sample_pdf("Draf v2")), "draf-v2.pdf"),
    }, content_type="multipart/form-data")
    assert sent.status_code == 303, text(sent)[:1000]
    versions = [d.version for d in Document.select().where(
        (Document.application == application)
        & (Document.requirement == "draft_surat_penawaran"))]
    assert sorted(versions) == [1, 2]
    assert Decision.select().where(Decision.effect == "return").count() == 1
    again = text(kabid.get(f"/tasks/{Task.open_for(application).id}"))
    assert "Tanggal kegiatan keliru" in again  # the earlier return is still in the story
