"""Each seed SOP walked end to end through the web layer alone: register, confirm the
e-mail from the link the SMTP server received, get the account approved where the SOP
says so, apply with uploads, every official acts from their inbox, one return for
correction and back, to the final state. Once with plain form posts, once as htmx."""

from __future__ import annotations

import io
import re

import pytest
from webclient import Browser, text

from portal.mail.transport import deliver
from portal.modules.accounts.models import AccountApproval
from portal.modules.applications.models import Application, Decision, Task
from portal.modules.demo.data import _email, sample_form, sample_pdf, sample_png, sample_values
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import ActionKind, ActorKind, Effect

PASSWORD = "demo-test-password"


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _file_for(doc):
    if "pdf" in doc.media:
        return (io.BytesIO(sample_pdf(doc.label)), f"{doc.key}.pdf")
    return (io.BytesIO(sample_png()), f"{doc.key}.png")


def _last_link(smtp, path_prefix):
    for _rcpts, message in reversed(smtp.messages):
        found = re.search(rf"http://portal\.test({path_prefix}\S+)", smtp.text_of(message))
        if found:
            return found.group(1)
    raise AssertionError(f"no e-mail with a link to {path_prefix}")


def _register(app, smtp, email, htmx):
    browser = Browser(app, htmx=htmx)
    browser.get("/register")
    response = browser.post("/register", {"name": "Rina Pemohon", "email": email,
                                          "password": "rahasia-sekali-1"},
                            follow_redirects=True)  # without htmx: 303 to "check your e-mail"
    assert response.status_code == 200 and "Periksa e-mail" in text(response)
    deliver()
    confirmed = browser.get(_last_link(smtp, "/verify/"))
    assert confirmed.status_code == 303
    browser.login(email, "rahasia-sekali-1")
    return browser


def _approve_account(app, spec, version, browser, code):
    response = browser.post(f"/services/{code}/approval")
    assert response.status_code == 303
    approval = AccountApproval.get(AccountApproval.status == "pending")
    admin = Browser(app)
    admin.login(f"admin@{version.agency.code}.absah.test", PASSWORD)
    page = admin.get("/admin/approvals")
    assert approval.user.email in text(page)
    decided = admin.post(f"/admin/approvals/{approval.id}", {"decision": "approve"})
    assert decided.status_code == 303
    assert AccountApproval.get_by_id(approval.id).status == "approved"


def _official(app, spec, step, sessions, htmx):
    actor = spec.actor(step.actor)
    if actor.kind is ActorKind.EXTERNAL:
        actor = spec.actor(actor.recorded_by)
    email = _email(actor.office or spec.agency, actor.key)
    if email not in sessions:
        browser = Browser(app, htmx=htmx)
        browser.login(email, PASSWORD)
        sessions[email] = browser
    return sessions[email]


def _first_return(spec):
    for step in spec.application_steps[1:]:
        for outcome in step.outcomes:
            if outcome.effect is Effect.RETURN:
                return step.key, outcome
    return None, None


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("code", ["rekom-nakes", "sik-perekam-medis", "kso-lms",
                                  "registrasi-praktek-mandiri", "info-kompetensi-teknis"])
def test_walk_through_the_web(app, demo, smtp, code, htmx):
    version = SopVersion.current(code)
    spec = version.spec
    sessions: dict[str, Browser] = {}
    initiator = spec.initiator
    if initiator.kind is ActorKind.APPLICANT:
        applicant = _register(app, smtp, f"rina.{code}@contoh.test", htmx)
        if spec.requires_account_approval or version.agency.requires_account_approval:
            page = applicant.get(f"/services/{code}")
            assert "Minta persetujuan akun" in text(page)
            _approve_account(app, spec, version, applicant, code)
    else:
        applicant = _official(app, spec, spec.application_steps[0], sessions, htmx)

    # Apply: the form the SOP generates, with its uploads.
    form_page = applicant.get(f"/services/{code}/apply")
    assert form_page.status_code == 200
    key = re.search(r'name="submission_key" value="([^"]+)"', text(form_page)).group(1)
    values = sample_form(spec, __import__("datetime").date.today())
    opening = spec.application_steps[0].key
    data = {**values, "submission_key": key, "action": "submit"}
    for doc in spec.documents:
        if (doc.step or opening) == opening and doc.applies(values):
            data[f"doc_{doc.key}"] = _file_for(doc)
    response = applicant.post(f"/services/{code}/apply", data,
                              content_type="multipart/form-data")
    assert response.status_code == 303, text(response)[:2000]
    application = Application.get(Application.status != "draft")
    receipt = applicant.get(response.headers["Location"])
    assert application.registration_number in text(receipt)

    return_step, return_outcome = _first_return(spec)
    returned_once = False
    failed: set[str] = set()
    for _ in range(len(spec.steps) * 3):
        application = Application.get_by_id(application.id)
        task = Task.open_for(application)
        if task is None:
            break
        step = spec.step(task.step_key)
        if task.assignee_id is not None:  # the applicant's own step
            page = applicant.get(f"/applications/{application.id}")
            assert page.status_code == 200 and step.title[:30] in text(page)
            forward = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
            data = {"task": str(task.id), "outcome": forward.key}
            for doc in spec.documents:
                if doc.step == step.key or (task.kind == "correction" and doc.key in failed):
                    data[f"doc_{doc.key}"] = _file_for(doc)
            if task.kind == "correction":
                data.update({k: v for k, v in application.form_data.items()})
            done = applicant.post(f"/applications/{application.id}/act", data,
                                  content_type="multipart/form-data")
            assert done.status_code == (200 if htmx else 303), text(done)[:2000]
            continue
        official = _official(app, spec, step, sessions, htmx)
        inbox = official.get("/inbox")
        assert f"/tasks/{task.id}" in text(inbox)
        page = official.get(f"/tasks/{task.id}")
        assert page.status_code == 200
        data = {}
        judged = [d for d in spec.documents if d.key in step.documents
                  and d.applies(application.form_data)]
        if step.key == return_step and not returned_once:
            failed = {judged[0].key} if judged else set()
            data = {"outcome": return_outcome.key, "note": "Mohon perbaiki berkas"}
            for doc in judged:
                data.setdefault("judged", [])
                data["judged"].append(doc.key)
                data[f"verdict_{doc.key}"] = "incomplete" if doc.key in failed else "complete"
                data[f"verdict_note_{doc.key}"] = "buram" if doc.key in failed else ""
            returned_once = True
        else:
            forward = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
            data = {"outcome": forward.key, "judged": [d.key for d in judged]}
            data.update({f"record_{k}": v for k, v in
                         sample_values(step.record, __import__("datetime").date.today()).items()})
            data.update({f"verdict_{d.key}": "complete" for d in judged})
            # What the official produces here (a technical recommendation, a scan).
            data.update({f"doc_{d.key}": _file_for(d) for d in spec.official_documents
                         if d.step == step.key and d.applies(application.form_data)})
        chosen = step.outcome(data["outcome"])
        if step.action is ActionKind.SIGN and chosen.effect is Effect.FORWARD:
            # Signing asks once more, naming the letter; nothing is decided yet.
            asked = official.post(f"/tasks/{task.id}/decide", data)
            assert asked.status_code == 200 and "Tandatangani surat?" in text(asked)
            assert ("<html" in text(asked)) is not htmx
            assert Task.get_by_id(task.id).status == "open"
            data["confirmed"] = "1"
        decided = official.post(f"/tasks/{task.id}/decide", data,
                                content_type="multipart/form-data")
        assert decided.status_code == (200 if htmx else 303), text(decided)[:2000]
        if htmx:
            assert "Keputusan tersimpan" in text(decided)
            assert "<html" not in text(decided)  # a fragment, not a page

    application = Application.get_by_id(application.id)
    assert application.status == "completed"
    if return_step is not None:
        assert returned_once
        assert Decision.select().where((Decision.application == application)
                                       & (Decision.effect == "return")).count() == 1
    final = applicant.get(f"/applications/{application.id}")
    assert "selesai" in text(final)
