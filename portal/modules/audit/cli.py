"""`flask audit verify`: recompute the hash chain, report the first broken link."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.modules.audit.trail import verify_chain

audit_cli = AppGroup("audit", help="The hash-chained audit trail.")


@audit_cli.command("verify")
def audit_verify():
    """Walk the audit chain; report the first broken link (exit 1)."""
    report = verify_chain()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        return
    click.echo(f"audit chain BROKEN at event {report.broken_at}: {report.reason} "
               f"({report.events} events verified before it)", err=True)
    sys.exit(1)

