"""Every SLA figure, computed in one place: the report of an agency over a period (per SOP
and step, per official, per whole file, complaints, survey index, weekly trend) and the
public figures of a service. The page, the CSV, the command line and the tests call these
functions; templates only show what they return.

Durations are working time on the agency's calendar (office minutes; steps timed in days
or months count the calendar), measured once per decided task (``timings``). Time a file
spends with the applicant (a correction after a return, the applicant's own steps) is
reported apart and never counted against the agency. A decision counts for the person who
decided, whatever capacity (Plh/Plt) they held.

Percentiles: the median is the middle value (the mean of the two middle ones for an even
count); the 90th percentile is the nearest rank, the ceil(0.9 n)-th smallest value."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from peewee import Case, fn

from portal.calendar.duration import Duration, Unit, minutes_label
from portal.core.errors import ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import Assignment, User
from portal.modules.agencies.models import Agency
from portal.modules.feedback import complaints as complaint_rules
from portal.modules.feedback import survey
from portal.modules.feedback.models import Complaint
from portal.modules.sla import queries, timings
from portal.modules.sops.models import SopVersion

__all__ = ["MIN_PUBLIC_FILES", "Period", "PublicFigures", "SlaReport", "default_period",
           "export_csv", "median", "p90", "parse_period", "percent_label", "public_figures",
           "report_csv", "sla_report", "sop_codes", "standard_minutes", "time_label"]

DEFAULT_DAYS = 90
PUBLIC_DAYS = 30
SURVEY_PUBLIC_DAYS = 365
MIN_PUBLIC_FILES = 5  # fewer completed files: no public figure (one file is one person)
# The dates a period may name: wide enough for any history, narrow enough that the period's
# bounds in the agency's zone stay inside what dates and times can hold.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)


def median(values: list[float]) -> float | None:
    """The middle value (the mean of the two middle ones); None for no values."""
    return float(statistics.median(values)) if values else None


def p90(values: list[float]) -> float | None:
    """The 90th percentile by nearest rank: the ceil(0.9 n)-th smallest; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1])


def share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def day_minutes(calendar) -> float:
    """The agency's mean office day in minutes (a working day of its week)."""
    spans = [(c.hour * 60 + c.minute) - (o.hour * 60 + o.minute)
             for o, c in calendar.hours.values()]
    return sum(spans) / len(spans)


def standard_minutes(duration: Duration | None, calendar) -> float | None:
    """A standard time in the minutes the report measures: office minutes for minutes,
    hours and working days (a working day is the agency's mean office day), calendar
    minutes for days and months (a month as 30 days)."""
    if duration is None or duration.amount == 0:
        return None
    unit = Unit(duration.unit)
    if unit is Unit.WORKING_DAYS:
        return duration.amount * day_minutes(calendar)
    if unit is Unit.MONTHS:
        return duration.amount * 30 * 24 * 60
    return float(duration.nominal_minutes)


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    since: dt.date
    until: dt.date

    def bounds(self, calendar) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC: from the first day's midnight to the day after the last."""
        zone = calendar.tzinfo()
        start = dt.datetime.combine(self.since, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(0),
                                  tzinfo=zone).astimezone(dt.UTC)
        return start, end


def default_period(today: dt.date) -> Period:
    """The last 90 days, today included."""
    return Period(today - dt.timedelta(days=DEFAULT_DAYS - 1), today)


def parse_period(since: str | None, until: str | None, today: dt.date) -> Period:
    """The period of a form or the command line (YYYY-MM-DD; empty: the default);
    ValidationError naming the field otherwise."""
    default = default_period(today)
    errors, days = {}, {}
    for name, text, fallback in (("since", since, default.since),
                                 ("until", until, default.until)):
        text = (text or "").strip()
        try:
            days[name] = dt.date.fromisoformat(text) if text else fallback
        except ValueError:
            errors[name] = _l("Tanggal tidak valid (format TTTT-BB-HH).")
            continue
        if not EARLIEST_DAY <= days[name] <= LATEST_DAY:
            errors[name] = _l("Tanggal harus antara %(first)s dan %(last)s.",
                              first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat())
    if not errors and days["since"] > days["until"]:
        errors["since"] = _l("Tanggal awal harus sebelum tanggal akhir.")
    if errors:
        raise ValidationError(errors)
    return Period(days["since"], days["until"])


@dataclass
class StepFigures:
    key: str
    ref: str
    heading: str
    standard: Duration | None
    standard_minutes: float | None
    applicant: bool  # the applicant's own step: not the agency's time
    files: int = 0
    median: float | None = None
    p90: float | None = None
    on_time: float | None = None  # share of files within the standard
    open_now: int = 0
    overdue_now: int = 0
    returns: int = 0
    with_applicant: float | None = None  # median time with the applicant after a return


@dataclass
class SopFigures:
    code: str
    title: str
    total_standard: str  # as the SOP states it
    total_standard_minutes: float | None
    steps: list[StepFigures] = field(default_factory=list)
    files: int = 0  # completed in the period
    median: float | None = None  # whole file, the agency's time
    p90: float | None = None
    on_time: float | None = None
    with_applicant: float | None = None  # median per file
    open_now: int = 0
    overdue_now: int = 0
    survey: survey.SurveyIndex | None = None


@dataclass(frozen=True)
class OfficialFigures:
    name: str
    decided: int
    median: float | None
    overdue_now: int


@dataclass(frozen=True)
class ComplaintFigures:
    standard: str
    filed: int
    answered: int
    median: float | None
    p90: float | None
    on_time: float | None
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class Week:
    starts: dt.date
    tasks: int
    on_time: float | None


@dataclass(frozen=True)
class SlaReport:
    agency: Agency
    period: Period
    sops: list[SopFigures]
    officials: list[OfficialFigures]
    complaints: ComplaintFigures
    weeks: list[Week]
    day_minutes: float
    comments: list[str]


def sop_codes(agency: Agency) -> list[str]:
    """The codes of the agency's SOPs (every version, active or not), sorted."""
    return sorted({code for code, in SopVersion.select(SopVersion.code)
                   .where(SopVersion.agency == agency).tuples()})


def _specs(agency: Agency, sop_code: str | None) -> dict[str, object]:
    """The current spec of each SOP of the agency (the newest version, active or not)."""
    query = (SopVersion.select(SopVersion.id, SopVersion.code, SopVersion.sha256,
                               SopVersion.version)
             .where(SopVersion.agency == agency).order_by(SopVersion.code, SopVersion.version))
    if sop_code:
        query = query.where(SopVersion.code == sop_code)
    return {v.code: SopVersion.spec_of(v.id, v.sha256) for v in query}


def sla_report(agency: Agency, period: Period, sop_code: str | None = None,
               now: dt.datetime | None = None, language: str = "id") -> SlaReport:
    """Every figure of the agency's report over the period (``sop_code``: one SOP; the
    standard times worded in ``language``)."""
    now = now or utcnow()
    timings.measure_new()
    calendar = agency.calendar()
    start, end = period.bounds(calendar)
    specs = _specs(agency, sop_code)
    sops = {code: _sop_figures(code, spec, calendar, language)
            for code, spec in specs.items()}

    code = sop_code or ""
    times = queries.step_times(agency.id, start, end, code)
    counts = queries.step_counts(agency.id, start, end, code)
    after_return = queries.with_applicant(agency.id, start, end, code)
    for figures in sops.values():
        for step in figures.steps:
            key = (figures.code, step.key)
            step.files, step.median, step.p90 = times.get(key, (0, None, None))
            timed, ok, step.returns = counts.get(key, (0, 0, 0))
            step.on_time = share(ok, timed)
            step.with_applicant = after_return.get(key, (0, None, None))[1]
    weeks: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    offset = calendar.local(now).utcoffset()
    for day, n, ok in queries.week_days(agency.id, start, end, code, offset):
        tally = weeks[day - dt.timedelta(days=day.weekday())]
        tally[0] += n
        tally[1] += ok
    _whole_files(agency, sops, start, end, code)
    open_rows = queries.open_tasks(agency.id, now)
    _open_now(sops, open_rows)
    for surveyed, index in survey.index_of(agency.id, sop_code, start, end).items():
        if surveyed in sops:
            sops[surveyed].survey = index
    return SlaReport(
        agency=agency, period=period, sops=[sops[c] for c in sorted(sops)],
        officials=_officials(agency, queries.officials(agency.id, start, end, code),
                             open_rows),
        complaints=complaint_figures(agency, start, end, now, sop_code, language),
        weeks=[Week(day, n, share(ok, n)) for day, (n, ok) in sorted(weeks.items())],
        day_minutes=day_minutes(calendar),
        comments=survey_comments(agency.id, sop_code, start, end))


def _sop_figures(code: str, spec, calendar, language: str = "id") -> SopFigures:
    total = spec.header.total_time
    total_minutes = (standard_minutes(total, calendar) if total is not None else
                     sum(standard_minutes(s.time, calendar) or 0
                         for s in spec.application_steps) or None)
    figures = SopFigures(code, spec.title, spec.total_label(language), total_minutes)
    for step in spec.application_steps:
        actor = spec.actor(step.actor)
        figures.steps.append(StepFigures(step.key, step.ref, step.heading, step.time,
                                         standard_minutes(step.time, calendar),
                                         actor.kind.value == "applicant"))
    return figures


def _whole_files(agency, sops, start, end, sop_code: str) -> None:
    """The agency's total per file completed in the period (its steps, not the applicant's
    time), against the SOP's total standard time; and the time with the applicant."""
    totals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for code, agency_minutes, applicant_minutes in queries.file_totals(
            [agency.id], start, end, sop_code):
        totals[code].append((agency_minutes, applicant_minutes))
    for code, pairs in totals.items():
        figures = sops.get(code)
        if figures is None:
            continue
        values = [a for a, _b in pairs]
        figures.files = len(values)
        figures.median, figures.p90 = median(values), p90(values)
        if figures.total_standard_minutes:
            figures.on_time = share(sum(v <= figures.total_standard_minutes for v in values),
                                    len(values))
        figures.with_applicant = median([b for _a, b in pairs])


def _open_now(sops, open_rows) -> None:
    for code, step_key, applicant, _position, count, late in open_rows:
        figures = sops.get(code)
        if figures is None:
            continue
        for step in figures.steps:
            if step.key == step_key:
                step.open_now += count
                step.overdue_now += late
        if not applicant:
            figures.open_now += count
            figures.overdue_now += late


def _officials(agency, decided: dict[tuple, tuple], open_rows) -> list[OfficialFigures]:
    """Per official: tasks decided in the period (in any capacity), their median time, and
    the overdue tasks now open in the positions they hold today."""
    late_by_position: dict[int, int] = defaultdict(int)
    for _code, _step, _applicant, position_id, _count, late in open_rows:
        if position_id is not None and late:
            late_by_position[position_id] += late
    overdue: dict[int, int] = defaultdict(int)
    if late_by_position:
        today = agency.today()
        day = Assignment.starts_on.db_value(today)
        holders = (Assignment.select(Assignment.user, Assignment.position)
                   .where(Assignment.position.in_(list(late_by_position))
                          & (Assignment.starts_on.is_null() | (Assignment.starts_on <= day))
                          & (Assignment.ends_on.is_null() | (Assignment.ends_on >= day))))
        for user_id, position_id in holders.tuples():
            overdue[user_id] += late_by_position[position_id]
    people = {uid for uid, in decided} | set(overdue)
    names = dict(User.select(User.id, User.name).where(User.id.in_(list(people))).tuples()) \
        if people else {}
    found = []
    for uid in people:
        count, middle, _p90 = decided.get((uid,), (0, None, None))
        found.append(OfficialFigures(names.get(uid, "?"), count, middle, overdue.get(uid, 0)))
    return sorted(found, key=lambda o: (-o.overdue_now, -o.decided, o.name))


def complaint_figures(agency, start, end, now, sop_code=None,
                      language: str = "id") -> ComplaintFigures:
    """Complaints filed in [start, end): answered, answer time in working minutes, within
    their standard time; open and overdue now."""
    calendar = agency.calendar()
    query = Complaint.select(Complaint.filed_at, Complaint.answered_at, Complaint.due_at) \
        .where((Complaint.agency == agency) & (Complaint.filed_at >= start)
               & (Complaint.filed_at < end))
    if sop_code:
        query = query.where(Complaint.sop_code == sop_code)
    filed, answered, timed, on_time = 0, [], 0, 0
    for complaint in query:
        filed += 1
        if complaint.answered_at is not None:
            answered.append(calendar.office_minutes_between(complaint.filed_at,
                                                            complaint.answered_at))
            if complaint.due_at is not None:
                timed += 1
                on_time += complaint.answered_at <= complaint.due_at
    open_query = Complaint.select(fn.COUNT(Complaint.id),
                                  fn.SUM(Case(None, ((Complaint.due_at < now, 1),), 0))) \
        .where((Complaint.agency == agency) & (Complaint.status == "open"))
    if sop_code:
        open_query = open_query.where(Complaint.sop_code == sop_code)
    open_now, overdue_now = open_query.tuples().get()
    # One service's report states its SOP's own complaint time when the SOP gives one.
    version = SopVersion.current(sop_code) if sop_code else None
    spec = version.spec if version is not None and version.agency_id == agency.id else None
    standard = complaint_rules.standard_time(agency, spec=spec)
    return ComplaintFigures(standard.label(language), filed,
                            len(answered), median(answered), p90(answered),
                            share(on_time, timed), open_now or 0, int(overdue_now or 0))


def survey_comments(agency_id: int, sop_code: str | None, start, end,
                    limit: int = 20) -> list[str]:
    """The newest comments of the period, without anything that tells who wrote them."""
    return survey.comments(agency_id, sop_code, start, end, limit)


# -- public figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicFigures:
    """What the public sees of a service: the published standard time, and, from the files
    completed in the last 30 days, how many, the median achieved (the agency's time) and
    the share within the standard; ``enough`` is False below 5 files (no figure then)."""

    code: str
    title: str
    agency: str
    standard: str
    completed: int
    median: float | None
    on_time: float | None
    enough: bool
    day_minutes: float
    survey: survey.SurveyIndex | None

    @property
    def minimum(self) -> int:
        """The fewest completed files (and survey responses) that show a figure."""
        return MIN_PUBLIC_FILES


def public_figures(sop_codes: Iterable[str] | None = None, now: dt.datetime | None = None,
                   language: str = "id") -> list[PublicFigures]:
    """The public figures of active services (``sop_codes``: only these), by title; the
    standard times worded in ``language``."""
    now = now or utcnow()
    timings.measure_new(batches=1)  # bounded: `sla remind` (cron) and the report do the rest
    versions = [v for v in SopVersion.catalogue()
                if sop_codes is None or v.code in set(sop_codes)]
    if not versions:
        return []
    since = now - dt.timedelta(days=PUBLIC_DAYS)
    totals: dict[str, list[float]] = defaultdict(list)
    agencies = sorted({v.agency_id for v in versions})
    for code, minutes, _applicant in queries.file_totals(agencies, since, now):
        totals[code].append(minutes)
    indexes = survey.index_of(since=now - dt.timedelta(days=SURVEY_PUBLIC_DAYS), until=now)
    found = []
    for version in versions:
        spec = version.spec
        calendar = Agency.calendar_of(version.agency_id)
        values = totals.get(version.code, [])
        enough = len(values) >= MIN_PUBLIC_FILES
        limit = _sop_figures(version.code, spec, calendar).total_standard_minutes
        index = indexes.get(version.code)
        found.append(PublicFigures(
            version.code, spec.title, version.agency.name, spec.total_label(language), len(values),
            median(values) if enough else None,
            share(sum(v <= limit for v in values), len(values)) if enough and limit else None,
            enough, day_minutes(calendar),
            index if index is not None and index.responses >= MIN_PUBLIC_FILES else None))
    return sorted(found, key=lambda f: (f.title, f.code))


# -- words -----------------------------------------------------------------------------------


def time_label(minutes: float | None, per_day: float, language: str = "id") -> str:
    """A measured time as people read it: '2 jam 5 menit' under a working day, else
    working days with one decimal ('1,5 hari kerja' / '1.5 working days'); '–' for none."""
    if minutes is None:
        return "–"
    if minutes < per_day:
        return minutes_label(round(minutes), language)
    days = f"{minutes / per_day:.1f}"
    if language != "en":
        days = days.replace(".", ",")
    return f"{days} {'working days' if language == 'en' else 'hari kerja'}"


def percent_label(value: float | None) -> str:
    """'83%' for 0.833; '–' for none."""
    return "–" if value is None else f"{value * 100:.0f}%"


CSV_COLUMNS = ("level", "sop", "step", "name", "files", "median_minutes", "p90_minutes",
               "standard_minutes", "on_time_share", "open_now", "overdue_now", "returns",
               "with_applicant_median_minutes", "survey_index", "survey_responses")


def export_csv(user, report: SlaReport) -> str:
    """The report as CSV for someone who downloads it (the export is audited: it names
    officials)."""
    from portal.core.db import db
    from portal.modules.audit import trail as audit

    with db.atomic():
        audit.record(user, "sla.report_exported", report.agency,
                     since=report.period.since.isoformat(),
                     until=report.period.until.isoformat(),
                     sops=[s.code for s in report.sops])
    return report_csv(report)


def report_csv(report: SlaReport) -> str:
    """The report as CSV (one header; minutes of working time, shares 0-1): a row per
    step, per whole file of each SOP, per official, and one for complaints."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def num(value):
        return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")

    def text(value) -> str:
        # Names typed by administrators (titles, officials): a spreadsheet would run one
        # starting with = + - @ as a formula, so it is kept text with a leading quote.
        value = str(value)
        return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    for sop in report.sops:
        for step in sop.steps:
            writer.writerow(("step", sop.code, step.key, text(step.heading), step.files,
                             num(step.median), num(step.p90), num(step.standard_minutes),
                             num(step.on_time), step.open_now, step.overdue_now,
                             step.returns, num(step.with_applicant), "", ""))
        index = sop.survey
        writer.writerow(("file", sop.code, "", text(sop.title), sop.files, num(sop.median),
                         num(sop.p90), num(sop.total_standard_minutes), num(sop.on_time),
                         sop.open_now, sop.overdue_now, sum(s.returns for s in sop.steps),
                         num(sop.with_applicant), index.index if index else "",
                         index.responses if index else ""))
    for person in report.officials:
        writer.writerow(("official", "", "", text(person.name), person.decided,
                         num(person.median),
                         "", "", "", "", person.overdue_now, "", "", "", ""))
    c = report.complaints
    writer.writerow(("complaints", "", "", c.standard, c.filed, num(c.median), num(c.p90), "",
                     num(c.on_time), c.open_now, c.overdue_now, "", "", "", ""))
    return out.getvalue()
