"""`flask sla remind`: queue and send near-due and overdue reminders (and the survey
invitations of completed files); `flask sla report`: the SLA report as text or CSV."""

from __future__ import annotations

import click
from flask.cli import AppGroup

sla_cli = AppGroup("sla", help="Standard times (SLA).")


@sla_cli.command("remind")
def sla_remind():
    """Queue near-due and overdue reminders (each at most once), then deliver them."""
    from portal.mail.transport import deliver
    from portal.modules.feedback.notify import invite_completed
    from portal.modules.sla.reminders import send_reminders
    from portal.modules.sla.timings import measure_new

    report = send_reminders()
    click.echo(f"reminders: {report.near_due} near due, {report.overdue} overdue")
    invited = invite_completed()
    if invited:
        click.echo(f"survey invitations: {invited}")
    measure_new()  # the report's pages then find little left to measure
    deliver()


@sla_cli.command("report")
@click.option("--agency", "agency_code", default="", help="Agency code (default: every "
              "agency, or the SOP's).")
@click.option("--sop", "sop_code", default="", help="Only this SOP.")
@click.option("--since", default="", help="First day, YYYY-MM-DD (default: 90 days ago).")
@click.option("--until", default="", help="Last day, YYYY-MM-DD (default: today).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of text.")
def sla_report(agency_code, sop_code, since, until, as_csv):
    """The SLA report: per SOP and step, per official, whole files, complaints, survey."""
    from portal.core.errors import ValidationError
    from portal.modules.agencies.models import Agency
    from portal.modules.sla import report as sla
    from portal.modules.sops.models import SopVersion

    agencies = list(Agency.select().order_by(Agency.code))
    if agency_code:
        agencies = [a for a in agencies if a.code == agency_code]
        if not agencies:
            raise click.ClickException(f"no agency {agency_code!r}")
    if sop_code:
        owners = {v.agency_id for v in SopVersion.select(SopVersion.agency)
                  .where(SopVersion.code == sop_code)}
        if not owners:
            raise click.ClickException(f"no SOP {sop_code!r}")
        agencies = [a for a in agencies if a.id in owners]
    first = True
    for agency in agencies:
        try:
            period = sla.parse_period(since, until, agency.today())
        except ValidationError as exc:
            raise click.ClickException("; ".join(f"--{k}: {v}" for k, v in
                                                 exc.errors.items())) from None
        if not sop_code and not sla.sop_codes(agency):
            continue
        report = sla.sla_report(agency, period, sop_code or None)
        if as_csv:
            text = sla.report_csv(report)
            click.echo(text if first else text.split("\n", 1)[1], nl=False)
        else:
            click.echo(_text(report))
        first = False


def _text(report) -> str:
    from portal.modules.sla.report import percent_label, time_label

    per_day = report.day_minutes

    def t(minutes):
        return time_label(minutes, per_day, "en")

    lines = [f"{report.agency.code}: {report.agency.name}, "
             f"{report.period.since} to {report.period.until}"]
    for sop in report.sops:
        lines.append(f"\n{sop.code}: {sop.title}")
        lines.append(f"  whole file: {sop.files} completed, median {t(sop.median)}, "
                     f"p90 {t(sop.p90)}, standard {sop.total_standard}, within "
                     f"{percent_label(sop.on_time)}, with the applicant (median) "
                     f"{t(sop.with_applicant)}, open {sop.open_now}, overdue {sop.overdue_now}")
        if sop.survey:
            lines.append(f"  survey: index {sop.survey.index} ({sop.survey.grade}), "
                         f"{sop.survey.responses} responses")
        for step in sop.steps:
            standard = step.standard.label("en") if step.standard else "-"
            lines.append(f"  {step.ref:>4} {step.key}: {step.files} files, median "
                         f"{t(step.median)}, p90 {t(step.p90)}, standard {standard}, within "
                         f"{percent_label(step.on_time)}, returns {step.returns}, open "
                         f"{step.open_now}, overdue {step.overdue_now}"
                         + (" (applicant)" if step.applicant else ""))
    if report.officials:
        lines.append("\nofficials:")
        for person in report.officials:
            lines.append(f"  {person.name}: {person.decided} decided, median "
                         f"{t(person.median)}, overdue now {person.overdue_now}")
    c = report.complaints
    lines.append(f"\ncomplaints: {c.filed} filed, {c.answered} answered, median {t(c.median)}, "
                 f"standard {c.standard}, within {percent_label(c.on_time)}, open {c.open_now},"
                 f" overdue {c.overdue_now}")
    return "\n".join(lines)


