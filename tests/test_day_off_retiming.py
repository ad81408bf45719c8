"""A day off added or removed by the agency re-times the open tasks it falls in (issue 12,
item 4), and a deadline at the end of a working day is written one way everywhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from webclient import Browser, text
from werkzeug.security import generate_password_hash

from portal.mail.transport import deliver
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies import operations as agencies_operations
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.applications import operations
from portal.modules.applications.documents import Upload
from portal.modules.applications.models import Task
from portal.modules.audit.models import AuditEvent
from portal.modules.audit.trail import verify_chain
from portal.modules.demo.data import sample_pdf
from portal.modules.sops import operations as sops_operations

PASSWORD = "retime-test-password"
EXAMPLE = (Path(__file__).parent / "fixtures" / "sop" / "valid.yaml").read_text()
# The example SOP with one working day at the check and, for private practices, a wait
# until a date the applicant gives (due at the end of that date, not on office time).
SOP = (EXAMPLE
       .replace("  - {key: nik, label: NIK, type: nik}\n",
                "  - {key: nik, label: NIK, type: nik}\n"
                "  - {key: visit_date, label: Tanggal kunjungan, type: date}\n")
       .replace("    time: 4 hours\n", "    time: 1 working day\n")
       .replace("  total_time: 1 working day ", "  total_time: 12 hours ")
       .replace("  - key: check\n",
                "  - key: visit\n"
                "    title: Petugas menunggu kunjungan lapangan\n"
                "    actor: admin\n"
                "    action: verify\n"
                "    time: null\n"
                "    note: Sesuai jadwal kunjungan.\n"
                "    when: {field: practice_type, equals: private}\n"
                "    until_field: visit_date\n"
                "    outcomes:\n"
                "      - {key: visited, label: Sudah dikunjungi, effect: forward}\n"
                "  - key: check\n", 1))


def wib(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """An instant of November 2026 in Jakarta time (UTC+7), as UTC."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC) - dt.timedelta(hours=7)


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_DEFAULT_SENDER": "Absah <no-reply@absah.test>"}


@pytest.fixture
def contoh(app):
    """The example agency (Jakarta time), its administrator, one official per position."""
    agency = Agency.create(code="dinkes-contoh", name="Dinas Kesehatan Kabupaten Contoh")
    password = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    people = {"admin_user": User.create(email="kepegawaian@contoh.test", name="Admin Contoh",
                                        agency=agency, is_agency_admin=True,
                                        password_hash=password)}
    for key, title in [("admin", "Petugas Pelayanan"), ("kasi", "Kepala Seksi"),
                       ("kadin", "Kepala Dinas")]:
        position = Position.create(agency=agency, key=key, title=title)
        user = User.create(email=f"{key}@contoh.test", name=f"{title} Contoh", agency=agency,
                           password_hash=password)
        Assignment.create(user=user, position=position)
        people[key] = user
    sops_operations.import_sop(SOP, "retime.yaml")
    return people


def _submit(applicant, storage, now, practice="facility", visit="2026-11-26"):
    form = {"full_name": "Budi", "nik": "3507010101900001", "practice_type": practice,
            "visit_date": visit}
    uploads = {"ktp": Upload("ktp.pdf", sample_pdf("KTP"))}
    if practice == "private":
        uploads["puskesmas_letter"] = Upload("surat.pdf", sample_pdf("Surat"))
    application = operations.submit_application(applicant, "contoh-surat-keterangan", form,
                                                uploads, storage, now=now)
    return Task.open_for(application)


def _due(task) -> dt.datetime:
    return Task.get_by_id(task.id).due_at


def _admin(app) -> Browser:
    browser = Browser(app)
    browser.login("kepegawaian@contoh.test", PASSWORD)
    return browser


def test_a_day_off_in_an_open_window_moves_it_a_working_day_and_back(app, contoh,
                                                                     make_applicant, storage):
    # Monday 23 Nov 09:00 WIB + 1 working day: due Tuesday 09:00.
    check = _submit(make_applicant(), storage, wib(23, 9))
    assert check.step_key == "check" and _due(check) == wib(24, 9)
    # A private practice waits at the visit until the end of the date it gave.
    visit = _submit(make_applicant(), storage, wib(23, 9), practice="private",
                    visit="2026-11-24")
    assert visit.step_key == "visit" and _due(visit) == wib(24, 23, 59)
    # Closed, or due before the day off: untouched.
    before = _submit(make_applicant(), storage, wib(20, 8))  # Fri 20 Nov -> Mon 23 08:00
    assert _due(before) == wib(23, 8)

    admin = _admin(app)
    added = admin.post("/admin/days-off", {"day": "2026-11-24", "name": "Cuti bersama"},
                       follow_redirects=True)
    assert added.status_code == 200
    assert "Batas waktu tugas terbuka yang dihitung ulang: 1." in text(added)
    assert _due(check) == wib(25, 9)  # a working day later
    assert _due(visit) == wib(24, 23, 59)  # the form's date stays the date
    assert _due(before) == wib(23, 8)
    event = AuditEvent.select().where(AuditEvent.action == "tasks.retimed").get()
    assert event.data["count"] == 1 and event.data["tasks"] == [check.id]
    assert event.data["cause"] == "day_off.added"

    day_off = DayOff.get(DayOff.day == dt.date(2026, 11, 24))
    removed = admin.post(f"/admin/days-off/{day_off.id}/delete", follow_redirects=True)
    assert "Batas waktu tugas terbuka yang dihitung ulang: 1." in text(removed)
    assert _due(check) == wib(24, 9)  # back where it was
    assert _due(visit) == wib(24, 23, 59)
    events = list(AuditEvent.select().where(AuditEvent.action == "tasks.retimed")
                  .order_by(AuditEvent.seq))
    assert [(e.data["count"], e.data["tasks"], e.data["cause"]) for e in events] == [
        (1, [check.id], "day_off.added"), (1, [check.id], "day_off.removed")]
    assert verify_chain().ok


def test_a_day_off_outside_every_window_retimes_nothing(app, contoh, make_applicant, storage):
    check = _submit(make_applicant(), storage, wib(23, 9))
    admin = _admin(app)
    added = admin.post("/admin/days-off", {"day": "2026-12-02", "name": "Libur daerah"},
                       follow_redirects=True)
    assert "Batas waktu tugas terbuka yang dihitung ulang: 0." in text(added)
    assert _due(check) == wib(24, 9)
    assert not AuditEvent.select().where(AuditEvent.action == "tasks.retimed").exists()


def test_the_operation_reports_the_tasks_it_retimed(app, contoh, make_applicant, storage):
    check = _submit(make_applicant(), storage, wib(23, 9))
    admin = contoh["admin_user"]
    change = agencies_operations.add_day_off(admin, "2026-11-24", "Cuti bersama")
    assert change.retimed == [check.id] and change.day_off.name == "Cuti bersama"
    assert agencies_operations.remove_day_off(admin, change.day_off.id).retimed == [check.id]
    assert _due(check) == wib(24, 9)


def test_a_resumed_clock_keeps_the_office_time_it_had_used(app, contoh, make_applicant,
                                                           storage):
    applicant = make_applicant()
    first = _submit(applicant, storage, wib(23, 9))
    # Returned after 2 office hours; corrected on Wednesday 09:00: 6.5 hours were left.
    operations.decide(first.id, contoh["admin"], "incomplete", note="KTP buram",
                      verdicts={"ktp": {"complete": False, "note": "buram"}}, now=wib(23, 11))
    correction = Task.open_for(first.application)
    assert correction.kind == "correction"
    operations.decide(correction.id, applicant, "submitted", form={},
                      uploads={"ktp": Upload("ktp.pdf", sample_pdf("KTP baru"))},
                      storage=storage, now=wib(25, 9))
    resumed = Task.open_for(first.application)
    assert resumed.step_key == "check" and _due(resumed) == wib(25, 15, 30)

    # Wednesday closed: the 6.5 hours run from Thursday 07:30 (not a fresh working day).
    change = agencies_operations.add_day_off(contoh["admin_user"], "2026-11-25", "Libur")
    assert change.retimed == [resumed.id]
    assert _due(resumed) == wib(26, 14)
    agencies_operations.remove_day_off(contoh["admin_user"], change.day_off.id)
    assert _due(resumed) == wib(25, 15, 30)


def test_an_end_of_day_deadline_reads_the_same_on_every_page_and_e_mail(app, contoh,
                                                                        make_applicant,
                                                                        storage, smtp):
    # Friday 27 Nov 17:00 WIB, after closing: one working day is all of Monday 30 Nov.
    applicant = make_applicant()
    applicant.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    applicant.save()
    task = _submit(applicant, storage, wib(27, 17))
    assert _due(task) == wib(30, 16)
    deadline = "30-11-2026 16:00 WIB"

    official = Browser(app)
    official.login(contoh["admin"].email, PASSWORD)
    assert deadline in text(official.get("/inbox"))
    assert deadline in text(official.get(f"/tasks/{task.id}"))
    tracking = Browser(app)
    tracking.login(applicant.email, PASSWORD)
    assert deadline in text(tracking.get(f"/applications/{task.application_id}"))

    assert deliver().failed == 0
    assigned = [m for _rcpts, m in smtp.messages if m["X-Absah-Event"] == "task_assigned"]
    assert assigned and all(deadline in smtp.text_of(m) for m in assigned)
    assert "01-12-2026 07:30" not in "".join(smtp.text_of(m) for _r, m in smtp.messages)


def test_new_office_hours_retime_the_open_tasks(app, contoh, make_applicant, storage):
    """Changing the agency's hours (or zone) in its settings moves running deadlines too."""
    check = _submit(make_applicant(), storage, wib(23, 9))
    assert _due(check) == wib(24, 9)
    agency = Agency.get(Agency.code == "dinkes-contoh")
    form = {"letterhead_1": agency.name, "timezone": agency.timezone,
            **{f"hours_{day}": hours for day, hours in
               agencies_operations.office_hours_text(agency).items()}}
    form["hours_tue"] = ""  # closed on Tuesdays from now on
    changed = agencies_operations.update_settings(contoh["admin_user"], form)
    assert "office_hours" in changed
    assert _due(check) == wib(25, 9)  # Tuesday no longer counts
    event = AuditEvent.select().where(AuditEvent.action == "tasks.retimed").get()
    assert event.data["cause"] == "settings.updated" and event.data["tasks"] == [check.id]
