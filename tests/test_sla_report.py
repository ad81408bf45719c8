"""The SLA report on a history whose answers are known: ten files of a small SOP whose step
times the test chooses (working minutes on Dinkes Bangka's calendar, WIB), one returned to
the applicant for a day, one whose approval spans an agency day off, one approval decided by
an acting (Plh) official, and one file left overdue at its check. The page, the CSV, the
command line and the public figures all read the same numbers (report.sla_report)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from webclient import Browser

from portal.core.model import utcnow
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import _holder
from portal.modules.sla import report as sla
from portal.modules.sla import timings
from portal.modules.sla.models import TaskTiming
from portal.modules.sops.operations import import_sop

WIB = ZoneInfo("Asia/Jakarta")
CODE = "uji-sla"
SOP = f"""
format: absah-sop/1
code: {CODE}
version: 1
agency: dinkes-bangka
title: Layanan Uji Waktu
header:
  number: 000/UJI/2026
  name: Layanan Uji Waktu
  total_time: 10 hours
actors:
  applicant: {{title: Pemohon, kind: applicant}}
  sdmk_admin: {{title: Admin SDMK, kind: position}}
  kasi_sdmk: {{title: Kasi SDMK, kind: position}}
fields:
  - {{key: full_name, label: Nama lengkap}}
documents: []
steps:
  - key: submit
    title: Pemohon mengajukan
    actor: applicant
    action: submit
    time: 0 working days
    outcomes:
      - {{key: submitted, label: Kirim, effect: forward}}
  - key: check
    title: Admin memeriksa
    actor: sdmk_admin
    action: check
    time: 2 hours
    outcomes:
      - {{key: complete, label: Lengkap, effect: forward}}
      - {{key: incomplete, label: Kembalikan, effect: return, to: submit}}
  - key: approve
    title: Kasi menyetujui
    actor: kasi_sdmk
    action: approve
    time: 1 working day
    outcomes:
      - {{key: approved, label: Setujui, effect: forward}}
      - {{key: rejected, label: Tolak, effect: reject}}
"""
# Minutes each file spends at the check (agency time) and at the approval.
CHECK = [10, 20, 30, 40, 50, 60, 70, 80, 90, 200]
APPROVE = [30] * 9 + [410]
PERIOD = sla.Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def wib(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=WIB).astimezone(dt.UTC)


def _submit(applicant, at):
    return operations.submit_application(applicant, CODE, {"full_name": "Uji"}, {}, None,
                                         now=at)


def _decide(application, user, outcome, at):
    task = Task.open_for(application)
    return operations.decide(task.id, user, outcome, note="kurang" if outcome == "incomplete"
                             else "", now=at)


@pytest.fixture
def history(demo, make_applicant):
    """The ten files (and one overdue) of February 2026; returns who decided what."""
    import_sop(SOP, "uji-sla.yaml")
    bangka = Agency.get(Agency.code == "dinkes-bangka")
    # Thursday 5 February is a day off of the agency: the approval of the tenth file spans it.
    DayOff.create(agency=bangka, day=dt.date(2026, 2, 5), name="Libur uji")
    admin, kasi = _holder(bangka, "sdmk_admin"), _holder(bangka, "kasi_sdmk")
    acting = User.create(email="plh.kasi@uji.test", name="Plh Kasi Uji", password_hash="!",
                         agency=bangka)
    today = bangka.today()
    Assignment.create(user=acting, position=Position.get((Position.agency == bangka)
                                                         & (Position.key == "kasi_sdmk")),
                      capacity="plh", starts_on=today - dt.timedelta(days=1),
                      ends_on=today + dt.timedelta(days=1))
    applicant = make_applicant()
    for i in range(9):  # Monday 2 February, from 08:00
        start = wib(2, 8)
        application = _submit(applicant, start)
        if i == 2:  # returned after 15 minutes, with the applicant a working day, 15 more
            _decide(application, admin, "incomplete", start + dt.timedelta(minutes=15))
            _decide(application, applicant, "submitted", wib(3, 8, 15))
            checked = wib(3, 8, 30)
        else:
            checked = start + dt.timedelta(minutes=CHECK[i])
        _decide(application, admin, "complete", checked)
        _decide(application, acting if i == 4 else kasi, "approved",
                checked + dt.timedelta(minutes=APPROVE[i]))
    # Wednesday 08:00; checked 11:20; approved Friday 09:40 (Thursday off): 280 + 130 minutes.
    application = _submit(applicant, wib(4, 8))
    _decide(application, admin, "complete", wib(4, 11, 20))
    _decide(application, kasi, "approved", wib(6, 9, 40))
    overdue = _submit(applicant, wib(9, 8))  # never checked: overdue now
    return {"admin": admin, "kasi": kasi, "acting": acting, "agency": bangka,
            "overdue": overdue}


def _sop(report):
    return next(s for s in report.sops if s.code == CODE)


def _step(report, key):
    return next(s for s in _sop(report).steps if s.key == key)


def test_step_figures_are_exact_on_a_known_history(history):
    report = sla.sla_report(history["agency"], PERIOD, CODE)
    check, approve = _step(report, "check"), _step(report, "approve")
    assert check.files == 10
    assert check.median == 55.0  # (50 + 60) / 2
    assert check.p90 == 90.0  # the 9th of 10 (nearest rank)
    assert check.on_time == pytest.approx(0.9)  # the 200-minute check passed its 2 hours
    assert check.returns == 1
    assert check.with_applicant == 510.0  # Mon 08:15-16:00 and Tue 07:30-08:15
    assert check.standard_minutes == 120
    assert check.open_now == 1 and check.overdue_now == 1
    assert approve.files == 10 and approve.returns == 0
    assert approve.median == 30.0 and approve.p90 == 30.0
    assert approve.on_time == 1.0  # Friday 09:40 is before Friday 11:20, its due time


def test_time_with_the_applicant_is_not_the_agencys(history):
    """The returned file: 15 + 15 minutes of checking, not the working day between."""
    timings.measure_new()
    rows = {(r.step_key, r.applicant): r.minutes for r in TaskTiming.select()
            .where(TaskTiming.returned_from.is_null(False))}
    assert rows == {("submit", True): 510.0}
    report = sla.sla_report(history["agency"], PERIOD, CODE)
    sop = _sop(report)
    assert sop.files == 10
    # Totals per file: check + approve = 40, 50, 60 (30 + 30, not 540), ..., 120, 610.
    assert sop.median == 85.0 and sop.p90 == 120.0
    assert sop.total_standard_minutes == 600
    assert sop.on_time == pytest.approx(0.9)  # the 610-minute file passed its 10 hours
    assert sop.with_applicant == 0.0  # the median file spent no time with the applicant


def test_a_day_off_inside_a_step_is_not_counted(history):
    timings.measure_new()
    tenth = (TaskTiming.select().where(TaskTiming.step_key == "approve")
             .order_by(TaskTiming.minutes.desc()).first())
    assert tenth.minutes == 410.0  # 280 on Wednesday, none on Thursday, 130 on Friday
    assert tenth.on_time is True


def test_an_acting_officials_decision_counts_for_the_person_who_decided(history):
    report = sla.sla_report(history["agency"], PERIOD, CODE)
    people = {o.name: o for o in report.officials}
    assert people["Plh Kasi Uji"].decided == 1 and people["Plh Kasi Uji"].median == 30.0
    kasi = people[history["kasi"].name]
    assert kasi.decided == 9
    admin = people[history["admin"].name]
    assert admin.decided == 11  # ten checks and the return
    assert admin.overdue_now >= 1  # the overdue check waits in the position they hold


def test_the_period_filter_leaves_out_what_was_decided_outside_it(history):
    report = sla.sla_report(history["agency"], sla.Period(dt.date(2026, 2, 4),
                                                          dt.date(2026, 2, 28)), CODE)
    check = _step(report, "check")
    assert check.files == 1 and check.median == 200.0
    assert _sop(report).files == 1  # only the tenth file completed in this period


def test_measuring_twice_adds_nothing(history):
    timings.measure_new()
    count = TaskTiming.select().count()
    assert timings.measure_new() == 0
    assert TaskTiming.select().count() == count
    assert count == Task.select().where(Task.status == "done").count()


def test_weekly_trend_counts_the_agencys_timed_tasks(history):
    report = sla.sla_report(history["agency"], PERIOD, CODE)
    assert [w.starts for w in report.weeks] == [dt.date(2026, 2, 2)]
    week = report.weeks[0]
    assert week.tasks == 21  # 11 checks and 10 approvals
    assert week.on_time == pytest.approx(20 / 21)


def test_public_figures_show_the_median_only_from_five_files(history):
    figures = sla.public_figures([CODE], now=wib(10, 8))
    assert len(figures) == 1
    shown = figures[0]
    assert shown.enough and shown.completed == 10
    assert shown.median == 85.0 and shown.on_time == pytest.approx(0.9)
    # Thirty days after 3 February only the tenth file (completed on the 6th) is left.
    few = sla.public_figures([CODE], now=dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC))[0]
    assert few.completed == 1 and not few.enough
    assert few.median is None and few.on_time is None


def _login(app, email, password="demo-test-password"):
    browser = Browser(app)
    browser.login(email, password)
    return browser


def test_report_page_for_the_agency_administrator_with_charts(history, app):
    client = _login(app, "admin@dinkes-bangka.absah.test")
    page = client.get(f"/admin/sla?since=2026-02-01&until=2026-02-28&sop={CODE}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Layanan Uji Waktu" in html and "<svg" in html and "<script" not in html.split(
        "<main", 1)[1]
    assert "55 menit" in html  # the check's median
    assert "Plh Kasi Uji" in html
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert len(svg) < 4000


def test_report_csv_and_cli_give_the_same_figures(history, app, runner):
    client = _login(app, "admin@dinkes-bangka.absah.test")
    response = client.get(f"/admin/sla.csv?since=2026-02-01&until=2026-02-28&sop={CODE}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    check = next(r for r in rows if r["level"] == "step" and r["step"] == "check")
    assert (check["files"], check["median_minutes"], check["p90_minutes"],
            check["on_time_share"], check["returns"]) == ("10", "55", "90", "0.9", "1")
    result = runner.invoke(args=["sla", "report", "--sop", CODE, "--since", "2026-02-01",
                                 "--until", "2026-02-28", "--csv"])
    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(io.StringIO(result.output))) == rows
    assert AuditEvent.select().where(AuditEvent.action == "sla.report_exported").count() == 1
    text = runner.invoke(args=["sla", "report", "--sop", CODE, "--since", "2026-02-01",
                               "--until", "2026-02-28"])
    assert text.exit_code == 0 and "check: 10 files, median 55 minutes, p90 1 hour 30 " \
        "minutes" in text.output


def test_a_name_a_spreadsheet_would_run_as_a_formula_stays_text_in_the_csv(history):
    User.update(name="=HYPERLINK(\"http://x.test\")").where(
        User.id == history["kasi"].id).execute()
    report = sla.sla_report(history["agency"], sla.Period(dt.date(2026, 2, 1),
                                                          dt.date(2026, 2, 28)), CODE)
    rows = list(csv.DictReader(io.StringIO(sla.report_csv(report))))
    names = [r["name"] for r in rows if r["level"] == "official"]
    assert "'=HYPERLINK(\"http://x.test\")" in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)


def test_report_refuses_a_bad_period_with_a_message(history, app, runner):
    client = _login(app, "admin@dinkes-bangka.absah.test")
    page = client.get("/admin/sla?since=kemarin&until=2026-02-28")
    assert page.status_code == 422
    assert "Tanggal tidak valid" in page.get_data(as_text=True)
    backwards = client.get("/admin/sla?since=2026-03-01&until=2026-02-01")
    assert backwards.status_code == 422
    result = runner.invoke(args=["sla", "report", "--since", "nanti"])
    assert result.exit_code != 0 and "--since" in result.output


@pytest.mark.parametrize("query", ["since=9999-12-31&until=9999-12-31",
                                   "since=0001-01-01&until=0001-01-01",
                                   "since=0001-01-01&until=9999-12-31"])
def test_a_period_beyond_any_calendar_is_refused_not_a_500(history, app, runner, query):
    client = _login(app, "admin@dinkes-bangka.absah.test")
    page = client.get(f"/admin/sla?{query}")
    assert page.status_code == 422 and "Tanggal harus antara" in page.get_data(as_text=True)
    assert client.get(f"/admin/sla.csv?{query}").status_code == 422
    since, until = (part.split("=")[1] for part in query.split("&"))
    result = runner.invoke(args=["sla", "report", "--since", since, "--until", until])
    assert result.exit_code != 0 and "2099-12-31" in result.output


def test_who_may_read_the_report(history, app, make_applicant):
    client = _login(app, make_applicant().email, "x" * 12)
    assert client.get("/admin/sla").status_code == 403
    assert client.get("/admin/sla.csv").status_code == 403
    client = _login(app, history["kasi"].email)
    assert client.get("/admin/sla").status_code == 403  # not the head
    Agency.update(supervisor_position="kasi_sdmk").where(
        Agency.id == history["agency"].id).execute()
    assert client.get("/admin/sla").status_code == 200  # now the supervisor position


def test_statistik_page_is_public_and_says_when_there_are_too_few_files(history, client):
    page = client.get("/statistik")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Layanan Uji Waktu" in html
    assert "Belum cukup berkas selesai" in html  # nothing completed in the last 30 days
    assert history["admin"].email not in html and "Uji 1" not in html
    service = client.get(f"/services/{CODE}").get_data(as_text=True)
    assert "Kinerja layanan" in service and "Kurang dari 5 berkas" in service


def test_percentiles_and_labels():
    assert sla.median([]) is None and sla.p90([]) is None
    assert sla.median([3, 1, 2]) == 2 and sla.p90(list(range(1, 11))) == 9
    assert sla.p90([5]) == 5
    assert sla.time_label(75, 516) == "1 jam 15 menit"
    assert sla.time_label(774, 516, "en") == "1.5 working days"
    assert sla.percent_label(0.9) == "90%" and sla.percent_label(None) == "–"


def test_now_is_used_for_overdue(history):
    later = sla.sla_report(history["agency"], PERIOD, CODE, now=utcnow())
    before = sla.sla_report(history["agency"], PERIOD, CODE, now=wib(9, 8, 1))
    assert _step(later, "check").overdue_now == 1
    assert _step(before, "check").overdue_now == 0


def test_a_fresh_process_measures_without_the_specs_parsed(history, monkeypatch):
    """A new worker has parsed no SOP yet: measuring reads each version's source."""
    from portal.modules.sops import registry

    monkeypatch.setattr(registry, "_BY_HASH", {})
    registry._parse.cache_clear()
    assert timings.measure_new() == Task.select().where(Task.status == "done").count()


def test_public_pages_measure_a_bounded_batch(history, monkeypatch):
    """A public page measures one batch at most; the report then measures the rest."""
    monkeypatch.setattr(timings, "BATCH", 10)
    assert timings.measure_new(batches=1) == 10
    sla.public_figures([CODE], now=wib(10, 8))
    assert TaskTiming.select().count() == 20
    timings.measure_new()
    assert TaskTiming.select().count() == Task.select().where(Task.status == "done").count()
