"""One correction path: the applicant corrects on the tracking page, where every e-mail about
their own step links; the task page is for officials (an applicant opening it is sent to
the tracking page); a correction replaces every document the return flagged incomplete."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from webclient import Browser, text

from portal.core.errors import ValidationError
from portal.mail.transport import deliver
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Application, Document, Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_pdf, sample_uploads, walk
from portal.modules.sla.reminders import send_reminders
from portal.modules.sops import operations as sops_operations
from portal.modules.sops.models import SopVersion

PASSWORD = "demo-test-password"
SDMK_ADMIN = "sdmk.admin@dinkes-bangka.absah.test"
BASE = "http://portal.test"


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _file(storage):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    return operations.submit_application(User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
                                         sample_uploads(spec, "submit", form), storage)


def _return(application, flagged: dict[str, str], note="Berkas belum lengkap"):
    """The checking officer sends the file back, judging ``flagged`` incomplete."""
    check = Task.open_for(application)
    operations.decide(check.id, User.by_email(SDMK_ADMIN), "incomplete", note=note,
                      verdicts={key: {"complete": False, "note": why}
                                for key, why in flagged.items()})
    return check, Task.open_for(application)


def _mail_to(smtp, address, event):
    return [smtp.text_of(m) for rcpts, m in smtp.messages
            if rcpts == [address] and m["X-Absah-Event"] == event]


def _links(body: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"<>]+", body))


def _correction_form(application, task, **files):
    data = {"task": str(task.id), "outcome": "submitted", **application.form_data}
    data.update({f"doc_{key}": (io.BytesIO(content), name)
                 for key, (name, content) in files.items()})
    return data


# -- the links ---------------------------------------------------------------------------------


def test_the_returned_email_links_to_the_tracking_page(app, demo, storage, smtp):
    application = _file(storage)
    _check, correction = _return(application, {"str": "STR sudah kedaluwarsa"})
    deliver()
    [body] = _mail_to(smtp, DEMO_APPLICANT, "application_returned")
    assert "STR sudah kedaluwarsa" in body
    assert _links(body) == {f"{BASE}/applications/{application.id}"}
    assert f"/tasks/{correction.id}" not in body


def test_every_mail_about_the_applicants_own_step_links_to_the_tracking_page(app, demo,
                                                                             storage, smtp):
    application, _path = walk("kso-lms", storage, until="pay")
    task = Task.open_for(application)
    assert task.assignee_id is not None and task.due_at is not None
    send_reminders(task.due_at + dt.timedelta(minutes=1))
    deliver()
    tracking = f"{BASE}/applications/{application.id}"
    for event in ("task_assigned", "sla_overdue"):
        bodies = _mail_to(smtp, DEMO_APPLICANT, event)
        assert bodies, event
        assert all(_links(body) == {tracking} for body in bodies), event
    # Officials keep their task page.
    official = [smtp.text_of(m) for rcpts, m in smtp.messages
                if rcpts != [DEMO_APPLICANT] and m["X-Absah-Event"] == "task_assigned"]
    assert official and all(f"{BASE}/tasks/" in body for body in official)


# -- the task page is for officials ------------------------------------------------------------


def test_an_applicant_at_their_task_is_sent_to_the_tracking_page(app, demo, storage):
    application = _file(storage)
    check = Task.open_for(application)
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    tracking = f"/applications/{application.id}"
    # An official's task of their own file: the tracking page too, no decision panel.
    answer = applicant.get(f"/tasks/{check.id}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(tracking)
    _check, correction = _return(application, {"str": "STR sudah kedaluwarsa"})
    answer = applicant.get(f"/tasks/{correction.id}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(tracking)
    # Posting the officials' form decides nothing.
    posted = applicant.post(f"/tasks/{correction.id}/decide", {"outcome": "submitted"})
    assert posted.status_code == 303 and posted.headers["Location"].endswith(tracking)
    assert Task.get_by_id(correction.id).status == "open"
    page = text(applicant.get(tracking))
    assert "STR sudah kedaluwarsa" in page and "Berkas belum lengkap" in page
    assert "Catatan / alasan" not in page and "Kotak masuk" not in page
    # With htmx, the browser is told to go there.
    hx = applicant.get(f"/tasks/{correction.id}", headers={"HX-Request": "true"})
    assert hx.headers["HX-Redirect"].endswith(tracking)


def test_officials_keep_the_task_page_and_its_way_back_to_the_inbox(app, demo, storage):
    application = _file(storage)
    check = Task.open_for(application)
    official = Browser(app)
    official.login(SDMK_ADMIN, PASSWORD)
    page = official.get(f"/tasks/{check.id}")
    assert page.status_code == 200
    assert "← Kotak masuk" in text(page) and "Catatan / alasan" in text(page)


def test_the_task_page_has_no_inbox_link_for_someone_without_a_position(app, demo, storage):
    """An agency administrator (no position) may read a task; no link to an empty inbox."""
    application = _file(storage)
    check = Task.open_for(application)
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", PASSWORD)
    page = admin.get(f"/tasks/{check.id}")
    assert page.status_code == 200
    assert "← Kotak masuk" not in text(page)


# -- a correction replaces what the return flagged ---------------------------------------------


def test_an_empty_correction_is_refused_naming_the_flagged_documents(app, demo, storage):
    application = _file(storage)
    _check, correction = _return(application, {"str": "STR sudah kedaluwarsa",
                                               "photo": "Foto buram"})
    spec = application.sop.spec
    labels = {d.key: d.label for d in spec.documents}
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    page = text(applicant.get(f"/applications/{application.id}"))
    assert 'name="doc_str"' in page and 'name="doc_photo"' in page

    empty = applicant.post(f"/applications/{application.id}/act",
                           _correction_form(application, correction),
                           content_type="multipart/form-data")
    assert empty.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', text(empty), re.S).group(0)
    for key in ("str", "photo"):
        assert f'href="#f-doc-{key}"' in summary
        assert f"{labels[key]} dikembalikan untuk perbaikan" in summary
    assert Task.get_by_id(correction.id).status == "open"

    # Replacing one of the two is not enough; the other is named.
    one = applicant.post(f"/applications/{application.id}/act",
                         _correction_form(application, correction,
                                          str=("str-baru.pdf", sample_pdf("STR baru"))),
                         content_type="multipart/form-data")
    assert one.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', text(one), re.S).group(0)
    assert labels["photo"] in summary and labels["str"] not in summary
    assert Task.get_by_id(correction.id).status == "open"
    assert Document.latest_for(application)["str"].version == 1  # nothing kept meanwhile

    photo = sample_uploads(spec, "submit", application.form_data)["photo"]
    both = applicant.post(f"/applications/{application.id}/act",
                          _correction_form(application, correction,
                                           str=("str-baru.pdf", sample_pdf("STR baru")),
                                           photo=(photo.filename, photo.data)),
                          content_type="multipart/form-data")
    assert both.status_code == 303, text(both)[:2000]
    latest = Document.latest_for(application)
    assert latest["str"].version == 2 and latest["photo"].version == 2
    application = Application.get_by_id(application.id)
    assert application.status == "in_progress" and application.current_step == "check"


def test_a_correction_of_the_form_only_passes_when_no_document_was_flagged(app, demo, storage):
    application = _file(storage)
    _check, correction = _return(application, {}, note="Alamat praktik kurang lengkap")
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    sent = applicant.post(f"/applications/{application.id}/act",
                          _correction_form(application, correction),
                          content_type="multipart/form-data")
    assert sent.status_code == 303, text(sent)[:2000]
    assert Application.get_by_id(application.id).current_step == "check"


def test_the_task_page_no_longer_sends_an_unchanged_file_back(app, demo, storage):
    """What the old task page allowed (no file, "Unggah berkas"): refused in the operation
    too, whoever calls it, and again on a second try."""
    application = _file(storage)
    _check, correction = _return(application, {"str": "STR sudah kedaluwarsa"})
    for _attempt in range(2):
        with pytest.raises(ValidationError) as caught:
            operations.decide(correction.id, application.applicant, "submitted",
                              storage=storage)
        assert set(caught.value.errors) == {"str"}
    operations.decide(correction.id, application.applicant, "submitted", storage=storage,
                      uploads={"str": Upload("str-baru.pdf", sample_pdf("STR baru"))})
    assert Task.get_by_id(correction.id).status == "done"


EXAMPLE = (Path(__file__).parent / "fixtures" / "sop" / "valid.yaml").read_text()
# The example with an optional document the checking step also judges.
OPTIONAL = EXAMPLE.replace(
    "  - {key: ktp, label: KTP, personal: true}\n",
    "  - {key: ktp, label: KTP, personal: true}\n"
    "  - {key: foto, label: Pas foto, required: false}\n").replace(
    "documents: [ktp, puskesmas_letter]", "documents: [ktp, foto, puskesmas_letter]")


@pytest.fixture
def contoh(app):
    agency = Agency.create(code="dinkes-contoh", name="Dinas Kesehatan Kabupaten Contoh")
    officials = {}
    for key, title in [("admin", "Petugas Pelayanan"), ("kasi", "Kepala Seksi"),
                       ("kadin", "Kepala Dinas")]:
        position = Position.create(agency=agency, key=key, title=title)
        user = User.create(email=f"{key}@contoh.test", name=f"{title} Contoh", agency=agency,
                           password_hash="x")
        Assignment.create(user=user, position=position)
        officials[key] = user
    assert "foto" in OPTIONAL
    sops_operations.import_sop(OPTIONAL, "valid.yaml")
    return officials


def test_a_flagged_optional_document_must_be_replaced_too(contoh, make_applicant, storage):
    applicant = make_applicant()
    form = {"full_name": "Budi", "nik": "3507010101900001", "practice_type": "facility"}
    application = operations.submit_application(
        applicant, "contoh-surat-keterangan", form,
        {"ktp": Upload("ktp.pdf", sample_pdf("KTP")), "foto": Upload("foto.pdf",
                                                                     sample_pdf("Foto"))},
        storage)
    check = Task.open_for(application)
    operations.decide(check.id, contoh["admin"], "incomplete", note="Foto buram",
                      verdicts={"ktp": {"complete": True, "note": ""},
                                "foto": {"complete": False, "note": "buram"}})
    correction = Task.open_for(application)
    with pytest.raises(ValidationError) as caught:  # only the form, re-posted unchanged
        operations.decide(correction.id, applicant, "submitted", form=dict(form),
                          uploads={}, storage=storage)
    assert set(caught.value.errors) == {"foto"}
    assert "Pas foto" in str(caught.value.errors["foto"])
    operations.decide(correction.id, applicant, "submitted", form=dict(form),
                      uploads={"foto": Upload("foto2.pdf", sample_pdf("Foto jelas"))},
                      storage=storage)
    assert Document.latest_for(application)["foto"].version == 2



def test_a_flagged_document_of_another_step_is_asked_for_and_must_be_replaced():
    """The rule holds whichever step first asked for the document (kso-lms: the transfer
    receipt is uploaded at the payment step)."""
    from portal.modules.applications.documents import correction_documents, upload_problems
    from portal.modules.sops.spec import load_sop_file

    spec = load_sop_file(Path(__file__).parent.parent / "portal" / "modules" / "sops" / "seeds"
                         / "kso-lms.yaml")
    submit = spec.application_steps[0]
    form = sample_form(spec, dt.date.today())
    flagged = frozenset({"bukti_transfer"})
    assert "bukti_transfer" in {d.key for d in correction_documents(spec, submit.key, form,
                                                                    flagged)}
    existing = {key: object() for key in ("surat_permohonan", "kak", "bukti_transfer")}
    problems = upload_problems(spec, submit, form, {}, existing, flagged)
    assert set(problems) == {"bukti_transfer"}
    assert "dikembalikan untuk perbaikan" in str(problems["bukti_transfer"])
    receipt = Upload("bukti.pdf", sample_pdf("Bukti transfer"))
    assert upload_problems(spec, submit, form, {"bukti_transfer": receipt}, existing,
                           flagged) == {}
