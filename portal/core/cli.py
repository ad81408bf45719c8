"""`flask db`: apply and list the numbered migrations."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core.db import migrate, pending_migrations

db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply pending migrations."""
    applied = migrate(current_app.extensions["database"])
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@db_cli.command("status")
def db_status():
    """List migrations not yet applied."""
    pending = pending_migrations(current_app.extensions["database"])
    click.echo("pending: " + ", ".join(pending) if pending else "schema is up to date")

