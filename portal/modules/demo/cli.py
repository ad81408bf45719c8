"""`flask demo` (load the demo data) and `flask demo walk SOP_CODE`."""

from __future__ import annotations

import sys

import click

from portal.config import current_config
from portal.core.errors import OperationError
from portal.modules.demo.data import DEMO_PASSWORD
from portal.modules.letters.models import Letter
from portal.storage import current_storage


@click.group("demo", invoke_without_command=True, help="Load demo data, or walk an SOP.")
@click.option("--password", envvar="PORTAL_DEMO_PASSWORD", default=DEMO_PASSWORD,
              show_default=True, help="Password of every demo account (PORTAL_DEMO_PASSWORD).")
@click.pass_context
def demo_cli(ctx, password):
    """Without a subcommand: create the demo agencies, accounts and SOPs, print the accounts."""
    if ctx.invoked_subcommand is not None:
        return
    from portal.modules.demo.data import load_demo

    accounts = load_demo(password)
    click.echo(f"Demo accounts (password for all: {password}):")
    for account in accounts:
        click.echo(f"  {account.email:48} {account.role}")


@demo_cli.command("walk")
@click.argument("sop_code")
def demo_walk(sop_code):
    """Run one file of SOP_CODE through every step as the demo officials; print its path."""
    from portal.modules.demo.data import walk

    storage = current_storage()
    try:
        application, path = walk(sop_code, storage)
    except OperationError as exc:
        click.echo(f"demo walk: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{application.sop.spec.title}")
    click.echo(f"file {application.registration_number}")
    for step in path:
        click.echo(f"  {step.ref:>4} {step.step:26} {step.by:46} {step.outcome:12} due {step.due}")
    click.echo(f"final state: {application.status}")
    for letter in application.letters.order_by(Letter.id):
        click.echo(f"letter {letter.title} {letter.number}: {storage.locate(letter.storage_key)}")
        click.echo(f"  verify at {current_config().url(f'/v/{letter.token}')}")
    sys.exit(0 if application.status == "completed" else 1)

