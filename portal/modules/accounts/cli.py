"""`flask admin create EMAIL`: the platform's administrators."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.core.errors import ValidationError
from portal.mail.cli import deliver_queued
from portal.modules.accounts import operations

admin_cli = AppGroup("admin", help="Administrators of the platform.")


@admin_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="Their name, for a new account (default: the "
                                         "address before @).")
def admin_create(email, name):
    """Make EMAIL an administrator of the platform (/platform): a new account gets an
    invitation to choose its password; an existing account is promoted."""
    try:
        user, outcome = operations.make_platform_admin(email, name)
    except ValidationError as exc:
        for field, message in exc.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    if outcome == "created":
        click.echo(f"created platform administrator {user.email}: invitation {deliver_queued()}")
    elif outcome == "promoted":
        click.echo(f"{user.email} is now a platform administrator")
    else:
        click.echo(f"{user.email} is already a platform administrator: nothing changed")
