"""The agency administrator's pages: approvals, officials and positions, Plh/Plt, SOP
versions, days off and the outbox; each admin sees and changes their own agency only."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape
from pathlib import Path

import pytest

from portal.core.model import utcnow
from portal.mail.models import OutboxMessage
from portal.modules.accounts import approvals
from portal.modules.accounts.models import AccountApproval, Assignment, Position, User
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.audit.models import AuditEvent
from portal.modules.audit.trail import verify_chain
from portal.modules.sops.models import SopVersion
from portal.modules.sops.registry import SEEDS_DIR

PASSWORD = "demo-test-password"
BANGKA_ADMIN = "admin@dinkes-bangka.absah.test"
MALANG_ADMIN = "admin@dinkes-malang.absah.test"
SDMK_ADMIN = "sdmk.admin@dinkes-bangka.absah.test"  # activates accounts in rekom-nakes
KASI_SDMK = "kasi.sdmk@dinkes-bangka.absah.test"  # an official who does not
BROKEN = Path(__file__).parent / "fixtures" / "sop" / "broken" / "unknown_key.yaml"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return unescape(CSRF.search(page).group(1))


def login(client, email, password=PASSWORD):
    """Log in through the form, as a browser would; returns the session's CSRF token."""
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": _token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return _token(client)


def post(client, url, data=None, **kw):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={"csrf_token": _token(client), **(data or {})}, **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


def _bangka():
    return Agency.get(Agency.code == "dinkes-bangka")


def _today(agency) -> dt.date:
    return agency.calendar().local(utcnow()).date()


@pytest.fixture
def pending(demo, make_applicant):
    """An applicant waiting for Dinkes Bangka's approval of the account."""
    applicant = make_applicant(approved=False)
    return approvals.request_approval(applicant, _bangka())


# ---------------------------------------------------------------------------------------------
# Access


def test_overview_links_every_section_and_counts_the_waiting_accounts(client, pending):
    login(client, BANGKA_ADMIN)
    page = text(client.get("/admin/"))
    for url in ("/admin/approvals", "/admin/users", "/admin/acting", "/admin/sops",
                "/admin/days-off", "/admin/outbox"):
        assert f'href="{url}"' in page
    assert "Akun menunggu persetujuan: 1" in page
    assert "disimpan, tidak hilang" in page  # no SMTP server in the tests


def test_officials_who_are_not_admins_cannot_open_the_admin_pages(client, demo):
    login(client, KASI_SDMK)
    for url in ("/admin/", "/admin/users", "/admin/sops", "/admin/outbox", "/admin/approvals"):
        assert client.get(url).status_code == 403, url


def test_admin_pages_need_a_login(client, demo):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------------------------------------
# Account approvals


def test_admin_approves_a_pending_account(client, pending):
    login(client, BANGKA_ADMIN)
    page = client.get("/admin/approvals")
    assert page.status_code == 200 and pending.user.email in text(page)
    response = post(client, f"/admin/approvals/{pending.id}", {"decision": "approve"})
    assert response.status_code == 303
    assert AccountApproval.status_of(pending.user, _bangka()) == "approved"
    assert f'id="approval-{pending.id}"' not in text(client.get("/admin/approvals"))


def test_declining_without_a_reason_is_refused_next_to_the_field(client, pending):
    login(client, BANGKA_ADMIN)
    response = post(client, f"/admin/approvals/{pending.id}", {"decision": "decline"})
    assert response.status_code == 422
    assert "Sebutkan alasan penolakan." in text(response)
    assert f'id="e-reason-{pending.id}"' in text(response)
    assert AccountApproval.status_of(pending.user, _bangka()) == "pending"
    declined = post(client, f"/admin/approvals/{pending.id}",
                    {"decision": "decline", "reason": "Data KTP tidak terbaca"})
    assert declined.status_code == 303
    assert AccountApproval.get_by_id(pending.id).reason == "Data KTP tidak terbaca"


def test_deciding_twice_changes_nothing(client, pending):
    login(client, BANGKA_ADMIN)
    assert post(client, f"/admin/approvals/{pending.id}",
                {"decision": "approve"}).status_code == 303
    again = post(client, f"/admin/approvals/{pending.id}",
                 {"decision": "decline", "reason": "salah klik"})
    assert again.status_code == 409 and "sudah diputuskan" in text(again)
    assert AccountApproval.get_by_id(pending.id).status == "approved"


def test_seksi_sdmk_admin_approves_without_being_an_agency_admin(client, pending):
    assert not User.by_email(SDMK_ADMIN).is_agency_admin
    login(client, SDMK_ADMIN)
    assert pending.user.email in text(client.get("/admin/approvals"))
    response = post(client, f"/admin/approvals/{pending.id}", {"decision": "approve"})
    assert response.status_code == 303
    assert AccountApproval.status_of(pending.user, _bangka()) == "approved"
    assert client.get("/admin/users").status_code == 403  # approving only


def test_admin_of_another_agency_gets_404_for_the_approval(client, pending):
    login(client, MALANG_ADMIN)
    assert f'id="approval-{pending.id}"' not in text(client.get("/admin/approvals"))
    response = post(client, f"/admin/approvals/{pending.id}", {"decision": "approve"})
    assert response.status_code == 404
    assert AccountApproval.status_of(pending.user, _bangka()) == "pending"


def test_htmx_decision_answers_with_the_list_fragment(client, pending):
    login(client, BANGKA_ADMIN)
    response = post(client, f"/admin/approvals/{pending.id}", {"decision": "approve"},
                    headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<section id="approvals">') and "<html" not in body
    assert "disetujui" in body


# ---------------------------------------------------------------------------------------------
# Officials, positions, assignments


def test_admin_creates_an_official_a_position_and_assigns_it(app, client, demo):
    login(client, BANGKA_ADMIN)
    created = post(client, "/admin/users", {"email": " Rina.Petugas@Bangka.test ",
                                            "name": "Rina Petugas, S.KM",
                                            "nip": "19900101 201501 2 001",
                                            "password": "sandi-awal-123"})
    assert created.status_code == 303
    rina = User.by_email("rina.petugas@bangka.test")
    assert rina is not None and rina.agency.code == "dinkes-bangka" and not rina.is_agency_admin
    assert "sandi-awal-123" not in rina.password_hash

    position = post(client, "/admin/positions", {"key": "kasubag_umum",
                                                 "title": "Kasubag Umum"})
    assert position.status_code == 303
    kasubag = Position.get(Position.key == "kasubag_umum")
    assert kasubag.agency.code == "dinkes-bangka"

    assigned = post(client, "/admin/assignments", {"user": rina.id, "position": kasubag.id})
    assert assigned.status_code == 303
    agency = _bangka()
    assert (kasubag, "definitive") in Position.held_by(rina, _today(agency))
    page = text(client.get("/admin/users"))
    assert "Rina Petugas, S.KM" in page and "Kasubag Umum" in page

    other = app.test_client()  # the new official can log in with the initial password
    login(other, "rina.petugas@bangka.test", "sandi-awal-123")
    assert AuditEvent.select().where(AuditEvent.action == "assignment.created").count() == 1
    assert verify_chain().ok


def test_bad_official_input_is_422_and_keeps_what_was_typed(client, demo):
    login(client, BANGKA_ADMIN)
    response = post(client, "/admin/users", {"email": KASI_SDMK.upper(), "name": "Budi Baru",
                                             "password": "pendek"})
    assert response.status_code == 422
    body = text(response)
    assert "Alamat e-mail ini sudah terdaftar." not in body  # the short password comes first
    assert "Kata sandi minimal 10 karakter." in body and 'value="Budi Baru"' in body
    taken = post(client, "/admin/users", {"email": KASI_SDMK.upper(), "name": "Budi Baru",
                                          "password": "cukup-panjang-1"})
    assert taken.status_code == 422 and "Alamat e-mail ini sudah terdaftar." in text(taken)
    assert "cukup-panjang-1" not in text(taken)


def test_position_key_is_checked_and_unique_per_agency(client, demo):
    login(client, BANGKA_ADMIN)
    bad = post(client, "/admin/positions", {"key": "kasi sdmk!", "title": "Kasi"})
    assert bad.status_code == 422 and "garis bawah" in text(bad)
    taken = post(client, "/admin/positions", {"key": "kasi_sdmk", "title": "Kasi lagi"})
    assert taken.status_code == 422 and "sudah dipakai" in text(taken)
    # Another agency may use the same key for its own position.
    malang = post_as(client, MALANG_ADMIN, "/admin/positions",
                     {"key": "kasi_sdmk", "title": "Kasi SDMK Malang"})
    assert malang.status_code == 303


def post_as(client, email, url, data):
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, email)
    return post(client, url, data)


def test_ending_an_assignment_takes_the_position_away_today(client, demo):
    login(client, BANGKA_ADMIN)
    kasi = User.by_email(KASI_SDMK)
    assignment = Assignment.get(Assignment.user == kasi)
    response = post(client, f"/admin/assignments/{assignment.id}/end")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/users")
    assert Position.held_by(kasi, _today(_bangka())) == []
    again = post(client, f"/admin/assignments/{assignment.id}/end")
    assert again.status_code == 409


def test_admin_cannot_touch_another_agencys_assignment_or_user(client, demo):
    login(client, MALANG_ADMIN)
    assignment = Assignment.get(Assignment.user == User.by_email(KASI_SDMK))
    assert post(client, f"/admin/assignments/{assignment.id}/end").status_code == 404
    own = Position.get(Position.agency == Agency.get(Agency.code == "dinkes-malang"))
    foreign_user = post(client, "/admin/assignments",
                        {"user": User.by_email(KASI_SDMK).id, "position": own.id})
    assert foreign_user.status_code == 422 and "Pilih pejabat instansi ini." in text(foreign_user)
    assert KASI_SDMK not in text(client.get("/admin/users"))


# ---------------------------------------------------------------------------------------------
# Plh / Plt


def test_plh_with_dates_is_listed_and_holds_the_position_in_its_range(client, demo):
    login(client, BANGKA_ADMIN)
    agency = _bangka()
    today = _today(agency)
    sekretaris = User.by_email("sekretaris@dinkes-bangka.absah.test")
    kadin = Position.get((Position.agency == agency) & (Position.key == "kadin"))
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=5)
    response = post(client, "/admin/acting", {"user": sekretaris.id, "position": kadin.id,
                                              "capacity": "plh",
                                              "starts_on": start.isoformat(),
                                              "ends_on": end.isoformat()})
    assert response.status_code == 303
    page = text(client.get("/admin/acting"))
    assert "Plh. Kepala Dinas Kesehatan" in page and start.strftime("%d-%m-%Y") in page
    assert (kadin, "plh") in Position.held_by(sekretaris, start)
    assert (kadin, "plh") not in Position.held_by(sekretaris, today)
    assert (kadin, "plh") not in Position.held_by(sekretaris, end + dt.timedelta(days=1))

    acting = Assignment.get((Assignment.user == sekretaris) & (Assignment.capacity == "plh"))
    ended = post(client, f"/admin/assignments/{acting.id}/end")
    assert ended.status_code == 303 and ended.headers["Location"].endswith("/admin/acting")
    assert (kadin, "plh") not in Position.held_by(sekretaris, start)
    assert "Plh. Kepala Dinas Kesehatan" not in text(client.get("/admin/acting"))


def test_plh_with_a_backwards_range_or_no_dates_is_422(client, demo):
    login(client, BANGKA_ADMIN)
    agency = _bangka()
    today = _today(agency)
    user = User.by_email("sekretaris@dinkes-bangka.absah.test")
    kadin = Position.get((Position.agency == agency) & (Position.key == "kadin"))
    backwards = post(client, "/admin/acting", {
        "user": user.id, "position": kadin.id, "capacity": "plt",
        "starts_on": (today + dt.timedelta(days=3)).isoformat(),
        "ends_on": (today + dt.timedelta(days=1)).isoformat()})
    assert backwards.status_code == 422
    assert "Tanggal selesai tidak boleh sebelum tanggal mulai." in text(backwards)
    assert 'id="e-ends_on"' in text(backwards)
    missing = post(client, "/admin/acting", {"user": user.id, "position": kadin.id,
                                             "capacity": "plt"})
    assert missing.status_code == 422 and "Tanggal wajib diisi." in text(missing)
    assert not Assignment.select().where(Assignment.capacity.in_(("plh", "plt"))).exists()


# ---------------------------------------------------------------------------------------------
# SOP versions


def _upload(client, source: str, filename: str):
    return post(client, "/admin/sops",
                {"file": (io.BytesIO(source.encode("utf-8")), filename)},
                content_type="multipart/form-data")


def test_broken_sop_lists_each_issue_with_line_and_key(client, demo):
    login(client, BANGKA_ADMIN)
    response = _upload(client, BROKEN.read_text(), "unknown_key.yaml")
    assert response.status_code == 422
    body = text(response)
    assert "header.costs" in body and re.search(r"line \d+: <code>header\.costs</code>", body)
    assert SopVersion.select().where(SopVersion.code == "contoh-surat-keterangan").count() == 0


def test_new_sop_version_becomes_current_and_the_old_one_steps_aside(client, demo):
    login(client, BANGKA_ADMIN)
    source = (SEEDS_DIR / "rekom-nakes.yaml").read_text().replace("version: 1", "version: 2", 1)
    response = _upload(client, source, "rekom-nakes-v2.yaml")
    assert response.status_code == 303
    assert SopVersion.current("rekom-nakes").version == 2
    old = SopVersion.get((SopVersion.code == "rekom-nakes") & (SopVersion.version == 1))
    assert not old.active
    assert sum(1 for v in SopVersion.catalogue() if v.code == "rekom-nakes") == 1
    page = text(client.get("/admin/sops"))
    assert "rekom-nakes" in page and "melayani berkas baru" in page

    # Activating version 1 again makes it the one that serves new files.
    assert post(client, f"/admin/sops/{old.id}/activate").status_code == 303
    assert SopVersion.current("rekom-nakes").version == 1
    again = _upload(client, source.replace("SI-KOMPAK", "SI KOMPAK"), "rekom-nakes-v2b.yaml")
    assert again.status_code == 422 and "sudah ada dengan isi lain" in text(again)


def test_another_agencys_sop_is_refused(client, demo):
    login(client, BANGKA_ADMIN)
    source = (SEEDS_DIR / "sik-perekam-medis.yaml").read_text().replace(
        "version: 1", "version: 2", 1)
    response = _upload(client, source, "sik.yaml")
    assert response.status_code == 422 and "dpmptsp-malang" in text(response)
    assert SopVersion.current("sik-perekam-medis").version == 1


def test_sop_import_without_a_file_is_422(client, demo):
    login(client, BANGKA_ADMIN)
    response = post(client, "/admin/sops", {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Pilih berkas SOP" in text(response)


def test_deactivating_takes_the_service_off_the_catalogue(client, demo):
    login(client, BANGKA_ADMIN)
    version = SopVersion.current("rekom-nakes")
    assert post(client, f"/admin/sops/{version.id}/deactivate").status_code == 303
    assert SopVersion.current("rekom-nakes") is None
    other = SopVersion.current("sik-perekam-medis")
    assert post(client, f"/admin/sops/{other.id}/deactivate").status_code == 404


# ---------------------------------------------------------------------------------------------
# Days off


def _next_working_day(agency) -> dt.date:
    calendar = agency.calendar()
    day = _today(agency) + dt.timedelta(days=7)
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def test_day_off_closes_the_agency_that_day(client, demo):
    login(client, BANGKA_ADMIN)
    agency = _bangka()
    day = _next_working_day(agency)
    response = post(client, "/admin/days-off", {"day": day.isoformat(),
                                                "name": "Cuti bersama"})
    assert response.status_code == 303
    assert not Agency.get_by_id(agency.id).calendar().is_working_day(day)
    assert "Cuti bersama" in text(client.get("/admin/days-off"))
    twice = post(client, "/admin/days-off", {"day": day.isoformat(), "name": "Lagi"})
    assert twice.status_code == 422 and "sudah tercatat" in text(twice)

    day_off = DayOff.get(DayOff.agency == agency)
    assert post_as(client, MALANG_ADMIN, f"/admin/days-off/{day_off.id}/delete",
                   {}).status_code == 404
    assert post_as(client, BANGKA_ADMIN, f"/admin/days-off/{day_off.id}/delete",
                   {}).status_code == 303
    assert Agency.get_by_id(agency.id).calendar().is_working_day(day)


def test_day_off_needs_a_valid_date_and_a_name(client, demo):
    login(client, BANGKA_ADMIN)
    response = post(client, "/admin/days-off", {"day": "31-02-2026", "name": ""})
    assert response.status_code == 422
    assert "Tanggal tidak valid" in text(response) and "Keterangan wajib diisi" in text(response)


# ---------------------------------------------------------------------------------------------
# Outbox


def test_resend_puts_a_failed_message_back_in_the_queue(client, pending):
    message = OutboxMessage.get(OutboxMessage.event == "account_approval_requested")
    OutboxMessage.update(status="failed", attempts=8, last_error="SMTPServerDisconnected: x") \
        .where(OutboxMessage.id == message.id).execute()
    login(client, MALANG_ADMIN)
    assert post(client, f"/admin/outbox/{message.id}/resend").status_code == 404
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, BANGKA_ADMIN)
    assert message.to_address in text(client.get("/admin/outbox"))
    assert message.to_address not in text(client.get("/admin/outbox?status=sent"))
    fragment = text(client.get("/admin/outbox", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<table class="list" id="messages">')
    listed = client.get("/admin/outbox?status=failed")
    assert listed.status_code == 200
    page = text(listed)
    assert "SMTPServerDisconnected" in page and "Kirim ulang" in page
    assert "disimpan" in page  # no SMTP server configured: kept, not lost
    response = post(client, f"/admin/outbox/{message.id}/resend", {"status": "failed"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/outbox?status=failed")
    message = OutboxMessage.get_by_id(message.id)
    assert message.status == "pending" and message.attempts == 0
    assert AuditEvent.select().where(AuditEvent.action == "outbox.resend").count() == 1


def test_sent_messages_are_not_resent(client, pending):
    message = OutboxMessage.get(OutboxMessage.event == "account_approval_requested")
    OutboxMessage.update(status="sent").where(OutboxMessage.id == message.id).execute()
    login(client, BANGKA_ADMIN)
    assert post(client, f"/admin/outbox/{message.id}/resend").status_code == 409
    assert OutboxMessage.get_by_id(message.id).status == "sent"


# ---------------------------------------------------------------------------------------------
# CSRF


@pytest.mark.parametrize("url", [
    "/admin/approvals/{approval}", "/admin/users", "/admin/positions", "/admin/assignments",
    "/admin/assignments/{assignment}/end", "/admin/acting", "/admin/sops",
    "/admin/sops/{sop}/activate", "/admin/sops/{sop}/deactivate", "/admin/days-off",
    "/admin/days-off/{day_off}/delete", "/admin/outbox/{message}/resend",
])
def test_every_post_without_csrf_token_is_400(client, pending, url):
    login(client, BANGKA_ADMIN)
    agency = _bangka()
    day_off = DayOff.create(agency=agency, day=dt.date(2030, 1, 2), name="Uji")
    ids = {"approval": pending.id, "sop": SopVersion.current("rekom-nakes").id,
           "assignment": Assignment.get(Assignment.user == User.by_email(KASI_SDMK)).id,
           "day_off": day_off.id, "message": OutboxMessage.select().first().id}
    before = AuditEvent.select().count()
    response = client.post(url.format(**ids), data={"decision": "approve", "key": "x",
                                                    "title": "x"})
    assert response.status_code == 400
    assert AuditEvent.select().count() == before
