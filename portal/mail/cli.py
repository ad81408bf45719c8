"""`flask outbox send`: deliver pending e-mails once, or keep running as a worker."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

outbox_cli = AppGroup("outbox", help="The e-mail outbox.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running as a worker.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between drains.")
def outbox_send(loop, interval):
    """Deliver pending e-mails (once, or as a worker with --loop)."""
    from portal.mail.models import OutboxMessage
    from portal.mail.transport import deliver

    while True:
        report = deliver()
        if report is None:
            kept = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
            click.echo(f"no SMTP server configured (PORTAL_MAIL_SERVER): {kept} message(s) "
                       "kept in the outbox", err=True)
            sys.exit(1)
        if report.sent or report.retried or report.failed or not loop:
            click.echo(f"sent {report.sent}, to retry {report.retried}, failed {report.failed}")
        if not loop:
            return
        time.sleep(interval)



def deliver_queued() -> str:
    """After a command queued e-mail: deliver it now, as after a web request (unless an
    `outbox send --loop` worker does that), and say in words where it is."""
    from portal.config import current_config
    from portal.mail.transport import deliver

    config = current_config()
    if not config.mail_server:
        return "kept in the outbox: no SMTP server configured (PORTAL_MAIL_SERVER)"
    if not config.outbox_deliver_after_request:
        return "queued in the outbox for the `outbox send` worker"
    report = deliver(limit=50)
    if report is None or report.retried or report.failed:
        return "queued in the outbox: the SMTP server did not take it yet (retried later)"
    return "sent"
