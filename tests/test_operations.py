"""Operations on one SOP (the documented example): submit, decide, return, resume, reject."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from webclient import verdicts
from werkzeug.security import generate_password_hash

from portal.core.db import db
from portal.core.errors import OperationError, PermissionDenied, ValidationError
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations as applications_operations
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Application, Decision, Document, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.audit.trail import verify_chain
from portal.modules.demo.data import sample_pdf
from portal.modules.sops import operations as sops_operations

EXAMPLE = (Path(__file__).parent / "fixtures" / "sop" / "valid.yaml").read_text()
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def contoh(app):
    """The example agency with one official per position, and the example SOP imported."""
    agency = Agency.create(code="dinkes-contoh", name="Dinas Kesehatan Kabupaten Contoh")
    officials = {}
    for key, title in [("admin", "Petugas Pelayanan"), ("kasi", "Kepala Seksi"),
                       ("kadin", "Kepala Dinas")]:
        position = Position.create(agency=agency, key=key, title=title)
        user = User.create(email=f"{key}@contoh.test", name=f"{title} Contoh", agency=agency,
                           password_hash=generate_password_hash("x", method="pbkdf2:sha256:1"))
        Assignment.create(user=user, position=position)
        officials[key] = user
    sops_operations.import_sop(EXAMPLE, "valid.yaml")
    return officials


def _form(practice="facility"):
    return {"full_name": "Budi", "nik": "3507010101900001", "practice_type": practice}


def _uploads(private=False):
    uploads = {"ktp": Upload("ktp.pdf", sample_pdf("KTP"))}
    if private:
        uploads["puskesmas_letter"] = Upload("surat.png", PNG)
    return uploads


def _submit(user, storage, **kw):
    return applications_operations.submit_application(user, "contoh-surat-keterangan", _form(),
                                                      _uploads(),
                                                      storage, **kw)


def test_submit_numbers_the_file_and_hands_it_to_the_checking_step(contoh, make_applicant,
                                                                   storage):
    applicant = make_applicant()
    application = _submit(applicant, storage)
    assert application.registration_number.startswith("DINKES-CONTOH/REG/")
    assert application.current_step == "check"
    task = Task.open_for(application)
    assert task.position.key == "admin" and task.due_at is not None
    assert [d.step_key for d in Decision.history(application)] == ["submit"]
    doc = Document.get(Document.application == application)
    assert doc.media_type == "application/pdf" and len(doc.sha256) == 64
    assert storage.read(doc.storage_key).startswith(b"%PDF-")


def test_invalid_form_and_missing_documents_are_all_reported(contoh, make_applicant, storage):
    with pytest.raises(ValidationError) as caught:
        applications_operations.submit_application(make_applicant(), "contoh-surat-keterangan",
                                                   {"nik": "123", "practice_type": "private"},
                                                   {"ktp": Upload("ktp.pdf", b"not a pdf")},
                                                   storage)
    errors = caught.value.errors
    assert set(errors) >= {"full_name", "nik"}
    assert Application.select().count() == 0


def test_conditional_document_is_required_only_when_its_condition_holds(contoh, make_applicant,
                                                                        storage):
    with pytest.raises(ValidationError) as caught:
        applications_operations.submit_application(make_applicant(), "contoh-surat-keterangan",
                                                   _form("private"), _uploads(), storage)
    assert set(caught.value.errors) == {"puskesmas_letter"}
    application = applications_operations.submit_application(
        make_applicant(), "contoh-surat-keterangan",
                                                _form("private"), _uploads(private=True),
                                                storage)
    assert {d.requirement for d in application.documents} == {"ktp", "puskesmas_letter"}


def test_a_resent_submission_creates_one_file(contoh, make_applicant, storage):
    applicant = make_applicant()
    first = _submit(applicant, storage, submission_key="k-1")
    second = _submit(applicant, storage, submission_key="k-1")
    assert first.id == second.id and Application.select().count() == 1


def test_unverified_or_unapproved_applicant_cannot_apply(contoh, make_applicant, storage):
    with pytest.raises(PermissionDenied):
        _submit(make_applicant(verified=False), storage)


def test_kasi_cannot_act_before_admin_checks(contoh, make_applicant, storage):
    application = _submit(make_applicant(), storage)
    task = Task.open_for(application)
    with pytest.raises(PermissionDenied):
        applications_operations.decide(task.id, contoh["kasi"], "complete")
    assert Task.open_for(application).id == task.id


def test_main_path_reaches_the_end(contoh, make_applicant, storage):
    application = _submit(make_applicant(), storage)
    for key, outcome in [("admin", "complete"), ("kasi", "approved"), ("kadin", "signed")]:
        task = Task.open_for(application)
        applications_operations.decide(task.id, contoh[key], outcome, verdicts=verdicts(task))
    application = Application.get_by_id(application.id)
    assert application.status == "completed" and application.closed_at is not None
    assert Task.open_for(application) is None
    assert [d.outcome for d in Decision.history(application)] == [
        "submitted", "complete", "approved", "signed"]
    assert verify_chain().ok


def test_return_goes_to_the_applicant_and_comes_back_with_a_new_version(contoh, make_applicant,
                                                                        storage):
    applicant = make_applicant()
    application = _submit(applicant, storage)
    check = Task.open_for(application)
    with pytest.raises(ValidationError):  # a return needs a reason
        applications_operations.decide(check.id, contoh["admin"], "incomplete")
    applications_operations.decide(check.id, contoh["admin"], "incomplete", note="KTP buram",
                                   verdicts={"ktp": {"complete": False, "note": "buram"}})
    application = Application.get_by_id(application.id)
    assert (application.status, application.current_step, application.resume_at) == (
        "returned", "submit", "check")
    correction = Task.open_for(application)
    assert correction.assignee_id == applicant.id and correction.kind == "correction"
    with pytest.raises(ValidationError) as caught:  # the failed KTP must be replaced
        applications_operations.decide(correction.id, applicant, "submitted", uploads={},
                                       storage=storage,
                                       form={})
    assert "ktp" in caught.value.errors
    applications_operations.decide(correction.id, applicant, "submitted", storage=storage,
                                   uploads={"ktp": Upload("ktp2.pdf", sample_pdf("KTP jelas"))})
    application = Application.get_by_id(application.id)
    assert (application.status, application.current_step) == ("in_progress", "check")
    versions = [d.version for d in Document.select().where(Document.requirement == "ktp")]
    assert sorted(versions) == [1, 2]


def test_the_clock_of_the_returning_step_resumes_instead_of_restarting(contoh, make_applicant,
                                                                       storage):
    monday_9 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 09:00 WIB
    application = applications_operations.submit_application(
        make_applicant(), "contoh-surat-keterangan", _form(), _uploads(), storage, now=monday_9)
    check = Task.open_for(application)
    assert check.due_at == dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)  # 4 office hours
    paused = monday_9 + dt.timedelta(hours=1)
    applications_operations.decide(check.id, contoh["admin"], "incomplete", note="kurang",
                                   now=paused)
    correction = Task.open_for(application)
    resumed = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # Tuesday 08:00 WIB
    applications_operations.decide(correction.id, application.applicant, "submitted",
                                   storage=storage, now=resumed)
    again = Task.open_for(application)
    # 3 office hours were left: Tuesday 08:00 + 3 h = 11:00 WIB = 04:00 UTC.
    assert again.due_at == dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)


def test_rejection_ends_the_case(contoh, make_applicant, storage):
    application = _submit(make_applicant(), storage)
    check = Task.open_for(application)
    applications_operations.decide(check.id, contoh["admin"], "complete", verdicts=verdicts(check))
    applications_operations.decide(Task.open_for(application).id, contoh["kasi"], "rejected",
                                   note="Tidak memenuhi syarat")
    application = Application.get_by_id(application.id)
    assert application.status == "rejected" and Task.open_for(application) is None


def test_a_second_decision_is_refused_naming_who_decided(contoh, make_applicant, storage):
    application = _submit(make_applicant(), storage)
    task = Task.open_for(application)
    applications_operations.decide(task.id, contoh["admin"], "complete", verdicts=verdicts(task))
    events = AuditEvent.select().count()
    with pytest.raises(applications_operations.AlreadyDecided) as caught:
        applications_operations.decide(task.id, contoh["admin"], "incomplete", note="x")
    assert "Petugas Pelayanan Contoh" in str(caught.value)
    assert AuditEvent.select().count() == events
    assert Decision.select().where(Decision.task == task).count() == 1


def test_acting_official_can_act_only_within_the_dates(contoh, make_applicant, storage):
    application = _submit(make_applicant(), storage)
    task = Task.open_for(application)
    stand_in = User.create(email="plh@contoh.test", name="Plh Petugas", password_hash="x")
    position = Position.get(Position.key == "admin")
    today = dt.date.today()
    Assignment.create(user=stand_in, position=position, capacity="plh",
                      starts_on=today + dt.timedelta(days=1), ends_on=today + dt.timedelta(days=3))
    with pytest.raises(PermissionDenied):
        applications_operations.decide(task.id, stand_in, "complete")
    Assignment.update(starts_on=today - dt.timedelta(days=1)).execute()
    decision = applications_operations.decide(task.id, stand_in, "complete",
                                              verdicts=verdicts(task))
    assert decision.capacity == "plh"


def test_two_concurrent_decisions_one_wins_the_other_is_told(app, contoh, make_applicant, storage,
                                                             monkeypatch):
    application = _submit(make_applicant(), storage)
    task_id = Task.open_for(application).id
    db.close()  # each thread opens its own connection
    winner_inside = threading.Event()
    original = applications_operations._apply

    def slow_apply(*args, **kwargs):
        # Hold the first transaction open after it took the task, so the other one must wait.
        winner_inside.set()
        time.sleep(0.4)
        return original(*args, **kwargs)

    monkeypatch.setattr(applications_operations, "_apply", slow_apply)
    results = {}

    def act(name, outcome, wait):
        if wait:
            winner_inside.wait(5)
        try:
            kwargs = ({"note": "kurang"} if outcome == "incomplete"
                      else {"verdicts": verdicts(Task.get_by_id(task_id))})
            with app.app_context():  # as each request of a server has its own
                results[name] = applications_operations.decide(task_id, contoh["admin"],
                                                               outcome, **kwargs)
        except OperationError as exc:
            results[name] = exc
        finally:
            db.close()

    first = threading.Thread(target=act, args=("first", "complete", False))
    second = threading.Thread(target=act, args=("second", "incomplete", True))
    first.start()
    second.start()
    first.join(20)
    second.join(20)
    assert isinstance(results["first"], Decision)
    assert isinstance(results["second"], applications_operations.AlreadyDecided)
    assert "sudah diputuskan oleh Petugas Pelayanan Contoh" in str(results["second"])
    assert Decision.select().where(Decision.task == task_id).count() == 1
    decided = [e for e in AuditEvent.select().where(AuditEvent.action.startswith("decision."))
               if e.data["step"] == "check"]
    assert len(decided) == 1
    assert verify_chain().ok


def test_audit_chain_detects_an_edited_event(contoh, make_applicant, storage, runner):
    _submit(make_applicant(), storage)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    event = AuditEvent.select().order_by(AuditEvent.seq).offset(3).first()
    AuditEvent.update(data={"tampered": True}).where(AuditEvent.id == event.id).execute()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {event.seq}" in result.output


def test_import_refuses_positions_that_are_not_set_up(app):
    Agency.create(code="dinkes-contoh", name="Contoh")
    with pytest.raises(OperationError, match="jabatan belum diatur"):
        sops_operations.import_sop(EXAMPLE, "valid.yaml")


def test_import_is_idempotent_and_versions_must_grow(contoh):
    again = sops_operations.import_sop(EXAMPLE, "valid.yaml")
    assert again.version == 1
    with pytest.raises(OperationError, match="sudah ada dengan isi lain"):
        sops_operations.import_sop(EXAMPLE.replace("Contoh\n", "Contoh Baru\n", 1), "valid.yaml")
