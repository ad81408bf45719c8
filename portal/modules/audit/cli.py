"""`flask audit verify` and `flask audit seal`: check the keyed hash chain; link the
events written since the last seal into it."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.modules.audit.trail import seal, verify_chain

audit_cli = AppGroup("audit", help="The hash-chained audit trail.")


@audit_cli.command("verify")
@click.option("--no-seal", is_flag=True,
              help="Only read: do not seal the committed events first.")
def audit_verify(no_seal):
    """Seal what is committed, then check every event, checkpoint and the keyed head;
    report the first problem (exit 1 when the trail was tampered with)."""
    if not no_seal:
        sealed = seal(wait=True)
        if sealed.refused:
            click.echo(f"not sealing: {sealed.refused}", err=True)
    report = verify_chain()
    pending = (f", {report.pending} pending (written, not sealed yet)" if report.pending
               else "")
    if report.pending_broken is not None:
        click.echo(f"audit trail TAMPERED: {report.reason} ({report.events} sealed events "
                   "intact)", err=True)
        sys.exit(1)
    if report.broken_at is not None:
        click.echo(f"audit chain BROKEN at event {report.broken_at} (tampered): "
                   f"{report.reason} ({report.events} events verified before it)", err=True)
        sys.exit(1)
    if not report.keyed:
        click.echo(f"audit chain intact but not keyed: {report.events} events{pending}; run "
                   "`flask audit seal --adopt` once after upgrading", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.events} events sealed{pending}")


@audit_cli.command("seal")
@click.option("--adopt", is_flag=True,
              help="Key a chain written before keyed sealing existed (once, after upgrading).")
def audit_seal(adopt):
    """Link every committed event not yet in the chain (requests do it themselves; run
    this from cron or after scripts that record events outside a request)."""
    result = seal(wait=True, adopt=adopt)
    if result.refused:
        click.echo(f"audit: sealed {result.sealed}, then stopped: {result.refused}", err=True)
        sys.exit(1)
    click.echo(f"audit: sealed {result.sealed} events; the chain ends at event {result.head}")
