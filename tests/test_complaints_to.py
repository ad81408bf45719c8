"""An SOP may name who answers complaints about its service and how soon (the header's
``complaints_to``): the loader checks it (an official position of the SOP, a readable time
in either language) with line and reason, and a complaint filed on the portal goes to that
position first, due on the agency's working-day calendar by the SOP's time, before the
agency's setting and its administrators."""

from __future__ import annotations

import datetime as dt

import pytest
from test_sla_report import CODE, SOP, WIB, wib
from webclient import Browser

from portal.calendar.duration import Duration, Unit
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.demo.data import _holder
from portal.modules.feedback import complaints
from portal.modules.feedback.models import Complaint
from portal.modules.sla import report as sla
from portal.modules.sops.models import SopVersion
from portal.modules.sops.operations import import_sop
from portal.modules.sops.spec import ComplaintsTo, SopError, load_sop

DEMO_PASSWORD = "demo-test-password"
ADMIN = "admin@dinkes-bangka.absah.test"
FORM = {"name": "Warga Pengadu", "email": "warga@contoh.test",
        "body": "Berkas saya belum diproses sejak dua minggu lalu."}
TOTAL = "  total_time: 10 hours"
# The line of the first header line added after the total (the SOP text starts with "\n").
LINE = SOP.splitlines().index(TOTAL) + 2


def _with(header: str, sop: str = SOP) -> str:
    return sop.replace(TOTAL, f"{TOTAL}\n{header}")


def _issues(source: str) -> list[str]:
    with pytest.raises(SopError) as caught:
        load_sop(source, "sop.yaml")
    return [issue.format("sop.yaml") for issue in caught.value.issues]


# -- the loader ------------------------------------------------------------------------------

def test_complaints_to_names_a_position_and_its_time_in_either_language():
    spec = load_sop(_with("  complaints_to: {actor: kasi_sdmk, time: 2 hari kerja}"))
    assert spec.header.complaints_to == ComplaintsTo("kasi_sdmk",
                                                     Duration(2, Unit.WORKING_DAYS))
    english = load_sop(_with("  complaints_to:\n    actor: sdmk_admin\n    time: 8 hours"))
    assert english.header.complaints_to == ComplaintsTo("sdmk_admin", Duration(8, Unit.HOURS))
    untimed = load_sop(_with("  complaints_to: {actor: kasi_sdmk}"))
    assert untimed.header.complaints_to == ComplaintsTo("kasi_sdmk", None)
    assert load_sop(SOP).header.complaints_to is None
    assert spec.to_data()["header"]["complaints_to"] == {
        "actor": "kasi_sdmk", "time": {"amount": 2, "unit": "working_days"}}


def test_an_undefined_actor_is_refused_naming_the_positions():
    assert _issues(_with("  complaints_to: {actor: kabid, time: 2 hari kerja}")) == [
        f"sop.yaml:{LINE}: header.complaints_to.actor: undefined actor 'kabid' "
        "(positions of this SOP: sdmk_admin, kasi_sdmk)"]


def test_the_applicant_or_an_outside_party_cannot_answer_complaints():
    assert _issues(_with("  complaints_to: {actor: applicant}")) == [
        f"sop.yaml:{LINE}: header.complaints_to.actor: 'applicant' is the applicant: "
        "complaints go to an official position of this SOP (sdmk_admin, kasi_sdmk)"]
    with_outside = _with("  complaints_to:\n    actor: kolegium").replace(
        "  kasi_sdmk: {title: Kasi SDMK, kind: position}",
        "  kasi_sdmk: {title: Kasi SDMK, kind: position}\n"
        "  kolegium: {title: Kolegium, kind: external, recorded_by: kasi_sdmk}")
    assert _issues(with_outside) == [
        f"sop.yaml:{LINE + 1}: header.complaints_to.actor: 'kolegium' is an external party: "
        "complaints go to an official position of this SOP (sdmk_admin, kasi_sdmk)"]


@pytest.mark.parametrize("time, reason", [
    ("lima hari kerja", "cannot read 'lima hari kerja': write an amount and a unit"),
    ("5 pekan", "unknown unit 'pekan' in '5 pekan' (known: menit / minutes"),
    ("0 jam", "an answer takes time: give more than 0"),
    ("[5, hari]", "expected text like '15 minutes' or '2 hari kerja'"),
])
def test_an_unreadable_time_is_refused_with_line_and_reason(time, reason):
    issues = _issues(_with(f"  complaints_to:\n    actor: kasi_sdmk\n    time: {time}"))
    assert len(issues) == 1
    assert issues[0].startswith(f"sop.yaml:{LINE + 2}: header.complaints_to.time: {reason}")


def test_a_missing_actor_and_unknown_keys_are_named():
    assert sorted(_issues(_with("  complaints_to: {time: 1 jam, who: kasi_sdmk}"))) == [
        f"sop.yaml:{LINE}: header.complaints_to.actor: required key is missing",
        f"sop.yaml:{LINE}: header.complaints_to.who: unknown key 'who' "
        "(allowed here: actor, time)"]
    assert _issues(_with("  complaints_to: kasi_sdmk")) == [
        f"sop.yaml:{LINE}: header.complaints_to: expected a mapping of keys, got text"]


# -- through the portal ------------------------------------------------------------------------

@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


@pytest.fixture
def bangka(demo):
    import_sop(SOP, "uji-sla.yaml")
    import_sop(_with("  complaints_to: {actor: kasi_sdmk, time: 2 hari kerja}").replace(
        "version: 1", "version: 2"), "uji-sla.yaml")
    return Agency.get(Agency.code == "dinkes-bangka")


def test_a_complaint_reaches_the_position_the_sop_names_due_by_its_time(
        bangka, app, smtp, monkeypatch):
    admin = _holder(bangka, "sdmk_admin")
    kasi = _holder(bangka, "kasi_sdmk")
    # The agency's setting names another position and time: the SOP's own come first.
    complaints.update_setting(_agency_admin(), bangka, "sdmk_admin", "5 hari kerja")
    DayOff.create(agency=bangka, day=dt.date(2026, 2, 3), name="Libur uji")
    monkeypatch.setattr(complaints, "utcnow", lambda: wib(2, 10))  # Monday 10:00 WIB
    visitor = Browser(app)
    sent = visitor.post(f"/services/{CODE}/complaint", FORM)
    assert sent.status_code == 303
    complaint = Complaint.get()
    assert complaint.position.key == "kasi_sdmk"
    # Monday 10:00 + 2 working days, Tuesday off: Thursday 10:00 WIB (not 5 working days).
    due = dt.datetime(2026, 2, 5, 10, tzinfo=WIB).astimezone(dt.UTC)
    assert complaint.due_at == due
    received = smtp.received()
    assert ("complaint_received", kasi.email) in received
    assert ("complaint_received", admin.email) not in received
    to_kasi = next(m for rcpts, m in smtp.messages
                   if m["X-Absah-Event"] == "complaint_received" and rcpts[0] == kasi.email)
    assert bangka.calendar().format(due) in smtp.text_of(to_kasi)
    official = Browser(app)
    official.login(kasi.email, DEMO_PASSWORD)
    assert official.get(f"/complaints/{complaint.id}").status_code == 200
    other = Browser(app)
    other.login(admin.email, DEMO_PASSWORD)
    assert other.get(f"/complaints/{complaint.id}").status_code == 404
    period = sla.Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert sla.sla_report(bangka, period, CODE).complaints.standard == "2 hari kerja"
    assert sla.sla_report(bangka, period).complaints.standard == "5 hari kerja"


def test_without_its_own_time_the_agencys_applies_and_without_a_position_the_setting(
        bangka):
    spec = SopVersion.current(CODE).spec
    untimed = load_sop(_with("  complaints_to: {actor: kasi_sdmk}"))
    complaints.update_setting(_agency_admin(), bangka, "sdmk_admin", "3 jam")
    position, time = complaints.route(bangka, untimed)
    assert position.key == "kasi_sdmk" and time == Duration(3, Unit.HOURS)
    position, time = complaints.route(bangka, spec)
    assert position.key == "kasi_sdmk" and time == Duration(2, Unit.WORKING_DAYS)
    position, time = complaints.route(bangka, load_sop(SOP))
    assert position.key == "sdmk_admin" and time == Duration(3, Unit.HOURS)


def _agency_admin() -> User:
    return User.get(User.email == ADMIN)
