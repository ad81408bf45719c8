"""`flask feedback invite`: invite the applicants of recently completed files to the survey
(`sla remind` does it too, from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

feedback_cli = AppGroup("feedback", help="Survey and complaints.")


@feedback_cli.command("invite")
def feedback_invite():
    """Queue the survey invitation of each file completed in the last 30 days, once."""
    from portal.mail.transport import deliver
    from portal.modules.feedback.notify import invite_completed

    click.echo(f"survey invitations: {invite_completed()}")
    deliver()
