"""The SLA report for an agency's administrators and head (/admin/sla, its CSV) and the
public figures (/statistik, and the service page's block)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from flask_login import login_required

from portal.core.errors import ValidationError
from portal.core.web import current_account, current_locale, render
from portal.modules.accounts.models import Position
from portal.modules.agencies.models import Agency
from portal.modules.sla import charts
from portal.modules.sla import report as sla

bp = Blueprint("sla", __name__)


def reader_agency() -> Agency:
    """The agency whose report the user reads: its administrators, and whoever holds its
    supervisor position today (the head, acting heads included); 403 for anyone else."""
    user = current_account()
    if not user.agency_id:
        abort(403)
    agency = Agency.get_by_id(user.agency_id)
    if user.is_agency_admin:
        return agency
    if agency.supervisor_position and any(
            p.agency_id == agency.id and p.key == agency.supervisor_position
            for p, _capacity in Position.held_by(user, agency.today())):
        return agency
    abort(403)


def _report(agency: Agency):
    """(report, errors, values) for the request's filter; a bad filter keeps the default
    period and says what is wrong."""
    values = {k: request.args.get(k, "").strip() for k in ("since", "until", "sop")}
    today = agency.today()
    errors = {}
    try:
        period = sla.parse_period(values["since"], values["until"], today)
    except ValidationError as exc:
        errors, period = exc.errors, sla.default_period(today)
    codes = sla.sop_codes(agency)
    code = values["sop"] if values["sop"] in codes else None
    if values["sop"] and code is None:
        errors["sop"] = _("Layanan ini tidak ada di instansi Anda.")
    return sla.sla_report(agency, period, code, language=current_locale()), errors, values, codes


@bp.get("/admin/sla")
@login_required
def report_page():
    """Standard times kept: per SOP and step, per official, whole files, complaints."""
    agency = reader_agency()
    report, errors, values, codes = _report(agency)
    language = current_locale()
    step_charts = {s.code: charts.steps_chart(s.steps, _("Median tiap langkah dibanding waktu "
                                                          "standar: %(sop)s", sop=s.title))
                   for s in report.sops}
    trend = charts.trend_chart(report.weeks, _("Bagian tugas dalam waktu standar per minggu"))
    return render("admin/sla.html", status=422 if errors else 200, report=report,
                  errors=errors, values=values, codes=codes, step_charts=step_charts,
                  trend=trend, language=language)


@bp.get("/admin/sla.csv")
@login_required
def report_csv():
    """The same figures as CSV."""
    agency = reader_agency()
    report, errors, _values, _codes = _report(agency)
    if errors:
        return render("error.html", status=422, code=422,
                      message=" ".join(str(e) for e in errors.values()))
    name = f"sla-{agency.code}-{report.period.since}-{report.period.until}.csv"
    return Response(sla.export_csv(current_account(), report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@bp.get("/statistik")
def statistics():
    """Public figures of every service: no personal data, nothing below 5 files."""
    return render("statistik.html", figures=sla.public_figures(language=current_locale()),
                  minimum=sla.MIN_PUBLIC_FILES)


def service_figures(code: str):
    """The public figures of one service, for the service page's block (None: unknown)."""
    found = sla.public_figures([code], language=current_locale())
    return found[0] if found else None
