"""Complaints (pengaduan): filed by anyone with a contact address, routed to the position the
agency set (else its administrators), due on the working-day calendar, answered once by
e-mail, counted in the SLA report; seen only by those who answer and by the complainant
through their private link."""

from __future__ import annotations

import datetime as dt

import pytest
from test_sla_report import CODE, SOP, WIB, wib
from webclient import Browser

from portal.calendar.duration import Duration, Unit
from portal.core.errors import NotFound, OperationError, ValidationError
from portal.mail.transport import deliver
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import _holder
from portal.modules.feedback import complaints
from portal.modules.feedback.models import Complaint
from portal.modules.sla import report as sla
from portal.modules.sops.operations import import_sop

ADMIN = "admin@dinkes-bangka.absah.test"
DEMO_PASSWORD = "demo-test-password"
FORM = {"name": "Warga Pengadu", "email": "warga@contoh.test",
        "body": "Berkas saya belum diproses sejak dua minggu lalu."}


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


@pytest.fixture
def bangka(demo):
    import_sop(SOP, "uji-sla.yaml")
    return Agency.get(Agency.code == "dinkes-bangka")


def _admin(bangka):
    return User.get(User.email == ADMIN)


def test_a_complaint_is_due_on_the_working_day_calendar(bangka):
    complaints.update_setting(_admin(bangka), bangka, "kasi_sdmk", "2 hari kerja")
    DayOff.create(agency=bangka, day=dt.date(2026, 2, 3), name="Libur uji")
    complaint = complaints.file_complaint(None, CODE, FORM, now=wib(2, 10))
    # Monday 10:00 + 2 working days, Tuesday off: Thursday 10:00 WIB.
    assert complaint.due_at == dt.datetime(2026, 2, 5, 10, tzinfo=WIB).astimezone(dt.UTC)
    assert complaint.position.key == "kasi_sdmk"
    default = complaints.standard_time(Agency.get(Agency.code == "dinkes-malang"))
    assert default == Duration(5, Unit.WORKING_DAYS)


def test_filed_answered_emailed_and_counted(bangka, app, smtp):
    complaints.update_setting(_admin(bangka), bangka, "kasi_sdmk", "5 hari kerja")
    visitor = Browser(app)
    form = visitor.get(f"/services/{CODE}/complaint")
    assert form.status_code == 200
    sent = visitor.post(f"/services/{CODE}/complaint", FORM)
    assert sent.status_code == 303
    complaint = Complaint.get()
    assert sent.headers["Location"].endswith(f"/complaints/t/{complaint.token}")
    kasi = _holder(bangka, "kasi_sdmk")
    received = smtp.received()
    assert ("complaint_filed", "warga@contoh.test") in received
    assert ("complaint_received", kasi.email) in received
    to_kasi = next(m for _to, m in smtp.messages if m["X-Absah-Event"] == "complaint_received")
    assert FORM["body"] not in smtp.text_of(to_kasi)  # read on the portal, not by e-mail
    official = Browser(app)
    official.login(kasi.email, DEMO_PASSWORD)
    listing = official.get("/complaints").get_data(as_text=True)
    assert f"/complaints/{complaint.id}" in listing
    detail = official.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert FORM["body"] in detail and "warga@contoh.test" in detail
    empty = official.post(f"/complaints/{complaint.id}/answer", {"answer": " "})
    assert empty.status_code == 422 and "Jawaban wajib diisi" in empty.get_data(as_text=True)
    answered = official.post(f"/complaints/{complaint.id}/answer",
                             {"answer": "Berkas Anda sudah kami periksa hari ini."})
    assert answered.status_code == 303
    reply = next(m for to, m in smtp.messages if m["X-Absah-Event"] == "complaint_answered")
    assert reply["To"] == "warga@contoh.test"
    assert "Berkas Anda sudah kami periksa hari ini." in smtp.text_of(reply)
    status = visitor.get(f"/complaints/t/{complaint.token}").get_data(as_text=True)
    assert "Berkas Anda sudah kami periksa hari ini." in status and "dijawab" in status
    with pytest.raises(OperationError):
        complaints.answer_complaint(kasi, complaint.id, "Sekali lagi")
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.object_type ==
                                                            "complaint")]
    assert actions == ["complaint.filed", "complaint.viewed", "complaint.answered"]
    assert all(FORM["body"] not in str(e.data) for e in AuditEvent.select())
    report = sla.sla_report(bangka, sla.default_period(bangka.today()))
    figures = report.complaints
    assert (figures.filed, figures.answered, figures.open_now, figures.overdue_now) == \
        (1, 1, 0, 0)
    assert figures.on_time == 1.0 and figures.median is not None
    assert figures.standard == "5 hari kerja"


def test_open_and_overdue_complaints_are_counted(bangka):
    complaints.file_complaint(None, CODE, FORM, now=dt.datetime.now(dt.UTC)
                              - dt.timedelta(days=30))
    complaints.file_complaint(None, CODE, FORM)
    figures = sla.sla_report(bangka, sla.default_period(bangka.today())).complaints
    assert (figures.filed, figures.answered, figures.open_now, figures.overdue_now) == \
        (2, 0, 2, 1)


def test_who_sees_a_complaint(bangka, app, make_applicant):
    complaint = complaints.file_complaint(None, CODE, FORM)
    assert complaint.position is None  # no setting: the agency's administrators answer
    admin = Browser(app)
    admin.login(ADMIN, DEMO_PASSWORD)
    assert admin.get(f"/complaints/{complaint.id}").status_code == 200
    kasi = Browser(app)
    kasi.login(_holder(bangka, "kasi_sdmk").email, DEMO_PASSWORD)
    assert kasi.get(f"/complaints/{complaint.id}").status_code == 404
    assert f"/complaints/{complaint.id}" not in kasi.get("/complaints").get_data(as_text=True)
    other_admin = Browser(app)
    other_admin.login("admin@dpmptsp-malang.absah.test", DEMO_PASSWORD)
    assert other_admin.get(f"/complaints/{complaint.id}").status_code == 404
    assert other_admin.post(f"/complaints/{complaint.id}/answer",
                            {"answer": "bukan urusan saya"}).status_code == 404
    applicant = Browser(app)
    applicant.login(make_applicant().email, "x" * 12)
    assert applicant.get(f"/complaints/{complaint.id}").status_code == 404
    anonymous = Browser(app)
    assert anonymous.get(f"/complaints/{complaint.id}").status_code in (302, 303)
    assert anonymous.get("/complaints/t/not-the-token").status_code == 404
    private = anonymous.get(f"/complaints/t/{complaint.token}")
    assert private.status_code == 200 and private.headers["Cache-Control"] == "no-store"
    assert "warga@contoh.test" not in Browser(app).get("/statistik").get_data(as_text=True)
    assert Complaint.get_by_id(complaint.id).status == "open"


def test_an_applicants_own_file_is_linked_and_nobody_elses(bangka, app, make_applicant):
    from test_survey import _completed_file

    owner, stranger = make_applicant(), make_applicant()
    application = _completed_file(owner)
    number = application.registration_number
    own = complaints.file_complaint(owner, CODE, {**FORM, "registration_number": number})
    assert own.application_id == application.id and own.complainant_id == owner.id
    other = complaints.file_complaint(stranger, CODE, {**FORM, "registration_number": number})
    assert other.application_id is None and other.registration_number == number
    anonymous = complaints.file_complaint(None, CODE, {**FORM, "registration_number": number})
    assert anonymous.application_id is None and anonymous.complainant_id is None


def test_bad_input_is_refused_with_messages(bangka, app):
    visitor = Browser(app)
    refused = visitor.post(f"/services/{CODE}/complaint",
                           {"name": "", "email": "bukan-email", "body": "pendek"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Nama wajib diisi" in html and "Alamat e-mail tidak valid" in html
    assert "paling sedikit 10 karakter" in html
    assert visitor.get("/services/tidak-ada/complaint").status_code == 404
    assert Complaint.select().count() == 0
    with pytest.raises(NotFound):
        complaints.file_complaint(None, "tidak-ada", FORM)


def test_the_setting_page_for_administrators(bangka, app):
    admin = Browser(app)
    admin.login(ADMIN, DEMO_PASSWORD)
    assert admin.get("/admin/complaints").status_code == 200
    bad = admin.post("/admin/complaints", {"position_key": "tidak_ada",
                                           "standard_time": "segera"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Jabatan ini tidak ada di instansi" in html and "5 hari kerja" in html
    good = admin.post("/admin/complaints", {"position_key": "kasi_sdmk",
                                            "standard_time": "3 hari kerja"})
    assert good.status_code == 303
    assert complaints.standard_time(bangka) == Duration(3, Unit.WORKING_DAYS)
    assert AuditEvent.select().where(AuditEvent.action ==
                                     "complaint.settings_changed").count() == 1
    with pytest.raises(ValidationError):
        complaints.update_setting(_admin(bangka), bangka, "", "0 jam")
    kasi = Browser(app)
    kasi.login(_holder(bangka, "kasi_sdmk").email, DEMO_PASSWORD)
    assert kasi.get("/admin/complaints").status_code == 403


def test_the_sops_complaints_channels_are_text_and_the_setting_routes(bangka, client):
    """The SOP header's complaints key states channels for the public (shown on the service
    page); it names no position, so the agency's setting decides who answers."""
    from portal.modules.sops.models import SopVersion

    import_sop(SOP.replace("version: 1", "version: 2").replace(
        "  total_time: 10 hours",
        "  total_time: 10 hours\n  complaints: [Loket pengaduan lantai 1, kasi_sdmk]"),
        "uji-sla.yaml")
    spec = SopVersion.current(CODE).spec
    assert spec.header.complaints == ("Loket pengaduan lantai 1", "kasi_sdmk")
    assert "Loket pengaduan lantai 1" in client.get(f"/services/{CODE}").get_data(
        as_text=True)
    assert complaints.route(bangka, spec) == (None, Duration(5, Unit.WORKING_DAYS))
    complaints.update_setting(_admin(bangka), bangka, "sdmk_admin", "3 jam")
    position, time = complaints.route(bangka, spec)
    assert position.key == "sdmk_admin" and time == Duration(3, Unit.HOURS)


def test_delivered_mail_follows_the_complainants_language(bangka, smtp):
    complaints.file_complaint(None, CODE, FORM, language="en")
    deliver()
    message = next(m for _to, m in smtp.messages if m["X-Absah-Event"] == "complaint_filed")
    assert message["Subject"].startswith("Complaint received")
