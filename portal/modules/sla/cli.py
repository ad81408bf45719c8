"""`flask sla remind`: queue and send near-due and overdue reminders."""

from __future__ import annotations

import click
from flask.cli import AppGroup

sla_cli = AppGroup("sla", help="Standard times (SLA).")


@sla_cli.command("remind")
def sla_remind():
    """Queue near-due and overdue reminders (each at most once), then deliver them."""
    from portal.mail.transport import deliver
    from portal.modules.sla.reminders import send_reminders

    report = send_reminders()
    click.echo(f"reminders: {report.near_due} near due, {report.overdue} overdue")
    deliver()

